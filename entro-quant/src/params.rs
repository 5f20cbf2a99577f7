//! Stored quantization parameters ([`BlockParams`], [`QuantParams`]), their
//! validation, and the one dequantization formula everything else follows.

use half::{bf16, f16};

use crate::config::validate_bits;
use crate::{BlockLayout, ChosenScheme, Granularity, QuantError};

/// Scale and zero point of one block.
///
/// A code `c` stands for `((c as i32 - zero_point) as f32) * scale`, computed
/// in f32 with exactly one rounding (the multiplication); see
/// [`dequantize_code`](Self::dequantize_code). Serialize it as the scale's
/// `f32` bits followed by the zero point's `i32`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockParams {
    /// Step between consecutive codes; negative for a negated unsigned tensor,
    /// zero for a block whose weights are all zero (or that is empty).
    pub scale: f32,
    /// The code that stands for 0.0.
    pub zero_point: i32,
}

impl BlockParams {
    /// The value code `code` stands for: `((code as i32 - zero_point) as f32) * scale`.
    ///
    /// The subtraction wraps instead of overflowing, which only matters for zero
    /// points that [`QuantParams::new`] would reject.
    #[inline]
    pub fn dequantize_code(self, code: u8) -> f32 {
        (i32::from(code).wrapping_sub(self.zero_point) as f32) * self.scale
    }

    /// [`dequantize_code`](Self::dequantize_code) for every byte value, for
    /// table-driven decoders. Entries at or above `2^bits` follow the same
    /// formula but are never produced by the quantizer.
    pub fn lut_f32(self) -> [f32; 256] {
        let mut lut = [0.0; 256];
        for (code, value) in (0..=u8::MAX).zip(lut.iter_mut()) {
            *value = self.dequantize_code(code);
        }
        lut
    }

    /// [`lut_f32`](Self::lut_f32) rounded to nearest with `f16::from_f32`.
    pub fn lut_f16(self) -> [f16; 256] {
        self.lut_f32().map(f16::from_f32)
    }

    /// [`lut_f32`](Self::lut_f32) rounded to nearest with `bf16::from_f32`.
    pub fn lut_bf16(self) -> [bf16; 256] {
        self.lut_f32().map(bf16::from_f32)
    }
}

/// Everything needed to dequantize one tensor's codes (with its shape).
///
/// To serialize, write the fields one by one: `bits` as a byte,
/// [`ChosenScheme::tag`], [`Granularity::to_parts`], the block count and each
/// block's `scale` (f32 bits) and `zero_point` (i32). To read them back, decode
/// each field and call [`QuantParams::new`], which validates everything and
/// never panics, so it is safe on untrusted bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantParams {
    /// Bits per code, 2..=8.
    pub bits: u8,
    /// The scheme that was used.
    pub scheme: ChosenScheme,
    /// How weights are grouped into blocks.
    pub granularity: Granularity,
    /// One entry per block, in block order (see [`Granularity`]).
    pub blocks: Vec<BlockParams>,
}

impl QuantParams {
    /// Builds parameters and [`validate`](Self::validate)s them against `shape`.
    pub fn new(
        bits: u8,
        scheme: ChosenScheme,
        granularity: Granularity,
        blocks: Vec<BlockParams>,
        shape: &[usize],
    ) -> Result<Self, QuantError> {
        let params = QuantParams {
            bits,
            scheme,
            granularity,
            blocks,
        };
        params.validate(shape)?;
        Ok(params)
    }

