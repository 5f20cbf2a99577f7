//! Bit-exact compression of F32, F16 and BF16 tensors, one self-contained chunk at a time.
//!
//! Each element is split into byte planes ([`FloatLayout`] says how): the exponent, which takes few
//! distinct values in trained weights, the sign with the top mantissa bits, and for F32 the two low
//! mantissa bytes. Each plane of a chunk is coded on its own with entro-huffman's canonical
//! Huffman code where that pays, stored raw where it does not, or as one byte when all its values
//! are equal. A chunk carries everything needed to decode it, so chunks decode in parallel.
//!
//! # Chunk layout
//!
//! ```text
//! kind          u8       1 (split planes)
//! layout        u8       0 F32, 1 F16, 2 BF16
//! elements      u32 LE   1..=MAX_CHUNK_ELEMENTS, must match the caller's output length
//! planes                 element_bytes planes, in plane order, each as `mode` + body:
//!   mode 0 raw           one byte per element
//!   mode 1 constant      one byte, shared by every element
//!   mode 2 huffman       codebook (entro-huffman form), coded length u32 LE, entro-huffman chunk
//! ```
//!
//! Nothing may follow the last plane. Decoding checks every field, so any input gives `Ok` or an
//! error (the container's checksums catch damage that still decodes), never a panic, and allocates
//! no more than the output's size.
//!
//! ```
//! use entro_format::lossless::{FloatLayout, decode_chunk, encode_chunk};
//!
//! let weights: Vec<u8> = (0..4096u32)
//!     .flat_map(|i| ((i % 61) as f32 * -1.0e-3).to_le_bytes())
//!     .collect();
//! let mut chunk = Vec::new();
//! encode_chunk(FloatLayout::F32, &weights, &mut chunk)?;
//! assert!(chunk.len() < weights.len());
//!
//! let mut decoded = vec![0u8; weights.len()];
//! decode_chunk(FloatLayout::F32, &chunk, &mut decoded)?;
//! assert_eq!(decoded, weights);
//! # Ok::<(), entro_format::lossless::LosslessError>(())
//! ```

mod error;
mod layout;
mod plane;
mod reader;

pub use error::{LosslessError, LosslessErrorKind};
pub use layout::FloatLayout;

use layout::MAX_PLANES;
use plane::{PlaneBytes, decode_plane, encode_plane};
use reader::ChunkReader;

/// Elements per chunk when the caller has no reason to choose (a chunk is the unit of parallel
/// decode). 256 Ki elements keep the per-plane decode-table builds (about 20 µs each) a small part
/// of a chunk's decode time, while a 135 M-weight model still has hundreds of chunks.
pub const DEFAULT_CHUNK_ELEMENTS: usize = 1 << 18;

/// Largest chunk a file may declare; readers reject more before allocating. It keeps every plane
/// within one entro-huffman chunk ([`entro_huffman::MAX_CHUNK_CODES`]).
pub const MAX_CHUNK_ELEMENTS: usize = 1 << 24;

/// Chunk kind byte of the split-plane coding.
const KIND_PLANES: u8 = 1;

/// Appends one self-contained, independently decodable chunk coding `elements`
/// (`elements.len()` a multiple of `layout.element_bytes()`, element count in
/// `1..=MAX_CHUNK_ELEMENTS`).
///
/// # Errors
/// [`LosslessError::RaggedLength`], [`LosslessError::EmptyChunk`] or
/// [`LosslessError::TooManyElements`] for input of the wrong size. On error `out` is left as it
/// was.
pub fn encode_chunk(
    layout: FloatLayout,
    elements: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), LosslessError> {
    let count = element_count(layout, elements.len())?;
    let start = out.len();
    out.extend_from_slice(&[KIND_PLANES, layout.tag()]);
    // element_count() bounds count by MAX_CHUNK_ELEMENTS < 2^32.
    out.extend_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_le_bytes());
    let mut planes: [Vec<u8>; MAX_PLANES] = Default::default();
    layout::split(layout, elements, &mut planes);
    for (index, plane) in planes.iter().take(layout.planes()).enumerate() {
        if let Err(err) = encode_plane(index, plane, out) {
            out.truncate(start);
            return Err(err);
        }
    }
    Ok(())
}

/// Decodes one chunk into `out`, whose length is exactly element_count * element_bytes (the caller
/// knows the count from the chunk table). Bit-exact: every NaN payload, ±0, ±inf, subnormals.
///
/// # Errors
/// Parameter errors ([`LosslessError::RaggedLength`], [`LosslessError::EmptyChunk`]) and
/// [`LosslessError::TooManyElements`] for an `out` of the wrong size; format errors naming the
/// byte offset for a chunk that is truncated, corrupt, written for another layout or element count,
/// or followed by unused bytes. The content of `out` is unspecified after an error.
pub fn decode_chunk(
    layout: FloatLayout,
    chunk: &[u8],
    out: &mut [u8],
) -> Result<(), LosslessError> {
    let count = element_count(layout, out.len())?;
    let mut reader = ChunkReader::new(chunk);
    let kind_at = reader.offset();
    match reader.u8()? {
        KIND_PLANES => {}
        found => {
            return Err(LosslessError::UnknownChunkKind {
                offset: kind_at,
                found,
            });
        }
    }
    let layout_at = reader.offset();
    let tag = reader.u8()?;
    if tag != layout.tag() {
        return Err(LosslessError::LayoutMismatch {
            offset: layout_at,
            expected: layout,
            found: tag,
        });
    }
    let count_at = reader.offset();
    let declared = reader.u32()?;
    if u64::from(declared) != count as u64 {
        return Err(LosslessError::ElementCountMismatch {
            offset: count_at,
            expected: count,
            found: u64::from(declared),
        });
    }
    // count * planes == out.len(): the scratch is never larger than the output.
    let mut scratch = vec![0u8; out.len()];
    let mut where_is: [Option<PlaneBytes>; MAX_PLANES] = Default::default();
    for (index, (buffer, slot)) in scratch
        .chunks_exact_mut(count)
        .zip(&mut where_is)
        .enumerate()
    {
        *slot = Some(decode_plane(index, &mut reader, buffer)?);
    }
    if !reader.rest().is_empty() {
        return Err(LosslessError::TrailingBytes {
            offset: reader.offset(),
            found: reader.rest().len(),
        });
    }
    let mut planes: [&[u8]; MAX_PLANES] = [&[]; MAX_PLANES];
    for ((plane, buffer), source) in planes
        .iter_mut()
        .zip(scratch.chunks_exact(count))
        .zip(&where_is)
    {
        *plane = match source {
            Some(PlaneBytes::InChunk(range)) => chunk.get(range.clone()).unwrap_or(&[]),
            _ => buffer,
        };
    }
    layout::join(layout, &planes[..layout.planes()], out);
    Ok(())
}

/// Elements in `len` bytes of `layout`, checked against the chunk bounds.
fn element_count(layout: FloatLayout, len: usize) -> Result<usize, LosslessError> {
    let element_bytes = layout.element_bytes();
    if !len.is_multiple_of(element_bytes) {
        return Err(LosslessError::RaggedLength { len, element_bytes });
    }
    match len / element_bytes {
        0 => Err(LosslessError::EmptyChunk),
        elements if elements > MAX_CHUNK_ELEMENTS => Err(LosslessError::TooManyElements {
            elements,
            max: MAX_CHUNK_ELEMENTS,
        }),
        elements => Ok(elements),
    }
}
