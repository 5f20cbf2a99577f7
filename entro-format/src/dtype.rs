//! Element types, as safetensors names them, with stable on-disk tags.

use std::fmt;

/// The element type of a tensor as the source checkpoint stored it.
///
/// Every safetensors dtype is here, so that any tensor can at least be kept
/// exactly. Only [`Dtype::F32`], [`Dtype::F16`] and [`Dtype::BF16`] can be
/// quantized. The numeric tag ([`Dtype::tag`]) is what a `.entro` file stores;
/// it never changes once assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dtype {
    /// Boolean, one byte each.
    Bool,
    /// 4-bit float (MXFP4), two per byte.
    F4,
    /// 6-bit float, E2M3 (MXFP6).
    F6E2M3,
    /// 6-bit float, E3M2 (MXFP6).
    F6E3M2,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 8-bit integer.
    I8,
    /// 8-bit float, E5M2.
    F8E5M2,
    /// 8-bit float, E4M3.
    F8E4M3,
    /// 8-bit exponent-only scale, E8M0.
    F8E8M0,
    /// 8-bit float, E4M3 FNUZ.
    F8E4M3Fnuz,
    /// 8-bit float, E5M2 FNUZ.
    F8E5M2Fnuz,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 16-bit integer.
    U16,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    BF16,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 32-bit integer.
    U32,
    /// IEEE single precision.
    F32,
    /// Complex with two 32-bit float parts.
    C64,
    /// IEEE double precision.
    F64,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 64-bit integer.
    U64,
}

/// (dtype, on-disk tag, safetensors name, bits per element). The single source of truth.
const TABLE: [(Dtype, u8, &str, u32); 22] = [
    (Dtype::Bool, 0, "BOOL", 8),
    (Dtype::U8, 1, "U8", 8),
    (Dtype::I8, 2, "I8", 8),
    (Dtype::I16, 3, "I16", 16),
    (Dtype::U16, 4, "U16", 16),
    (Dtype::F16, 5, "F16", 16),
    (Dtype::BF16, 6, "BF16", 16),
    (Dtype::I32, 7, "I32", 32),
    (Dtype::U32, 8, "U32", 32),
    (Dtype::F32, 9, "F32", 32),
    (Dtype::F64, 10, "F64", 64),
    (Dtype::I64, 11, "I64", 64),
    (Dtype::U64, 12, "U64", 64),
    (Dtype::C64, 13, "C64", 64),
    (Dtype::F8E5M2, 14, "F8_E5M2", 8),
    (Dtype::F8E4M3, 15, "F8_E4M3", 8),
    (Dtype::F8E8M0, 16, "F8_E8M0", 8),
    (Dtype::F8E4M3Fnuz, 17, "F8_E4M3FNUZ", 8),
    (Dtype::F8E5M2Fnuz, 18, "F8_E5M2FNUZ", 8),
    (Dtype::F4, 19, "F4", 4),
    (Dtype::F6E2M3, 20, "F6_E2M3", 6),
    (Dtype::F6E3M2, 21, "F6_E3M2", 6),
];

impl Dtype {
    /// Every dtype, in tag order.
    pub const ALL: [Dtype; 22] = {
        let mut all = [Dtype::Bool; 22];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    fn row(self) -> (Dtype, u8, &'static str, u32) {
        // Every variant has exactly one row (checked by a unit test), so the fallback is dead.
        TABLE
            .iter()
            .copied()
            .find(|row| row.0 == self)
            .unwrap_or(TABLE[0])
    }

    /// The tag a `.entro` file stores for this dtype.
    #[must_use]
    pub fn tag(self) -> u8 {
        self.row().1
    }

    /// The dtype with this on-disk tag, if any.
    #[must_use]
    pub fn from_tag(tag: u8) -> Option<Dtype> {
        TABLE.iter().find(|row| row.1 == tag).map(|row| row.0)
    }

    /// The name safetensors headers use (`"BF16"`, `"F8_E4M3"`, ...).
    #[must_use]
    pub fn safetensors_name(self) -> &'static str {
        self.row().2
    }

    /// The dtype a safetensors header names, if known.
    #[must_use]
    pub fn from_safetensors_name(name: &str) -> Option<Dtype> {
        TABLE.iter().find(|row| row.2 == name).map(|row| row.0)
    }

    /// Bits per element (4 and 6 for the sub-byte float types).
    #[must_use]
    pub fn bits(self) -> u32 {
        self.row().3
    }

    /// Whether entro can quantize tensors of this type (F32, F16 and BF16).
    #[must_use]
    pub fn is_quantizable_float(self) -> bool {
        matches!(self, Dtype::F32 | Dtype::F16 | Dtype::BF16)
    }