    /// Checks that the bit width is in 2..=8, the block count matches the shape
    /// and granularity, every scale is finite with the sign the scheme needs
    /// (`<= 0` for negated unsigned, `>= 0` otherwise), and every zero point is
    /// the scheme's (0 for unsigned, `2^(bits-1)` for symmetric, `0..2^bits`
    /// for asymmetric). Returns the block layout.
    pub fn validate(&self, shape: &[usize]) -> Result<BlockLayout, QuantError> {
        validate_bits(self.bits)?;
        let layout = BlockLayout::new(shape, self.granularity)?;
        if self.blocks.len() != layout.block_count() {
            return Err(QuantError::BlockCountMismatch {
                expected: layout.block_count(),
                found: self.blocks.len(),
            });
        }
        let max_code = self.max_code();
        let (zero_min, zero_max) = match self.scheme {
            ChosenScheme::Unsigned { .. } => (0, 0),
            ChosenScheme::Asymmetric => (0, i32::from(max_code)),
            ChosenScheme::Symmetric => {
                let middle = 1i32 << (self.bits - 1);
                (middle, middle)
            }
        };
        let negated = matches!(self.scheme, ChosenScheme::Unsigned { negated: true });
        for (block, params) in self.blocks.iter().enumerate() {
            let scale = params.scale;
            let sign_ok = if negated { scale <= 0.0 } else { scale >= 0.0 };
            if !scale.is_finite() || !sign_ok {
                return Err(QuantError::InvalidScale { block, scale });
            }
            if !(zero_min..=zero_max).contains(&params.zero_point) {
                return Err(QuantError::InvalidZeroPoint {
                    block,
                    zero_point: params.zero_point,
                    min: zero_min,
                    max: zero_max,
                });
            }
        }
        Ok(layout)
    }

    /// Largest valid code, `2^bits - 1` (saturates at 255 for unvalidated widths).
    pub fn max_code(&self) -> u8 {
        let levels = 1u32.checked_shl(u32::from(self.bits)).unwrap_or(256);
        u8::try_from(levels.saturating_sub(1).min(255)).unwrap_or(u8::MAX)
    }

    /// Smallest code the quantizer produces (1 for symmetric, else 0).
    pub fn min_code(&self) -> u8 {
        self.scheme.min_code()
    }

    /// Block layout for `shape` under these parameters' granularity.
    pub fn layout(&self, shape: &[usize]) -> Result<BlockLayout, QuantError> {
        BlockLayout::new(shape, self.granularity)
    }

    /// Block holding `element` of a tensor of `shape`, or `None` when the shape
    /// is invalid or the element out of range.
    pub fn block_of(&self, shape: &[usize], element: usize) -> Option<usize> {
        self.layout(shape).ok()?.block_of(element)
    }

