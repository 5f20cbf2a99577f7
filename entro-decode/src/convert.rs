//! Float output element types, and how values reach them.
//!
//! Every float output follows one rule: the value is computed in f32 (the dequantization formula,
//! or a raw element widened exactly), then rounded to nearest into the output type. The six output
//! element types (typed `f32`/`f16`/`bf16`, and their little-endian byte arrays) share the decode
//! loops through [`Convert`].

use entro_quant::BlockParams;
use half::{bf16, f16};

use crate::FloatDtype;

/// A decoding lookup table of one block: entry `c` is what code `c` stands for, in the output type.
#[derive(Debug, Clone)]
pub(crate) enum Lut {
    F32(Box<[f32; 256]>),
    F16(Box<[f16; 256]>),
    BF16(Box<[bf16; 256]>),
    LeF32(Box<[[u8; 4]; 256]>),
    Le16(Box<[[u8; 2]; 256]>),
}

impl Lut {
    /// The table's values as 16-bit words holding each element's native bytes (2-byte types only).
    pub(crate) fn words(&self) -> Option<[u16; 256]> {
        match self {
            Self::F16(table) => Some(table.map(f16::to_bits)),
            Self::BF16(table) => Some(table.map(bf16::to_bits)),
            Self::Le16(table) => Some(table.map(u16::from_ne_bytes)),
            Self::F32(_) | Self::LeF32(_) => None,
        }
    }
}

/// One float output element type.
pub(crate) trait Convert {
    /// The element written to the output.
    type Out: Copy + Send + Sync;
    /// The float format the element holds.
    const FLOAT: FloatDtype;
    /// Whether computing each value beats a table lookup (true where the output is the f32 itself,
    /// so the arithmetic vectorizes; rounding to a half type is cheaper through a table).
    const COMPUTE: bool;
    /// Rounds an f32 value to nearest in the output type.
    fn from_f32(value: f32) -> Self::Out;
    /// Copies little-endian elements of [`Convert::FLOAT`] bit for bit.
    fn copy_same(bytes: &[u8], out: &mut [Self::Out]);
    /// The table inside `lut`, if it holds this type.
    fn table(lut: &Lut) -> Option<&[Self::Out; 256]>;
    /// Wraps a table of this type.
    fn wrap(table: Box<[Self::Out; 256]>) -> Lut;
    /// The output as 16-bit words holding each element's native bytes, for the decoder that writes
    /// mapped values itself; `None` for 4-byte elements and for misaligned byte arrays.
    fn as_words(out: &mut [Self::Out]) -> Option<&mut [u16]>;

    /// The lookup table of `block`, following `entro_quant`'s formula then rounding to nearest.
    fn lut(block: BlockParams) -> Box<[Self::Out; 256]> {
        Box::new(block.lut_f32().map(Self::from_f32))
    }
}

macro_rules! converter {
    ($name:ident, $out:ty, $float:ident, $variant:ident, $width:literal, $compute:literal, $from_f32:expr, $from_le:expr, $as_words:path) => {
        #[derive(Debug)]
        pub(crate) struct $name;

        impl Convert for $name {
            type Out = $out;
            const FLOAT: FloatDtype = FloatDtype::$float;
            const COMPUTE: bool = $compute;

            #[inline(always)]
            fn from_f32(value: f32) -> $out {
                ($from_f32)(value)
            }

            fn copy_same(bytes: &[u8], out: &mut [$out]) {
                let (elements, _) = bytes.as_chunks::<$width>();
                for (out, element) in out.iter_mut().zip(elements) {
                    *out = ($from_le)(*element);
                }
            }

            fn table(lut: &Lut) -> Option<&[$out; 256]> {
                match lut {
                    Lut::$variant(table) => Some(table),
                    _ => None,
                }
            }

            fn wrap(table: Box<[$out; 256]>) -> Lut {
                Lut::$variant(table)
            }

            fn as_words(out: &mut [$out]) -> Option<&mut [u16]> {
                $as_words(out)
            }
        }
    };
}

/// 4-byte elements have no 16-bit view.
fn no_words<T>(_: &mut [T]) -> Option<&mut [u16]> {
    None
}

/// 2-byte elements viewed as words; byte arrays only where the buffer happens to be aligned.
fn pod_words<T: bytemuck::Pod>(out: &mut [T]) -> Option<&mut [u16]> {
    bytemuck::try_cast_slice_mut(out).ok()
}

converter!(
    ToF32,
    f32,
    F32,
    F32,
    4,
    true,
    |v| v,
    f32::from_le_bytes,
    no_words
);
converter!(
    ToF16,
    f16,
    F16,
    F16,
    2,
    false,
    f16::from_f32,
    f16::from_le_bytes,
    pod_words
);
converter!(
    ToBf16,
    bf16,
    BF16,
    BF16,
    2,
    false,
    bf16::from_f32,
    bf16::from_le_bytes,
    pod_words
);
converter!(
    LeF32,
    [u8; 4],
    F32,
    LeF32,
    4,
    true,
    |v: f32| v.to_le_bytes(),
    |b| b,
    no_words
);
converter!(
    LeF16,
    [u8; 2],
    F16,
    Le16,
    2,
    false,
    |v| f16::from_f32(v).to_le_bytes(),
    |b| b,
    pod_words
);
converter!(
    LeBf16,
    [u8; 2],
    BF16,
    Le16,
    2,
    false,
    |v| bf16::from_f32(v).to_le_bytes(),
    |b| b,
    pod_words
);

