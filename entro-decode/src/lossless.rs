//! Decoding one chunk of a lossless tensor: straight into the output where it holds the tensor's
//! own little-endian elements, else into scratch space and then converted.

use entro_format::lossless::{self, FloatLayout};
use entro_format::{EntroFile, TensorEntry};

use crate::convert::{Convert, LeBf16, LeF16, LeF32, ToBf16, ToF16, ToF32, convert_raw};
use crate::plan::Sink;
use crate::run::{chunk_bytes, unsupported};
use crate::{Error, FloatDtype, OutputKind, Result};

/// A lossless tensor being decoded: shared by every job of the tensor.
#[derive(Debug)]
pub(crate) struct LosslessSlot {
    /// How the codec splits the elements.
    pub(crate) layout: FloatLayout,
    /// The element type the chunks decode to (the tensor's dtype).
    pub(crate) float: FloatDtype,
}

impl LosslessSlot {
    /// The decoding state of `entry`, if it is a lossless tensor.
    pub(crate) fn of(entry: &TensorEntry) -> Option<Self> {
        let layout = entry.lossless()?.layout();
        let float = match layout {
            FloatLayout::F32 => FloatDtype::F32,
            FloatLayout::F16 => FloatDtype::F16,
            FloatLayout::BF16 => FloatDtype::BF16,
        };
        Some(Self { layout, float })
    }
}

/// Whether typed floats in memory are their little-endian encoding, so that a chunk can be decoded
/// straight into a typed buffer of its own type.
const NATIVE_IS_LITTLE_ENDIAN: bool = cfg!(target_endian = "little");

/// Decodes chunk `chunk` of the lossless tensor `entry` into `sink` (that chunk's piece of the
/// output), after checking its CRC-32C when `verify` is set. `scratch` is this worker's reusable
/// buffer for outputs of another type than the tensor's.
pub(crate) fn decode_chunk(
    file: &EntroFile,
    entry: &TensorEntry,
    slot: &LosslessSlot,
    chunk: usize,
    sink: Sink<'_>,
    verify: bool,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    let bytes = chunk_bytes(file, entry, chunk, verify)?;
    let decode = |out: &mut [u8]| {
        lossless::decode_chunk(slot.layout, bytes, out).map_err(|source| Error::LosslessCorrupt {
            tensor: entry.name().to_owned(),
            chunk,
            source,
        })
    };
    let same = |float: FloatDtype| float == slot.float;
    match sink {
        Sink::LeF32(out) if same(FloatDtype::F32) => decode(out.as_flattened_mut()),
        Sink::LeF16(out) if same(FloatDtype::F16) => decode(out.as_flattened_mut()),
        Sink::LeBf16(out) if same(FloatDtype::BF16) => decode(out.as_flattened_mut()),
        Sink::F32(out) if same(FloatDtype::F32) && NATIVE_IS_LITTLE_ENDIAN => {
            decode(bytemuck::cast_slice_mut(out))
        }
        Sink::F16(out) if same(FloatDtype::F16) && NATIVE_IS_LITTLE_ENDIAN => {
            decode(bytemuck::cast_slice_mut(out))
        }
        Sink::BF16(out) if same(FloatDtype::BF16) && NATIVE_IS_LITTLE_ENDIAN => {
            decode(bytemuck::cast_slice_mut(out))
        }
        Sink::F32(out) => converted::<ToF32>(slot, decode, out, scratch),
        Sink::F16(out) => converted::<ToF16>(slot, decode, out, scratch),
        Sink::BF16(out) => converted::<ToBf16>(slot, decode, out, scratch),
        Sink::LeF32(out) => converted::<LeF32>(slot, decode, out, scratch),
        Sink::LeF16(out) => converted::<LeF16>(slot, decode, out, scratch),
        Sink::LeBf16(out) => converted::<LeBf16>(slot, decode, out, scratch),
        Sink::Codes(_) => Err(unsupported(entry, OutputKind::Codes)),
        Sink::Copy(_) => Err(unsupported(entry, OutputKind::Bytes(entry.dtype()))),
    }
}

/// Decodes into `scratch`, then widens exactly or rounds to nearest into `out`, as for raw tensors.
fn converted<C: Convert>(
    slot: &LosslessSlot,
    decode: impl FnOnce(&mut [u8]) -> Result<()>,
    out: &mut [C::Out],
    scratch: &mut Vec<u8>,
) -> Result<()> {
    let len = out.len().saturating_mul(slot.float.size());
    scratch.resize(len, 0);
    let elements = &mut scratch[..len];
    decode(elements)?;
    convert_raw::<C>(slot.float, elements, out);
    Ok(())
}

/// Checks chunk `chunk` of a lossless tensor: its CRC-32C, then that it decodes (into `scratch`).
/// Returns the elements checked.
pub(crate) fn check_chunk(
    file: &EntroFile,
    entry: &TensorEntry,
    slot: &LosslessSlot,
    chunk: usize,
    scratch: &mut Vec<u8>,
) -> Result<u64> {
    let elements = entry.chunks().get(chunk).map_or(0, |info| info.codes);
    let len = (elements as usize).saturating_mul(slot.float.size());
    scratch.resize(len, 0);
    let bytes = chunk_bytes(file, entry, chunk, true)?;
    lossless::decode_chunk(slot.layout, bytes, &mut scratch[..len]).map_err(|source| {
        Error::LosslessCorrupt {
            tensor: entry.name().to_owned(),
            chunk,
            source,
        }
    })?;
    Ok(u64::from(elements))
}
