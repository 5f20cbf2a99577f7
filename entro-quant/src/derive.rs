//! From a range of weights to a scheme and block parameters.

use crate::{BlockParams, ChosenScheme, QuantError, Scheme};

/// Smallest non-zero scale magnitude the quantizer picks for a block with two
/// distinct values. Keeping scales normal keeps `1 / scale` finite and the
/// rounding analysis behind the half-step bound valid for subnormal weights.
const MIN_SCALE: f64 = f32::MIN_POSITIVE as f64;

/// Applies the requested scheme to a tensor whose weights lie in `[min, max]`
/// (`min > max` for an empty tensor).
pub(crate) fn choose_scheme(
    tensor: &str,
    requested: Scheme,
    min: f32,
    max: f32,
) -> Result<ChosenScheme, QuantError> {
    // Written with comparisons rather than `min * max >= 0.0`: the product of two
    // tiny weights of opposite sign underflows to -0.0, which compares >= 0.
    let one_sign = !(min < 0.0 && max > 0.0);
    let negated = min < 0.0 && max <= 0.0;
    match requested {
        Scheme::Auto if one_sign => Ok(ChosenScheme::Unsigned { negated }),
        Scheme::Auto | Scheme::Asymmetric => Ok(ChosenScheme::Asymmetric),
        Scheme::Unsigned if one_sign => Ok(ChosenScheme::Unsigned { negated }),
        Scheme::Unsigned => Err(QuantError::SchemeMismatch {
            tensor: tensor.to_owned(),
            scheme: requested,
            min,
            max,
        }),
        Scheme::Symmetric => Ok(ChosenScheme::Symmetric),
    }
}

/// Largest code for `bits`, as a float divisor.
fn top_code(bits: u8) -> f64 {
    f64::from((1u32 << bits) - 1)
}

/// The zero point every block of `scheme` uses when the scheme fixes it.
pub(crate) fn fixed_zero_point(scheme: ChosenScheme, bits: u8) -> i32 {
    match scheme {
        ChosenScheme::Symmetric => 1 << (bits - 1),
        _ => 0,
    }
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "narrowing to f32 is the point; callers pass magnitudes below MAX_ABS_WEIGHT"
)]
fn to_f32(value: f64) -> f32 {
    // Callers pass values bounded by the weights (at most MAX_ABS_WEIGHT) divided
    // by at least 3, so the conversion only rounds.
    value as f32
}

/// Parameters for a block whose weights lie in `[lo, hi]` (possibly a clipped
/// range; `lo > hi` for an empty block). For a block with two distinct values
/// the grid `(c - zero_point) * scale` covers the range to within half a step;
/// a constant block gets parameters that represent its value exactly.
#[expect(
    clippy::cast_possible_truncation,
    reason = "the zero point is rounded and clamped to 0..=255 before the cast"
)]
pub(crate) fn block_params(scheme: ChosenScheme, bits: u8, lo: f32, hi: f32) -> BlockParams {
    let zero_point = fixed_zero_point(scheme, bits);
    if lo > hi || (lo == 0.0 && hi == 0.0) {
        return BlockParams {
            scale: 0.0,
            zero_point,
        };
    }
    if lo == hi {
        return constant_params(scheme, zero_point, lo);
    }
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    match scheme {
        ChosenScheme::Unsigned { negated: false } => BlockParams {
            scale: to_f32((hi / top_code(bits)).max(MIN_SCALE)),
            zero_point,
        },
        ChosenScheme::Unsigned { negated: true } => BlockParams {
            scale: to_f32(-(-lo / top_code(bits)).max(MIN_SCALE)),
            zero_point,
        },
        ChosenScheme::Asymmetric => {
            let (lo, hi) = (lo.min(0.0), hi.max(0.0));
            let scale = to_f32(((hi - lo) / top_code(bits)).max(MIN_SCALE));
            let zero = (-lo / f64::from(scale)).round().clamp(0.0, top_code(bits));
            BlockParams {
                scale,
                // In 0..=255 after the clamp.
                zero_point: zero as i32,
            }
        }
        ChosenScheme::Symmetric => {
            let magnitude = lo.abs().max(hi.abs());
            let steps = f64::from((1u32 << (bits - 1)) - 1);
            BlockParams {
                scale: to_f32((magnitude / steps).max(MIN_SCALE)),
                zero_point,
            }
        }
    }
}

