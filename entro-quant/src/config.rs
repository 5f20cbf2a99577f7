//! What the caller asks for ([`QuantConfig`], [`Scheme`], [`Granularity`]) and
//! what the quantizer chose ([`ChosenScheme`]), with stable tags for file formats.

use std::fmt;
use std::str::FromStr;

use crate::QuantError;

/// Smallest supported bit width.
pub const MIN_BITS: u8 = 2;
/// Largest supported bit width (a code is one byte).
pub const MAX_BITS: u8 = 8;

/// The quantization scheme a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheme {
    /// The paper's rule, decided per tensor: `unsigned` when all weights share
    /// one sign (`min >= 0 || max <= 0`, the same as `min * max >= 0` in exact
    /// arithmetic), `asymmetric` otherwise.
    #[default]
    Auto,
    /// Codes `0..2^bits` map to `0..=max` (or to `0..=min`, stored with a
    /// negative scale, when no weight is positive). A tensor with both signs is
    /// rejected with [`QuantError::SchemeMismatch`].
    Unsigned,
    /// Min-max range with a zero point. The range is widened to include zero,
    /// so zero is always exact and the zero point lies in `0..2^bits`; on a
    /// tensor with both signs (the only case `Auto` uses it for) that widening
    /// changes nothing.
    Asymmetric,
    /// Signed codes `-(2^(bits-1) - 1)..=2^(bits-1) - 1` around zero, stored in
    /// offset binary (zero point `2^(bits-1)`); code 0 is never produced.
    Symmetric,
}

impl Scheme {
    /// Every scheme, in the order the documentation lists them.
    pub const ALL: [Scheme; 4] = [
        Scheme::Auto,
        Scheme::Unsigned,
        Scheme::Asymmetric,
        Scheme::Symmetric,
    ];

    /// The lowercase name used by [`Display`](fmt::Display) and [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Auto => "auto",
            Scheme::Unsigned => "unsigned",
            Scheme::Asymmetric => "asymmetric",
            Scheme::Symmetric => "symmetric",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = QuantError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.name() == text)
            .ok_or_else(|| QuantError::Parse {
                what: "scheme",
                input: text.to_owned(),
                expected: "auto, unsigned, asymmetric or symmetric",
            })
    }
}

/// The scheme actually used for a tensor.
///
/// Serialized as one byte by [`tag`](Self::tag) / [`from_tag`](Self::from_tag):
/// 0 unsigned, 1 unsigned negated, 2 asymmetric, 3 symmetric. These values are
/// stable across versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChosenScheme {
    /// Unsigned codes with zero point 0. When `negated` is true every weight is
    /// `<= 0` and the scales are `<= 0`, so codes store magnitudes.
    Unsigned {
        /// True for a tensor with no positive weight (and at least one negative one).
        negated: bool,
    },
    /// Codes with a per-block zero point in `0..2^bits`, scales `>= 0`.
    Asymmetric,
    /// Offset-binary signed codes, zero point `2^(bits-1)`, scales `>= 0`.
    Symmetric,
}

impl ChosenScheme {
    /// The stable one-byte encoding of this scheme.
    pub fn tag(self) -> u8 {
        match self {
            ChosenScheme::Unsigned { negated: false } => 0,
            ChosenScheme::Unsigned { negated: true } => 1,
            ChosenScheme::Asymmetric => 2,
            ChosenScheme::Symmetric => 3,
        }
    }

    /// Decodes [`tag`](Self::tag); unknown values give [`QuantError::UnknownTag`].
    pub fn from_tag(tag: u8) -> Result<Self, QuantError> {
        match tag {
            0 => Ok(ChosenScheme::Unsigned { negated: false }),
            1 => Ok(ChosenScheme::Unsigned { negated: true }),
            2 => Ok(ChosenScheme::Asymmetric),
            3 => Ok(ChosenScheme::Symmetric),
            _ => Err(QuantError::UnknownTag {
                what: "scheme",
                tag,
            }),
        }
    }

    /// Smallest code this scheme produces (1 for symmetric, 0 otherwise).
    pub fn min_code(self) -> u8 {
        match self {
            ChosenScheme::Symmetric => 1,
            _ => 0,
        }
    }
}

impl fmt::Display for ChosenScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChosenScheme::Unsigned { negated: false } => "unsigned",
            ChosenScheme::Unsigned { negated: true } => "unsigned (negated)",
            ChosenScheme::Asymmetric => "asymmetric",
            ChosenScheme::Symmetric => "symmetric",
        })
    }
}

/// How many weights share one scale (and zero point).
///
/// Rows: a tensor of shape `[d0, d1, ..]` has `d0` rows of `d1 * d2 * ..`
/// elements (a 0-D tensor is one row of one element). Block of element `i`:
/// `row = i / row_len`, `block = row * groups_per_row + (i % row_len) / group`,
/// where `group` is the row length for [`Channel`](Self::Channel) and `N` for
/// [`Group`](Self::Group), and `groups_per_row = ceil(row_len / group)`.
/// [`Tensor`](Self::Tensor) always has exactly one block, even when empty.
///
/// Serialized as a tag byte plus a `u32` by [`to_parts`](Self::to_parts) /
/// [`from_parts`](Self::from_parts): (0, 0) tensor, (1, 0) channel, (2, N)
/// group of N. These values are stable across versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Granularity {
    /// One scale for the whole tensor (the paper's method).
    #[default]
    Tensor,
    /// One scale per output channel (row).
    Channel,
    /// One scale per run of `N` consecutive weights within a row; the last
    /// group of a row may be shorter. `N` must be at least 1.
    Group(u32),
}