/// Converts the little-endian elements of a raw float tensor of type `source` into `out`: a bit
/// exact copy when the types agree, else widening to f32 (exact) and rounding to nearest.
///
/// `bytes` holds `out.len()` elements (checked by the caller); extra bytes are ignored.
pub(crate) fn convert_raw<C: Convert>(source: FloatDtype, bytes: &[u8], out: &mut [C::Out]) {
    if source == C::FLOAT {
        C::copy_same(bytes, out);
        return;
    }
    match source {
        FloatDtype::F32 => {
            for (out, element) in out.iter_mut().zip(bytes.as_chunks::<4>().0) {
                *out = C::from_f32(f32::from_le_bytes(*element));
            }
        }
        FloatDtype::F16 => {
            for (out, element) in out.iter_mut().zip(bytes.as_chunks::<2>().0) {
                *out = C::from_f32(f16::from_le_bytes(*element).to_f32());
            }
        }
        FloatDtype::BF16 => {
            for (out, element) in out.iter_mut().zip(bytes.as_chunks::<2>().0) {
                *out = C::from_f32(bf16::from_le_bytes(*element).to_f32());
            }
        }
    }
}

/// Dequantizes `codes` of one block into `out` (same length), bit for bit as
/// `entro_quant::dequantize` does: through `table` (the block's lookup table) when given, else
/// computing each value where that is faster or the run is short, else through a table built here
/// for the `levels = 2^bits` codes that can occur.
pub(crate) fn dequantize_run<C: Convert>(
    codes: &[u8],
    block: BlockParams,
    table: Option<&[C::Out; 256]>,
    levels: usize,
    out: &mut [C::Out],
) {
    let built;
    let table = match table {
        _ if C::COMPUTE => None,
        Some(table) => Some(table),
        None if codes.len() >= 2 * levels => {
            built = C::lut(block);
            Some(&*built)
        }
        None => None,
    };
    match table {
        Some(table) => {
            for (out, &code) in out.iter_mut().zip(codes) {
                *out = table[usize::from(code)];
            }
        }
        None => {
            for (out, &code) in out.iter_mut().zip(codes) {
                *out = C::from_f32(block.dequantize_code(code));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_outputs_hold_the_typed_values() {
        let block = BlockParams {
            scale: 0.013,
            zero_point: 117,
        };
        let f32s = ToF32::lut(block);
        let f16s = ToF16::lut(block);
        let bf16s = ToBf16::lut(block);
        let le32 = LeF32::lut(block);
        let le16 = LeF16::lut(block);
        let lebf = LeBf16::lut(block);
        for (code, byte) in (0..256).zip(0..=u8::MAX) {
            assert_eq!(f32s[code].to_bits(), block.dequantize_code(byte).to_bits());
            assert_eq!(le32[code], f32s[code].to_le_bytes());
            assert_eq!(le16[code], f16s[code].to_le_bytes());
            assert_eq!(lebf[code], bf16s[code].to_le_bytes());
            assert_eq!(f16s[code], f16::from_f32(f32s[code]));
            assert_eq!(bf16s[code], bf16::from_f32(f32s[code]));
        }
    }

    #[test]
    fn raw_conversion_copies_same_type_and_rounds_otherwise() {
        // A signalling NaN must survive an f16 -> f16 copy untouched.
        let halves = [
            f16::from_bits(0x7c01),
            f16::from_f32(1.5),
            f16::from_f32(-65504.0),
        ];
        let bytes: Vec<u8> = halves.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut out = [f16::ZERO; 3];
        convert_raw::<ToF16>(FloatDtype::F16, &bytes, &mut out);
        assert_eq!(out.map(f16::to_bits), halves.map(f16::to_bits));

        let mut wide = [0f32; 3];
        convert_raw::<ToF32>(FloatDtype::F16, &bytes, &mut wide);
        assert_eq!(wide[1], 1.5);
        assert_eq!(wide[2], -65504.0);

        let singles = [1.0f32 + f32::EPSILON, 70000.0, -0.1];
        let bytes: Vec<u8> = singles.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut narrow = [bf16::ZERO; 3];
        convert_raw::<ToBf16>(FloatDtype::F32, &bytes, &mut narrow);
        assert_eq!(narrow, singles.map(bf16::from_f32));
        let mut le = [[0u8; 2]; 3];
        convert_raw::<LeF16>(FloatDtype::F32, &bytes, &mut le);
        assert_eq!(le, singles.map(|v| f16::from_f32(v).to_le_bytes()));
    }

    #[test]
    fn both_run_paths_agree() {
        let block = BlockParams {
            scale: -0.37,
            zero_point: 0,
        };
        let codes: Vec<u8> = (0..40u8).map(|i| i % 16).collect();
        let mut long = vec![f16::ZERO; codes.len()];
        dequantize_run::<ToF16>(&codes, block, None, 16, &mut long);
        let mut short = vec![f16::ZERO; codes.len()];
        dequantize_run::<ToF16>(&codes, block, None, 256, &mut short);
        assert_eq!(long, short);
        let mut given = vec![f16::ZERO; codes.len()];
        dequantize_run::<ToF16>(&codes, block, Some(&ToF16::lut(block)), 256, &mut given);
        assert_eq!(long, given);
        let mut computed = vec![0f32; codes.len()];
        dequantize_run::<ToF32>(&codes, block, Some(&ToF32::lut(block)), 16, &mut computed);
        assert!(
            computed
                .iter()
                .zip(&long)
                .all(|(a, b)| f16::from_f32(*a) == *b)
        );
        assert_eq!(long[3], f16::from_f32(block.dequantize_code(3)));
    }
}
