//! Typed views of a tensor's little-endian bytes, borrowed straight from the
//! memory map when they are aligned (safetensors data usually is), copied otherwise.

use std::borrow::Cow;

use bytemuck::Pod;
use entro_format::Dtype;
use entro_quant::FloatSlice;
use half::{bf16, f16};

/// A float tensor's elements.
#[derive(Debug)]
pub(crate) enum FloatData<'a> {
    F32(Cow<'a, [f32]>),
    F16(Cow<'a, [f16]>),
    BF16(Cow<'a, [bf16]>),
}

impl FloatData<'_> {
    pub(crate) fn as_slice(&self) -> FloatSlice<'_> {
        match self {
            Self::F32(values) => FloatSlice::F32(values),
            Self::F16(values) => FloatSlice::F16(values),
            Self::BF16(values) => FloatSlice::BF16(values),
        }
    }

    /// Whether the values had to be copied (misaligned bytes or a big-endian host).
    pub(crate) fn is_copy(&self) -> bool {
        match self {
            Self::F32(values) => matches!(values, Cow::Owned(_)),
            Self::F16(values) => matches!(values, Cow::Owned(_)),
            Self::BF16(values) => matches!(values, Cow::Owned(_)),
        }
    }
}

/// The elements of `bytes` as `dtype`, or `None` if entro cannot quantize
/// that dtype or the length is not a whole number of elements.
pub(crate) fn float_data(bytes: &[u8], dtype: Dtype) -> Option<FloatData<'_>> {
    match dtype {
        Dtype::F32 => {
            cast(bytes, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).map(FloatData::F32)
        }
        Dtype::F16 => cast(bytes, |b| f16::from_le_bytes([b[0], b[1]])).map(FloatData::F16),
        Dtype::BF16 => cast(bytes, |b| bf16::from_le_bytes([b[0], b[1]])).map(FloatData::BF16),
        _ => None,
    }
}

/// Zero-copy when the host is little-endian and `bytes` is aligned for `T`.
/// `decode` gets exactly `size_of::<T>()` bytes.
fn cast<T: Pod>(bytes: &[u8], decode: impl Fn(&[u8]) -> T) -> Option<Cow<'_, [T]>> {
    let width = size_of::<T>();
    if !bytes.len().is_multiple_of(width) {
        return None;
    }
    if cfg!(target_endian = "little")
        && let Ok(values) = bytemuck::try_cast_slice::<u8, T>(bytes)
    {
        return Some(Cow::Borrowed(values));
    }
    Some(Cow::Owned(bytes.chunks_exact(width).map(decode).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_bytes_are_borrowed_and_misaligned_ones_copied_with_equal_values() {
        let values: Vec<f32> = vec![1.5, -2.25, 0.0, 3.0e-5];
        let aligned: &[u8] = bytemuck::cast_slice(&values);
        let data = float_data(aligned, Dtype::F32).unwrap();
        assert!(matches!(data.as_slice(), FloatSlice::F32(v) if v == &values[..]));
        assert_eq!(data.is_copy(), cfg!(target_endian = "big"));

        // The same bytes one past a 4-aligned address can only be read by copying.
        let mut shifted: Vec<u32> = vec![0; 5];
        let shifted: &mut [u8] = bytemuck::cast_slice_mut(&mut shifted);
        shifted[1..17].copy_from_slice(aligned);
        let data = float_data(&shifted[1..17], Dtype::F32).unwrap();
        assert!(matches!(data.as_slice(), FloatSlice::F32(v) if v == &values[..]));
        assert!(data.is_copy());
    }

    #[test]
    fn half_types_decode_little_endian() {
        let bytes = [0x80, 0x3f, 0x00, 0xc0]; // bf16 1.0, -2.0
        let data = float_data(&bytes, Dtype::BF16).unwrap();
        let FloatSlice::BF16(read) = data.as_slice() else {
            panic!("wrong variant");
        };
        assert_eq!(read, &[bf16::from_f32(1.0), bf16::from_f32(-2.0)]);
        let bytes = [0x00, 0x3c]; // f16 1.0
        let data = float_data(&bytes, Dtype::F16).unwrap();
        assert!(matches!(data.as_slice(), FloatSlice::F16(v) if v == [f16::from_f32(1.0)]));
    }

    #[test]
    fn other_dtypes_and_partial_elements_are_refused() {
        assert!(float_data(&[0; 8], Dtype::F64).is_none());
        assert!(float_data(&[0; 8], Dtype::I32).is_none());
        assert!(float_data(&[0; 3], Dtype::F16).is_none());
    }
}