impl Granularity {
    /// The stable (tag, parameter) encoding; the parameter is 0 unless grouped.
    pub fn to_parts(self) -> (u8, u32) {
        match self {
            Granularity::Tensor => (0, 0),
            Granularity::Channel => (1, 0),
            Granularity::Group(group) => (2, group),
        }
    }

    /// Decodes [`to_parts`](Self::to_parts). The parameter is ignored for tags
    /// 0 and 1; a group of 0 gives [`QuantError::InvalidGroupSize`].
    pub fn from_parts(tag: u8, parameter: u32) -> Result<Self, QuantError> {
        let granularity = match tag {
            0 => Granularity::Tensor,
            1 => Granularity::Channel,
            2 => Granularity::Group(parameter),
            _ => {
                return Err(QuantError::UnknownTag {
                    what: "granularity",
                    tag,
                });
            }
        };
        granularity.validate()?;
        Ok(granularity)
    }

    /// Rejects `Group(0)`.
    pub fn validate(self) -> Result<(), QuantError> {
        match self {
            Granularity::Group(0) => Err(QuantError::InvalidGroupSize { group: 0 }),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Granularity::Tensor => f.write_str("tensor"),
            Granularity::Channel => f.write_str("channel"),
            Granularity::Group(group) => write!(f, "group:{group}"),
        }
    }
}

impl FromStr for Granularity {
    type Err = QuantError;

    /// Parses `tensor`, `channel` or `group:N` with `N >= 1`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parse_error = || QuantError::Parse {
            what: "granularity",
            input: text.to_owned(),
            expected: "tensor, channel or group:N with N >= 1",
        };
        match text {
            "tensor" => Ok(Granularity::Tensor),
            "channel" => Ok(Granularity::Channel),
            _ => {
                let group = text
                    .strip_prefix("group:")
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(parse_error)?;
                Ok(Granularity::Group(group))
            }
        }
    }
}

/// What to quantize to. [`Default`] is the paper's method: 8 bits, scheme
/// `auto`, one scale per tensor, no clipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuantConfig {
    /// Bits per code, 2..=8 (codes are stored one per byte regardless).
    pub bits: u8,
    /// Requested scheme.
    pub scheme: Scheme,
    /// How many weights share a scale.
    pub granularity: Granularity,
    /// Shrink each block's range to the one that minimises the squared
    /// reconstruction error (a grid search); weights outside the clipped
    /// range saturate to the extreme codes.
    pub clip: bool,
}

impl Default for QuantConfig {
    fn default() -> Self {
        QuantConfig {
            bits: 8,
            scheme: Scheme::Auto,
            granularity: Granularity::Tensor,
            clip: false,
        }
    }
}

impl QuantConfig {
    /// Checks the bit width and the group size.
    pub fn validate(&self) -> Result<(), QuantError> {
        validate_bits(self.bits)?;
        self.granularity.validate()
    }
}

/// Rejects bit widths outside [`MIN_BITS`]`..=`[`MAX_BITS`].
pub(crate) fn validate_bits(bits: u8) -> Result<(), QuantError> {
    if (MIN_BITS..=MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(QuantError::InvalidBits { bits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for scheme in Scheme::ALL {
            assert_eq!(scheme.to_string().parse::<Scheme>(), Ok(scheme));
        }
        for granularity in [
            Granularity::Tensor,
            Granularity::Channel,
            Granularity::Group(1),
            Granularity::Group(128),
        ] {
            assert_eq!(granularity.to_string().parse(), Ok(granularity));
        }
    }

    #[test]
    fn bad_text_is_a_parse_error() {
        for text in ["group:0", "group:", "group:-3", "rows", "Tensor", ""] {
            let err = text.parse::<Granularity>().unwrap_err();
            assert!(
                matches!(
                    err,
                    QuantError::Parse {
                        what: "granularity",
                        ..
                    }
                ),
                "{text}"
            );
        }
        let err = "signed".parse::<Scheme>().unwrap_err();
        assert!(matches!(err, QuantError::Parse { what: "scheme", .. }));
    }

    #[test]
    fn tags_round_trip_and_unknown_tags_fail() {
        for tag in 0..=u8::MAX {
            match ChosenScheme::from_tag(tag) {
                Ok(scheme) => assert_eq!(scheme.tag(), tag),
                Err(err) => {
                    assert!(tag > 3);
                    assert!(matches!(err, QuantError::UnknownTag { what: "scheme", .. }));
                }
            }
        }
        for granularity in [
            Granularity::Tensor,
            Granularity::Channel,
            Granularity::Group(7),
        ] {
            let (tag, parameter) = granularity.to_parts();
            assert_eq!(Granularity::from_parts(tag, parameter), Ok(granularity));
        }
        assert!(matches!(
            Granularity::from_parts(2, 0),
            Err(QuantError::InvalidGroupSize { group: 0 })
        ));
        assert!(matches!(
            Granularity::from_parts(3, 1),
            Err(QuantError::UnknownTag {
                what: "granularity",
                tag: 3
            })
        ));
    }

    #[test]
    fn config_validation() {
        assert_eq!(QuantConfig::default().validate(), Ok(()));
        for bits in [0, 1, 9, 255] {
            let config = QuantConfig {
                bits,
                ..QuantConfig::default()
            };
            assert!(matches!(
                config.validate(),
                Err(QuantError::InvalidBits { .. })
            ));
        }
        let config = QuantConfig {
            granularity: Granularity::Group(0),
            ..QuantConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(QuantError::InvalidGroupSize { group: 0 })
        ));
    }
}
