//! Bit-exact compression of F32, F16 and BF16 tensors, one self-contained chunk at a time.
//!
//! A chunk is coded in two sections:
//!
//! - **Blocks on a grid.** A 32-element block whose values are all `round(offset + k * step)`
//!   for small integers `k` (f16 `offset` and `step`) is stored as those two numbers and its 4-bit
//!   or 8-bit indices `k`. Real training never produces this, but checkpoints dequantized from
//!   GGUF block formats (Q4_0, Q4_1, Q5_x, Q8_0) are made of such blocks, and for them this roughly
//!   halves the size. A chunk without such blocks spends 2 bytes on saying so.
//! - **Plain elements**, everything else: the exponent, offset into a window of the exponents the
//!   chunk uses and joined with the top `k` mantissa bits (`k` chosen per chunk), forms one
//!   Huffman-coded byte plane; exponents outside the window escape to a plane of their own; the
//!   sign and remaining mantissa bits, close to uniform, are packed as they are. For F32 the low
//!   16 bits are bit-packed per segment of 64 elements, dropping trailing bits that are zero
//!   throughout the segment (F32 tensors widened from F16 or BF16 have 13 or 16).
//!
//! Every byte plane is stored raw, as a constant (0 bits per element), bit-packed, or with
//! entro-huffman's canonical Huffman code (either alphabet); Huffman must save an eighth of the
//! raw or packed size and 1 KiB to be chosen, since the others decode several times faster. Byte
//! codes are limited to 12 bits where that costs at most 1 % of the plane
//! ([`entro_huffman::Codebook::from_histogram_decode_friendly`]), so that the AVX-512 loop decodes
//! them: all-MiniLM-L6-v2's F32 weights then decode about 1.4 x as fast for 0.07 % more bytes. A
//! chunk carries everything needed to decode it, so chunks decode in parallel.
//!
//! # Chunk layout
//!
//! ```text
//! kind       u8       1
//! layout     u8       0 F32, 1 F16, 2 BF16
//! elements   u32 LE   1..=MAX_CHUNK_ELEMENTS, must match the caller's output length
//! blocks              present if elements >= 32: kinds, parameters and index planes
//! plain               present if some element is not in a grid block: window, exponent plane,
//!                     escapes plane, packed sign and mantissa bits, and for F32 the low-bit
//!                     widths plane and packed low bits
//! ```
//!
//! A plane is a mode byte (0 raw, 1 constant, 2 Huffman, 3 packed) and its body; planes of no
//! element are absent. Nothing may follow the last plane. The submodules' documentation gives
//! each part byte by byte. Decoding checks every field, so any input gives `Ok` or an error (the
//! container's checksums catch damage that still decodes), never a panic, and allocates less than
//! three times the output's size (buffers are pooled per thread and reused from chunk to chunk).
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

mod blocks;
mod error;
mod layout;
mod low;
mod packing;
mod plain;
mod plane;
mod reader;
mod scratch;
mod search;
mod window;

pub use error::{LosslessError, LosslessErrorKind};
pub use layout::FloatLayout;
pub use plane::ChunkPlane;
pub(crate) use plane::{decode_plane_bytes, plan, write_plane};
pub(crate) use reader::ChunkReader;

use scratch::Scratch;

/// Elements per chunk when the caller has no reason to choose (a chunk is the unit of parallel
/// decode). 1 Mi elements keep the per-plane decode-table builds (about 20 µs each) a small part
/// of a chunk's decode time, while a 135 M-weight model still has hundreds of chunks (every tensor
/// has at least one).
pub const DEFAULT_CHUNK_ELEMENTS: usize = 1 << 20;

/// Largest chunk a file may declare; readers reject more before allocating. It keeps every plane
/// within one entro-huffman chunk ([`entro_huffman::MAX_CHUNK_CODES`]).
pub const MAX_CHUNK_ELEMENTS: usize = 1 << 24;

/// Chunk kind byte of this coding.
const KIND: u8 = 1;

/// Bytes before the first section: kind, layout, element count.
const HEADER_BYTES: usize = 6;

/// Choices of the encoder. Every choice decodes with the same [`decode_chunk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// Look for 32-element blocks on a grid (dequantized checkpoints); on by default. Off, every
    /// element is coded plainly and encoding is faster.
    pub grid_blocks: bool,
    /// Huffman-code every plane where that is smaller at all, with optimal code lengths where
    /// they beat the fast-decoding ones of at most 12 bits; off by default, when a Huffman code
    /// must save an eighth of the raw or packed size and 1 KiB, since those decode several times
    /// faster. On, SmolLM2-135M's 4-bit grid indices take about 3.8 instead of 4 bits.
    pub smallest_planes: bool,
}