    /// Bytes taken by `elements` elements, or `None` on overflow or when the
    /// bits do not fill whole bytes (a sub-byte type with an odd count).
    #[must_use]
    pub fn byte_len(self, elements: u64) -> Option<u64> {
        let bits = elements.checked_mul(u64::from(self.bits()))?;
        (bits % 8 == 0).then_some(bits / 8)
    }

    /// Little-endian elements of this type widened to `f32` (exactly), for F32, F16 and BF16;
    /// `None` for other types. A trailing partial element is ignored.
    #[must_use]
    pub fn widen_to_f32(self, bytes: &[u8]) -> Option<Vec<f32>> {
        Some(match self {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            _ => return None,
        })
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.safetensors_name())
    }
}

impl From<Dtype> for ::safetensors::Dtype {
    fn from(dtype: Dtype) -> Self {
        use ::safetensors::Dtype as S;
        match dtype {
            Dtype::Bool => S::BOOL,
            Dtype::F4 => S::F4,
            Dtype::F6E2M3 => S::F6_E2M3,
            Dtype::F6E3M2 => S::F6_E3M2,
            Dtype::U8 => S::U8,
            Dtype::I8 => S::I8,
            Dtype::F8E5M2 => S::F8_E5M2,
            Dtype::F8E4M3 => S::F8_E4M3,
            Dtype::F8E8M0 => S::F8_E8M0,
            Dtype::F8E4M3Fnuz => S::F8_E4M3FNUZ,
            Dtype::F8E5M2Fnuz => S::F8_E5M2FNUZ,
            Dtype::I16 => S::I16,
            Dtype::U16 => S::U16,
            Dtype::F16 => S::F16,
            Dtype::BF16 => S::BF16,
            Dtype::I32 => S::I32,
            Dtype::U32 => S::U32,
            Dtype::F32 => S::F32,
            Dtype::C64 => S::C64,
            Dtype::F64 => S::F64,
            Dtype::I64 => S::I64,
            Dtype::U64 => S::U64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_float_types_exactly() {
        let values = [1.5f32, -0.25, 3.0e-3];
        let bf16: Vec<u8> = values
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect();
        let widened = Dtype::BF16.widen_to_f32(&bf16).unwrap();
        for (value, back) in values.iter().zip(&widened) {
            assert_eq!(half::bf16::from_f32(*value).to_f32(), *back);
        }
        let f16: Vec<u8> = values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        assert_eq!(Dtype::F16.widen_to_f32(&f16).unwrap()[0], 1.5);
        let f32s: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(Dtype::F32.widen_to_f32(&f32s).unwrap(), values);
        assert!(Dtype::I64.widen_to_f32(&[0u8; 8]).is_none());
    }
    use std::collections::HashSet;

    #[test]
    fn table_has_unique_tags_names_and_variants() {
        let tags: HashSet<u8> = TABLE.iter().map(|row| row.1).collect();
        let names: HashSet<&str> = TABLE.iter().map(|row| row.2).collect();
        let dtypes: HashSet<Dtype> = TABLE.iter().map(|row| row.0).collect();
        assert_eq!(tags.len(), TABLE.len());
        assert_eq!(names.len(), TABLE.len());
        assert_eq!(dtypes.len(), TABLE.len());
        for dtype in Dtype::ALL {
            assert_eq!(Dtype::from_tag(dtype.tag()), Some(dtype));
            assert_eq!(
                Dtype::from_safetensors_name(dtype.safetensors_name()),
                Some(dtype)
            );
        }
    }

    #[test]
    fn names_and_sizes_agree_with_the_safetensors_crate() {
        for dtype in Dtype::ALL {
            let theirs = ::safetensors::Dtype::from(dtype);
            assert_eq!(theirs.to_string(), dtype.safetensors_name());
            assert_eq!(theirs.bitsize(), dtype.bits() as usize, "{dtype}");
        }
    }

    #[test]
    fn byte_len_rejects_partial_bytes_and_overflow() {
        assert_eq!(Dtype::BF16.byte_len(3), Some(6));
        assert_eq!(Dtype::F4.byte_len(4), Some(2));
        assert_eq!(Dtype::F4.byte_len(3), None);
        assert_eq!(Dtype::F6E2M3.byte_len(4), Some(3));
        assert_eq!(Dtype::F64.byte_len(u64::MAX / 2), None);
        assert_eq!(Dtype::from_tag(200), None);
        assert_eq!(Dtype::from_safetensors_name("bf16"), None);
    }
}