/// Parameters under which the single non-zero value `value` is a grid point:
/// the scale is the value's magnitude and the value sits one step from zero.
fn constant_params(scheme: ChosenScheme, zero_point: i32, value: f32) -> BlockParams {
    match scheme {
        // Code 1 stands for `1 * value`; for a negated tensor value < 0, so the scale is too.
        ChosenScheme::Unsigned { .. } => BlockParams {
            scale: value,
            zero_point,
        },
        // Code 1 for a positive value; code 0 with zero point 1 for a negative one.
        ChosenScheme::Asymmetric => BlockParams {
            scale: value.abs(),
            zero_point: i32::from(value < 0.0),
        },
        // Code zero_point ± 1.
        ChosenScheme::Symmetric => BlockParams {
            scale: value.abs(),
            zero_point,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNSIGNED: ChosenScheme = ChosenScheme::Unsigned { negated: false };
    const NEGATED: ChosenScheme = ChosenScheme::Unsigned { negated: true };

    #[test]
    fn auto_follows_the_sign_rule() {
        let auto = |min, max| choose_scheme("t", Scheme::Auto, min, max).unwrap();
        assert_eq!(auto(0.0, 1.0), UNSIGNED);
        assert_eq!(auto(-0.0, 1.0), UNSIGNED);
        assert_eq!(auto(0.5, 1.0), UNSIGNED);
        assert_eq!(auto(-1.0, -0.5), NEGATED);
        assert_eq!(auto(-1.0, 0.0), NEGATED);
        assert_eq!(auto(0.0, 0.0), UNSIGNED);
        assert_eq!(auto(f32::INFINITY, f32::NEG_INFINITY), UNSIGNED);
        assert_eq!(auto(-1.0, 1.0), ChosenScheme::Asymmetric);
        // The product underflows to -0.0 here; the rule must still see two signs.
        assert_eq!(auto(-1e-30, 1e-30), ChosenScheme::Asymmetric);
    }

    #[test]
    fn forced_schemes() {
        let err = choose_scheme("w", Scheme::Unsigned, -1.0, 2.0).unwrap_err();
        assert!(matches!(
            err,
            QuantError::SchemeMismatch {
                scheme: Scheme::Unsigned,
                ..
            }
        ));
        assert_eq!(
            choose_scheme("w", Scheme::Unsigned, -1.0, -0.0),
            Ok(NEGATED)
        );
        assert_eq!(
            choose_scheme("w", Scheme::Asymmetric, 1.0, 2.0),
            Ok(ChosenScheme::Asymmetric)
        );
        assert_eq!(
            choose_scheme("w", Scheme::Symmetric, 1.0, 2.0),
            Ok(ChosenScheme::Symmetric)
        );
    }

    #[test]
    fn constant_blocks_are_exact_grid_points() {
        for value in [3.5f32, -3.5, 1e-40, -1e-40, f32::MIN_POSITIVE, 1e30] {
            for scheme in [
                UNSIGNED,
                NEGATED,
                ChosenScheme::Asymmetric,
                ChosenScheme::Symmetric,
            ] {
                let negated = scheme == NEGATED;
                if (scheme == UNSIGNED && value < 0.0) || (negated && value > 0.0) {
                    continue;
                }
                for bits in 2..=8 {
                    let params = block_params(scheme, bits, value, value);
                    let exact = (0..=u8::MAX)
                        .take(1 << bits)
                        .any(|code| params.dequantize_code(code) == value);
                    assert!(exact, "{scheme} {bits} {value}: {params:?}");
                }
            }
        }
    }

    #[test]
    fn zero_and_empty_blocks_have_zero_scale() {
        for (lo, hi) in [(0.0, 0.0), (-0.0, 0.0), (f32::INFINITY, f32::NEG_INFINITY)] {
            let params = block_params(ChosenScheme::Symmetric, 4, lo, hi);
            assert_eq!(
                params,
                BlockParams {
                    scale: 0.0,
                    zero_point: 8
                }
            );
            let params = block_params(ChosenScheme::Asymmetric, 4, lo, hi);
            assert_eq!(
                params,
                BlockParams {
                    scale: 0.0,
                    zero_point: 0
                }
            );
        }
    }

    #[test]
    fn grids_cover_the_range() {
        let cases = [
            (UNSIGNED, 0.0, 1.0),
            (NEGATED, -3.0, -1.0),
            (ChosenScheme::Asymmetric, -1.0, 3.0),
        ];
        for (scheme, lo, hi) in cases {
            for bits in 2..=8 {
                let params = block_params(scheme, bits, lo, hi);
                let top = u8::try_from((1u32 << bits) - 1).unwrap();
                let ends = [params.dequantize_code(0), params.dequantize_code(top)];
                let (low, high) = (ends[0].min(ends[1]), ends[0].max(ends[1]));
                let half = params.scale.abs() * 0.5 * (1.0 + 1e-5);
                assert!(
                    low <= lo + half && high >= hi - half,
                    "{scheme} {bits}: {params:?}"
                );
            }
        }
        let tiny = block_params(UNSIGNED, 8, 0.0, 1e-42);
        assert_eq!(f64::from(tiny.scale), MIN_SCALE);
        let symmetric = block_params(ChosenScheme::Symmetric, 8, -2.0, 1.0);
        assert_eq!(symmetric.zero_point, 128);
        assert_eq!(symmetric.dequantize_code(1), -2.0);
    }
}
