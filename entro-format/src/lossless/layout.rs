//! Element layouts: reading elements, their exact values, and rounding to them.

/// Floating-point element layouts the lossless codec splits (little-endian element bytes in and
/// out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatLayout {
    /// IEEE 754 binary32: sign, 8-bit exponent, 23-bit mantissa.
    F32,
    /// IEEE 754 binary16: sign, 5-bit exponent, 10-bit mantissa.
    F16,
    /// bfloat16: sign, 8-bit exponent, 7-bit mantissa.
    BF16,
}

impl FloatLayout {
    /// Bytes per element: 4 for F32, 2 for F16 and BF16.
    #[must_use]
    pub fn element_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
        }
    }

    /// The tag a chunk stores to name its layout.
    pub(crate) fn tag(self) -> u8 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::BF16 => 2,
        }
    }

    /// The element whose little-endian bytes start `bytes`, as an integer.
    #[inline(always)]
    pub(crate) fn read_bits(self, bytes: &[u8]) -> u32 {
        match self {
            Self::F32 => u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            Self::F16 | Self::BF16 => u32::from(u16::from_le_bytes([bytes[0], bytes[1]])),
        }
    }

    /// The exact value of element `bits`.
    #[inline(always)]
    pub(crate) fn to_f32(self, bits: u32) -> f32 {
        match self {
            Self::F32 => f32::from_bits(bits),
            Self::BF16 => f32::from_bits(bits << 16),
            Self::F16 => half::f16::from_bits(low_u16(bits)).to_f32(),
        }
    }

    /// `value` rounded to nearest-even into this layout; NaN becomes one fixed quiet NaN, so the
    /// result never depends on the platform's NaN propagation.
    #[inline(always)]
    pub(crate) fn round(self, value: f32) -> u32 {
        match self {
            Self::F32 => round_f32(value),
            Self::BF16 => u32::from(round_bf16(value)),
            Self::F16 => u32::from(round_f16(value)),
        }
    }
}

/// [`FloatLayout::round`] for F32: the value itself, or the fixed NaN.
#[inline(always)]
pub(crate) fn round_f32(value: f32) -> u32 {
    if value.is_nan() {
        0x7fc0_0000
    } else {
        value.to_bits()
    }
}

/// [`FloatLayout::round`] for BF16, written without branches so that loops over it vectorize.
#[inline(always)]
pub(crate) fn round_bf16(value: f32) -> u16 {
    let bits = value.to_bits();
    // Adding just under half an ulp, plus the lowest kept bit, rounds to nearest-even; the largest
    // finite values correctly carry into infinity. Only NaNs can wrap, and they are replaced.
    let rounded = low_u16(bits.wrapping_add(0x7fff + (bits >> 16 & 1)) >> 16);
    if value.is_nan() { 0x7fc0 } else { rounded }
}

/// [`FloatLayout::round`] for F16.
#[inline(always)]
pub(crate) fn round_f16(value: f32) -> u16 {
    if value.is_nan() {
        0x7e00
    } else {
        half::f16::from_f32(value).to_bits()
    }
}

/// The exact f32 value of f16 bits, inline (NaN payloads kept).
#[inline(always)]
pub(crate) fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits & 0x8000) << 16;
    let exponent = u32::from(bits >> 10 & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match exponent {
        // Subnormal: mantissa * 2^-24, exact in f32.
        0 => (f32::from(u16::try_from(mantissa).unwrap_or(0)) * f32::from_bits(0x3380_0000))
            .to_bits(),
        0x1f => 0x7f80_0000 | mantissa << 13,
        _ => (exponent + 112) << 23 | mantissa << 13,
    };
    f32::from_bits(sign | magnitude)
}

/// The low 16 bits of `bits`.
#[inline(always)]
pub(crate) fn low_u16(bits: u32) -> u16 {
    (bits & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_is_exact() {
        for bits in 0..=u16::MAX {
            let expected = half::f16::from_bits(bits).to_f32();
            let found = f16_to_f32(bits);
            if expected.is_nan() {
                assert!(found.is_nan(), "{bits:#06x}");
            } else {
                assert_eq!(found.to_bits(), expected.to_bits(), "{bits:#06x}");
            }
        }
    }

    #[test]
    fn rounding_is_nearest_even_with_a_fixed_nan() {
        let bf16 = FloatLayout::BF16;
        assert_eq!(bf16.round(1.0), 0x3f80);
        // Halfway between 0x3f80 and 0x3f81 rounds to the even one; just above rounds up.
        assert_eq!(bf16.round(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(bf16.round(f32::from_bits(0x3f81_8000)), 0x3f82);
        assert_eq!(bf16.round(f32::from_bits(0x3f80_8001)), 0x3f81);
        assert_eq!(bf16.round(f32::MAX), 0x7f80);
        assert_eq!(bf16.round(f32::from_bits(0xffc1_2345)), 0x7fc0);
        assert_eq!(FloatLayout::F16.round(1.0), 0x3c00);
        assert_eq!(FloatLayout::F16.round(f32::NAN), 0x7e00);
        assert_eq!(FloatLayout::F32.round(-2.5), (-2.5f32).to_bits());
        for bits in [0x3c00u32, 0x0001, 0x8400, 0x7bff] {
            let f16 = FloatLayout::F16;
            assert_eq!(f16.round(f16.to_f32(bits)), bits);
        }
    }
}