    /// Dequantization table of `block`: entry `c` is the value of code `c`.
    ///
    /// # Panics
    ///
    /// When `block >= self.blocks.len()`; use [`BlockParams::lut_f32`] on
    /// `self.blocks.get(block)` to avoid that.
    pub fn lut_f32(&self, block: usize) -> [f32; 256] {
        self.blocks[block].lut_f32()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(scheme: ChosenScheme, blocks: Vec<BlockParams>) -> QuantParams {
        QuantParams {
            bits: 4,
            scheme,
            granularity: Granularity::Channel,
            blocks,
        }
    }

    fn block(scale: f32, zero_point: i32) -> BlockParams {
        BlockParams { scale, zero_point }
    }

    #[test]
    fn formula_is_the_documented_one() {
        let b = block(0.25, 3);
        assert_eq!(b.dequantize_code(3), 0.0);
        assert_eq!(b.dequantize_code(0), -0.75);
        assert_eq!(b.dequantize_code(15), 3.0);
        let lut = b.lut_f32();
        for code in 0..=255u8 {
            assert_eq!(
                lut[usize::from(code)].to_bits(),
                b.dequantize_code(code).to_bits()
            );
        }
        let lut16 = b.lut_f16();
        assert_eq!(lut16[15], f16::from_f32(3.0));
        assert_eq!(b.lut_bf16()[0], bf16::from_f32(-0.75));
    }

    #[test]
    fn validation_accepts_valid_parameters() {
        let shape = [2, 3];
        let unsigned = params(
            ChosenScheme::Unsigned { negated: false },
            vec![block(1.0, 0); 2],
        );
        assert!(unsigned.validate(&shape).is_ok());
        let negated = params(
            ChosenScheme::Unsigned { negated: true },
            vec![block(-1.0, 0); 2],
        );
        assert!(negated.validate(&shape).is_ok());
        let asymmetric = params(
            ChosenScheme::Asymmetric,
            vec![block(0.5, 15), block(0.0, 0)],
        );
        assert!(asymmetric.validate(&shape).is_ok());
        let symmetric = params(ChosenScheme::Symmetric, vec![block(2.0, 8); 2]);
        assert!(symmetric.validate(&shape).is_ok());
        let rebuilt = QuantParams::new(
            4,
            ChosenScheme::Symmetric,
            Granularity::Channel,
            vec![block(2.0, 8); 2],
            &shape,
        );
        assert_eq!(rebuilt, Ok(symmetric));
    }

    #[test]
    fn validation_rejects_each_kind_of_bad_field() {
        let shape = [2, 3];
        let good = block(1.0, 0);
        let cases = [
            (params(ChosenScheme::Asymmetric, vec![good]), "count"),
            (
                params(ChosenScheme::Asymmetric, vec![good, block(f32::NAN, 0)]),
                "scale",
            ),
            (
                params(
                    ChosenScheme::Asymmetric,
                    vec![good, block(f32::INFINITY, 0)],
                ),
                "scale",
            ),
            (
                params(ChosenScheme::Asymmetric, vec![good, block(-1.0, 0)]),
                "scale",
            ),
            (
                params(
                    ChosenScheme::Unsigned { negated: true },
                    vec![block(-1.0, 0), good],
                ),
                "scale",
            ),
            (
                params(ChosenScheme::Asymmetric, vec![good, block(1.0, 16)]),
                "zero",
            ),
            (
                params(ChosenScheme::Asymmetric, vec![good, block(1.0, -1)]),
                "zero",
            ),
            (
                params(
                    ChosenScheme::Unsigned { negated: false },
                    vec![good, block(1.0, 1)],
                ),
                "zero",
            ),
            (
                params(ChosenScheme::Symmetric, vec![block(1.0, 8), block(1.0, 7)]),
                "zero",
            ),
            (
                params(
                    ChosenScheme::Symmetric,
                    vec![block(1.0, 8), block(1.0, i32::MIN)],
                ),
                "zero",
            ),
        ];
        for (params, kind) in cases {
            let err = params.validate(&shape).unwrap_err();
            let matched = match kind {
                "count" => matches!(
                    err,
                    QuantError::BlockCountMismatch {
                        expected: 2,
                        found: 1
                    }
                ),
                "scale" => matches!(err, QuantError::InvalidScale { block: 1, .. }),
                _ => matches!(err, QuantError::InvalidZeroPoint { block: 1, .. }),
            };
            assert!(matched, "{kind}: {err:?}");
        }
        let mut bad_bits = params(ChosenScheme::Asymmetric, vec![good, good]);
        bad_bits.bits = 9;
        assert!(matches!(
            bad_bits.validate(&shape),
            Err(QuantError::InvalidBits { bits: 9 })
        ));
    }

    #[test]
    fn helpers_answer_without_panicking() {
        let p = params(ChosenScheme::Symmetric, vec![block(1.0, 8); 2]);
        assert_eq!(p.max_code(), 15);
        assert_eq!(p.min_code(), 1);
        assert_eq!(p.block_of(&[2, 3], 4), Some(1));
        assert_eq!(p.block_of(&[2, 3], 6), None);
        assert_eq!(p.block_of(&[usize::MAX, 3], 0), None);
        let weird = QuantParams { bits: 200, ..p };
        assert_eq!(weird.max_code(), 255);
        assert_eq!(block(1.0, i32::MIN).dequantize_code(0), -2_147_483_648.0);
    }
}
