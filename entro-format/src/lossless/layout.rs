//! Element layouts, and how the top 16 bits of an element are split into two byte planes.
//!
//! The top 16 bits of an element (the whole element for F16 and BF16, the upper half for F32) are
//! `s xxxxxxxx yyyyyyy`: the sign, then 15 bits whose high end is the exponent. A chunk chooses a
//! split shift `j` in `0..=7`:
//!
//! ```text
//! plane 0 = the 8 bits just below the top j + 1 bits        = (top >> (7 - j)) & 0xff
//! plane 1 = sign, the j bits below it, then the low 7 - j bits
//! ```
//!
//! With `j = 0` plane 0 is exactly the BF16/F32 exponent (for F16 the 5-bit exponent with the top
//! three mantissa bits) and plane 1 the sign with the top seven mantissa bits. Larger `j` move top
//! mantissa bits into plane 0, so that one Huffman code sees how they depend on the exponent (the
//! density of weights falls across a binade), while the high exponent bits, nearly constant in
//! weights, go to plane 1. The encoder picks the `j` giving the smallest chunk.

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

/// Largest split shift.
pub(crate) const MAX_SPLIT: u8 = 7;

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
        if value.is_nan() {
            return match self {
                Self::F32 => 0x7fc0_0000,
                Self::BF16 => 0x7fc0,
                Self::F16 => 0x7e00,
            };
        }
        match self {
            Self::F32 => value.to_bits(),
            Self::BF16 => {
                let bits = value.to_bits();
                // Adding just under half an ulp, plus the lowest kept bit, rounds to nearest-even;
                // the largest finite values correctly carry into infinity.
                (bits + 0x7fff + (bits >> 16 & 1)) >> 16
            }
            Self::F16 => u32::from(half::f16::from_f32(value).to_bits()),
        }
    }
}

/// The low 16 bits of `bits`.
#[inline(always)]
pub(crate) fn low_u16(bits: u32) -> u16 {
    (bits & 0xffff) as u16
}

/// Masks and shift of one split of the top 16 bits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Split {
    /// Plane 0 is `top >> shift`.
    shift: u32,
    /// Bits of plane 1 that sit 8 bits lower than in `top` (the sign and the `j` bits below it).
    high_mask: u8,
    /// Bits of plane 1 that sit where they sit in `top` (the low `7 - j` bits).
    low_mask: u8,
}

impl Split {
    /// The split with shift `j` (at most [`MAX_SPLIT`]).
    pub(crate) fn new(j: u8) -> Self {
        let j = j.min(MAX_SPLIT);
        let low_mask = (1u8 << (7 - j)) - 1;
        Self {
            shift: u32::from(7 - j),
            high_mask: !low_mask,
            low_mask,
        }
    }

    /// Planes 0 and 1 of `top`.
    #[inline(always)]
    pub(crate) fn split(self, top: u16) -> (u8, u8) {
        let [low, high] = top.to_le_bytes();
        let plane0 = (top >> self.shift).to_le_bytes()[0];
        (plane0, (high & self.high_mask) | (low & self.low_mask))
    }

    /// The top 16 bits from planes 0 and 1.
    #[inline(always)]
    pub(crate) fn join(self, plane0: u8, plane1: u8) -> u16 {
        u16::from(plane1 & self.high_mask) << 8
            | u16::from(plane0) << self.shift
            | u16::from(plane1 & self.low_mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_is_a_bijection() {
        for j in 0..=MAX_SPLIT {
            let split = Split::new(j);
            let mut seen = vec![false; 1 << 16];
            for top in 0..=u16::MAX {
                let (p0, p1) = split.split(top);
                assert_eq!(split.join(p0, p1), top, "j = {j}");
                let key = usize::from(p0) << 8 | usize::from(p1);
                assert!(!seen[key]);
                seen[key] = true;
            }
        }
    }

    #[test]
    fn split_zero_separates_the_exponent() {
        // -1.5 in bf16 is 0xBFC0: sign 1, exponent 127, mantissa 0x40.
        assert_eq!(Split::new(0).split(0xBFC0), (127, 0x80 | 0x40));
        // j = 3: exponent without its top 3 bits, then the top 3 mantissa bits.
        let (p0, p1) = Split::new(3).split(0xBFC0);
        assert_eq!(p0, (127 & 0x1f) << 3 | 0b100);
        assert_eq!(p1, 0x80 | 0b011 << 4);
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
