//! Element layouts and how their bits are split into byte planes.
//!
//! Every layout puts the bits that vary slowly across weights (the exponent) in plane 0 and the
//! sign with the top mantissa bits in plane 1; F32 adds its two low mantissa bytes as planes 2
//! and 3. For a little-endian element whose two top bytes are `hi` (sign and high bits) and `lo`:
//!
//! ```text
//! plane 0 = bits 7..15 of the top 16 bits = hi << 1 | lo >> 7
//! plane 1 = sign and the low 7 bits      = (hi & 0x80) | (lo & 0x7f)
//! ```
//!
//! For BF16 and F32, plane 0 is exactly the 8-bit exponent and plane 1 the sign with the top seven
//! mantissa bits. F16 has a 5-bit exponent: its plane 0 holds the exponent with the top three
//! mantissa bits (the exponent alone is only 5 bits, and coding it with 3 mantissa bits lets the
//! Huffman code see their dependence on it), its plane 1 the sign with the low seven mantissa bits.

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

/// Most byte planes of any layout.
pub(crate) const MAX_PLANES: usize = 4;

impl FloatLayout {
    /// Bytes per element: 4 for F32, 2 for F16 and BF16.
    #[must_use]
    pub fn element_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
        }
    }

    /// Byte planes per element (one byte each), equal to [`Self::element_bytes`].
    pub(crate) fn planes(self) -> usize {
        self.element_bytes()
    }

    /// The tag a chunk stores to name its layout.
    pub(crate) fn tag(self) -> u8 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::BF16 => 2,
        }
    }
}

/// Plane 0 (exponent) of an element whose top two bytes are `lo`, `hi`.
#[inline(always)]
fn exponent_plane(lo: u8, hi: u8) -> u8 {
    hi << 1 | lo >> 7
}

/// Plane 1 (sign and low bits) of an element whose top two bytes are `lo`, `hi`.
#[inline(always)]
fn sign_plane(lo: u8, hi: u8) -> u8 {
    (hi & 0x80) | (lo & 0x7f)
}

/// The top two bytes `[lo, hi]` of an element from its planes 0 and 1.
#[inline(always)]
pub(crate) fn join_top(exponent: u8, sign: u8) -> [u8; 2] {
    [exponent << 7 | (sign & 0x7f), (sign & 0x80) | exponent >> 1]
}

/// Splits `elements` (a whole number of elements) into `layout.planes()` planes of one byte per
/// element, replacing the content of `planes[..layout.planes()]`.
pub(crate) fn split(layout: FloatLayout, elements: &[u8], planes: &mut [Vec<u8>; MAX_PLANES]) {
    let count = elements.len() / layout.element_bytes();
    for plane in planes.iter_mut() {
        plane.clear();
        plane.reserve(count);
    }
    let [p0, p1, p2, p3] = planes;
    match layout {
        FloatLayout::F16 | FloatLayout::BF16 => {
            for element in elements.chunks_exact(2) {
                p0.push(exponent_plane(element[0], element[1]));
                p1.push(sign_plane(element[0], element[1]));
            }
        }
        FloatLayout::F32 => {
            for element in elements.chunks_exact(4) {
                p0.push(exponent_plane(element[2], element[3]));
                p1.push(sign_plane(element[2], element[3]));
                p2.push(element[1]);
                p3.push(element[0]);
            }
        }
    }
}

/// Interleaves decoded planes back into elements. `planes[k]` has one byte per element of `out`.
pub(crate) fn join(layout: FloatLayout, planes: &[&[u8]], out: &mut [u8]) {
    match (layout, planes) {
        (FloatLayout::F16 | FloatLayout::BF16, [p0, p1, ..]) => {
            for ((element, &e), &s) in out.chunks_exact_mut(2).zip(*p0).zip(*p1) {
                element.copy_from_slice(&join_top(e, s));
            }
        }
        (FloatLayout::F32, [p0, p1, p2, p3, ..]) => {
            let planes = p0.iter().zip(*p1).zip(*p2).zip(*p3);
            for (element, (((&e, &s), &b1), &b0)) in out.chunks_exact_mut(4).zip(planes) {
                let [b2, b3] = join_top(e, s);
                element.copy_from_slice(&[b0, b1, b2, b3]);
            }
        }
        // The callers always pass `layout.planes()` planes.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_planes_are_exponent_and_sign_mantissa() {
        // -1.5 in bf16 is 0xBFC0: sign 1, exponent 127, mantissa 0x40.
        let mut planes: [Vec<u8>; MAX_PLANES] = Default::default();
        split(FloatLayout::BF16, &0xBFC0u16.to_le_bytes(), &mut planes);
        assert_eq!(planes[0], [127]);
        assert_eq!(planes[1], [0x80 | 0x40]);
        let mut out = [0u8; 2];
        join(FloatLayout::BF16, &[&planes[0], &planes[1]], &mut out);
        assert_eq!(u16::from_le_bytes(out), 0xBFC0);
    }

    #[test]
    fn f32_planes_are_exponent_sign_top_mantissa_then_low_bytes() {
        let value = -3.0e-5f32;
        let bits = value.to_bits();
        let mut planes: [Vec<u8>; MAX_PLANES] = Default::default();
        split(FloatLayout::F32, &value.to_le_bytes(), &mut planes);
        assert_eq!(u32::from(planes[0][0]), bits >> 23 & 0xff);
        assert_eq!(
            u32::from(planes[1][0]),
            (bits >> 31) << 7 | (bits >> 16 & 0x7f)
        );
        assert_eq!(u32::from(planes[2][0]), bits >> 8 & 0xff);
        assert_eq!(u32::from(planes[3][0]), bits & 0xff);
        let mut out = [0u8; 4];
        let slices: Vec<&[u8]> = planes.iter().map(Vec::as_slice).collect();
        join(FloatLayout::F32, &slices, &mut out);
        assert_eq!(f32::from_le_bytes(out).to_bits(), bits);
    }

    #[test]
    fn f16_plane_zero_holds_exponent_and_top_mantissa_bits() {
        // 0x7E01: a quiet NaN, exponent 31, mantissa 0x201.
        let mut planes: [Vec<u8>; MAX_PLANES] = Default::default();
        split(FloatLayout::F16, &0x7E01u16.to_le_bytes(), &mut planes);
        assert_eq!(planes[0], [31 << 3 | 0b100]);
        assert_eq!(planes[1], [0x01]);
    }
}