impl EncodeOptions {
    /// These options with [`EncodeOptions::grid_blocks`] set to `on`.
    #[must_use]
    pub fn with_grid_blocks(mut self, on: bool) -> Self {
        self.grid_blocks = on;
        self
    }

    /// These options with [`EncodeOptions::smallest_planes`] set to `on`.
    #[must_use]
    pub fn with_smallest_planes(mut self, on: bool) -> Self {
        self.smallest_planes = on;
        self
    }
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            grid_blocks: true,
            smallest_planes: false,
        }
    }
}

/// Where the bytes of an encoded chunk went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkStats {
    /// Elements in the chunk.
    pub elements: usize,
    /// Elements coded as grid blocks.
    pub grid_elements: usize,
    /// Chunk header and the plain section's window fields.
    pub header_bytes: usize,
    /// The block kinds plane.
    pub block_kind_bytes: usize,
    /// The four block parameter planes.
    pub block_param_bytes: usize,
    /// The 4-bit and 8-bit index planes.
    pub block_index_bytes: usize,
    /// Of the plainly coded elements: plane 0 (exponent and top mantissa bits), then the escaped
    /// exponents with the packed sign and low mantissa bits.
    pub top_bytes: [usize; 2],
    /// The low-bit widths and packed low bits of plain F32 elements.
    pub low_bytes: usize,
    /// How many top mantissa bits join the exponent in plane 0, if there are plain elements.
    pub joined_mantissa_bits: Option<u8>,
}

impl ChunkStats {
    /// Bytes of the whole chunk.
    #[must_use]
    pub fn total_bytes(&self) -> usize {
        self.header_bytes
            + self.block_kind_bytes
            + self.block_param_bytes
            + self.block_index_bytes
            + self.top_bytes[0]
            + self.top_bytes[1]
            + self.low_bytes
    }
}

/// Appends one self-contained, independently decodable chunk coding `elements`
/// (`elements.len()` a multiple of `layout.element_bytes()`, element count in
/// `1..=MAX_CHUNK_ELEMENTS`), with the default [`EncodeOptions`].
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
    encode_chunk_with(layout, elements, &EncodeOptions::default(), out).map(|_| ())
}

/// [`encode_chunk`] with explicit options; returns where the bytes went.
///
/// # Errors
/// As [`encode_chunk`].
pub fn encode_chunk_with(
    layout: FloatLayout,
    elements: &[u8],
    options: &EncodeOptions,
    out: &mut Vec<u8>,
) -> Result<ChunkStats, LosslessError> {
    let count = element_count(layout, elements.len())?;
    let start = out.len();
    let mut stats = ChunkStats {
        elements: count,
        header_bytes: HEADER_BYTES,
        ..ChunkStats::default()
    };
    out.extend_from_slice(&[KIND, layout.tag()]);
    // element_count() bounds count by MAX_CHUNK_ELEMENTS < 2^32.
    out.extend_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_le_bytes());
    let margin = if options.smallest_planes {
        plane::HuffmanMargin::Size
    } else {
        plane::HuffmanMargin::Speed
    };
    let written = blocks::encode_blocks(
        layout,
        elements,
        options.grid_blocks,
        margin,
        out,
        &mut stats,
    )
    .and_then(|plain| plain::encode_plain(layout, &plain, margin, out, &mut stats));
    match written {
        Ok(()) => Ok(stats),
        Err(err) => {
            out.truncate(start);
            Err(err)
        }
    }
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
    read_header(&mut reader, layout, count)?;
    let mut scratch = Scratch::from_pool();
    let blocks = blocks::decode_blocks(&mut reader, chunk, count, &mut scratch)?;
    if blocks.grid_blocks() == 0 {
        plain::decode_plain(layout, &mut reader, chunk, &mut scratch, out)?;
    } else {
        let plain_count = count - blocks.grid_blocks() * search::BLOCK;
        let mut plain = scratch.buffer(plain_count * layout.element_bytes());
        plain::decode_plain(layout, &mut reader, chunk, &mut scratch, &mut plain)?;
        blocks::assemble(layout, &blocks, &plain, out);
        scratch.give_back(plain);
    }
    blocks.give_back(&mut scratch);
    if !reader.rest().is_empty() {
        return Err(LosslessError::TrailingBytes {
            offset: reader.offset(),
            found: reader.rest().len(),
        });
    }
    Ok(())
}

fn read_header(
    reader: &mut ChunkReader<'_>,
    layout: FloatLayout,
    count: usize,
) -> Result<(), LosslessError> {
    let kind_at = reader.offset();
    let kind = reader.u8()?;
    if kind != KIND {
        return Err(LosslessError::UnknownChunkKind {
            offset: kind_at,
            found: kind,
        });
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
