//! The block section of a chunk: which 32-element blocks lie on a grid, their grid parameters and
//! indices. Blocks on no grid, and the elements after the last whole block, are coded plainly.
//!
//! ```text
//! kinds plane     one byte per whole block: 0 plain, 1 grid with 4-bit indices, 2 with 8-bit
//! params planes   4 planes, one byte each per grid block: offset f16 (LE), step f16 (LE)
//! narrow plane    32 indices per kind-1 block, in block order
//! wide plane      32 indices per kind-2 block, in block order
//! ```
//!
//! Planes with no elements are absent. A block's element `i` is
//! `round(offset + index[i] * step)` in f32 arithmetic, rounded to the layout.

use super::layout::{FloatLayout, f16_to_f32, round_bf16, round_f16, round_f32};
use super::plane::{ChunkPlane, HuffmanMargin, PlaneBytes, decode_plane, encode_plane};
use super::reader::ChunkReader;
use super::scratch::{Buffer, Scratch, as_le_u16, as_le_u32};
use super::search::{BLOCK, fit_block, grid_value};
use super::{ChunkStats, LosslessError};

const KIND_PLAIN: u8 = 0;
const KIND_NARROW: u8 = 1;
const KIND_WIDE: u8 = 2;

/// Appends the block section for `elements` (none if there is no whole block) and returns the
/// bytes of the elements left to code plainly, in order.
pub(crate) fn encode_blocks(
    layout: FloatLayout,
    elements: &[u8],
    search: bool,
    margin: HuffmanMargin,
    out: &mut Vec<u8>,
    stats: &mut ChunkStats,
) -> Result<Vec<u8>, LosslessError> {
    let block_bytes = BLOCK * layout.element_bytes();
    let whole = elements.len() / block_bytes;
    if whole == 0 {
        return Ok(elements.to_vec());
    }
    let mut kinds = Vec::with_capacity(whole);
    let mut params: [Vec<u8>; 4] = Default::default();
    let (mut narrow, mut wide, mut plain) = (Vec::new(), Vec::new(), Vec::new());
    for block in elements.chunks_exact(block_bytes) {
        match search.then(|| fit_block(layout, block)).flatten() {
            Some(fit) => {
                kinds.push(if fit.wide { KIND_WIDE } else { KIND_NARROW });
                let [o0, o1] = fit.offset.to_le_bytes();
                let [s0, s1] = fit.step.to_le_bytes();
                for (plane, byte) in params.iter_mut().zip([o0, o1, s0, s1]) {
                    plane.push(byte);
                }
                let indices = if fit.wide { &mut wide } else { &mut narrow };
                indices.extend_from_slice(&fit.indices);
                stats.grid_elements += BLOCK;
            }
            None => {
                kinds.push(KIND_PLAIN);
                plain.extend_from_slice(block);
            }
        }
    }
    plain.extend_from_slice(&elements[whole * block_bytes..]);
    stats.block_kind_bytes += encode_plane(ChunkPlane::BlockKinds, &kinds, margin, out)?;
    for (byte, plane) in (0u8..).zip(&params) {
        stats.block_param_bytes += encode_plane(ChunkPlane::BlockParams(byte), plane, margin, out)?;
    }
    stats.block_index_bytes += encode_plane(ChunkPlane::NarrowIndices, &narrow, margin, out)?;
    stats.block_index_bytes += encode_plane(ChunkPlane::WideIndices, &wide, margin, out)?;
    Ok(plain)
}

/// The decoded block section of a chunk.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    kinds: Buffer,
    params: [Buffer; 4],
    narrow: Buffer,
    wide: Buffer,
}

impl Blocks {
    /// Blocks on a grid.
    pub(crate) fn grid_blocks(&self) -> usize {
        self.params[0].len()
    }

    /// Returns the buffers for reuse.
    pub(crate) fn give_back(self, scratch: &mut Scratch) {
        let Self {
            kinds,
            params,
            narrow,
            wide,
        } = self;
        for buffer in [kinds, narrow, wide].into_iter().chain(params) {
            scratch.give_back(buffer);
        }
    }
}

/// Reads the block section of a chunk of `count` elements.
pub(crate) fn decode_blocks(
    reader: &mut ChunkReader<'_>,
    chunk: &[u8],
    count: usize,
    scratch: &mut Scratch,
) -> Result<Blocks, LosslessError> {
    let whole = count / BLOCK;
    if whole == 0 {
        return Ok(Blocks::default());
    }
    let kinds_at = reader.offset();
    let kinds = read_owned(ChunkPlane::BlockKinds, reader, chunk, whole, scratch)?;
    let mut per_kind = [0usize; 3];
    for &kind in kinds.iter() {
        match per_kind.get_mut(usize::from(kind)) {
            Some(count) => *count += 1,
            None => {
                return Err(LosslessError::InvalidField {
                    offset: kinds_at,
                    what: "block kind",
                    expected: format!("at most {KIND_WIDE}"),
                    found: u64::from(kind),
                });
            }
        }
    }
    let grid = per_kind[1] + per_kind[2];
    let mut params: [Buffer; 4] = Default::default();
    for (byte, plane) in (0u8..).zip(&mut params) {
        *plane = read_owned(ChunkPlane::BlockParams(byte), reader, chunk, grid, scratch)?;
    }
    let narrow = per_kind[1] * BLOCK;
    let narrow = read_owned(ChunkPlane::NarrowIndices, reader, chunk, narrow, scratch)?;
    let wide = per_kind[2] * BLOCK;
    let wide = read_owned(ChunkPlane::WideIndices, reader, chunk, wide, scratch)?;
    Ok(Blocks {
        kinds,
        params,
        narrow,
        wide,
    })
}

fn read_owned(
    id: ChunkPlane,
    reader: &mut ChunkReader<'_>,
    chunk: &[u8],
    len: usize,
    scratch: &mut Scratch,
) -> Result<Buffer, LosslessError> {
    let mut buffer = scratch.buffer(len);
    Ok(match decode_plane(id, reader, &mut buffer)? {
        PlaneBytes::InChunk(range) => {
            // The reader took exactly `len` bytes of the chunk for this range.
            if let Some(stored) = chunk.get(range).filter(|stored| stored.len() == len) {
                buffer.copy_from_slice(stored);
            }
            buffer
        }
        PlaneBytes::Constant(value) => {
            buffer.fill(value);
            buffer
        }
        PlaneBytes::InScratch => buffer,
    })
}

/// Writes every element of the chunk: grid blocks from their parameters, the rest from `plain`
/// (the plainly coded elements, in order). The section was validated by [`decode_blocks`], so
/// every slice below is in range; were one not, output would only be left unwritten.
pub(crate) fn assemble(layout: FloatLayout, blocks: &Blocks, plain: &[u8], out: &mut [u8]) {
    let block_bytes = BLOCK * layout.element_bytes();
    let [o0, o1, s0, s1] = &blocks.params;
    let (o0, o1, s0, s1): (&[u8], &[u8], &[u8], &[u8]) = (o0, o1, s0, s1);
    let (narrow, wide): (&[u8], &[u8]) = (&blocks.narrow, &blocks.wide);
    let (mut grid, mut narrow_at, mut wide_at, mut plain_at) = (0, 0, 0, 0);
    let mut blocks_out = out.chunks_exact_mut(block_bytes);
    for (&kind, dst) in blocks.kinds.iter().zip(&mut blocks_out) {
        if kind == KIND_PLAIN {
            if let Some(src) = plain.get(plain_at..plain_at + block_bytes) {
                dst.copy_from_slice(src);
            }
            plain_at += block_bytes;
            continue;
        }
        let (indices, at) = if kind == KIND_NARROW {
            (narrow, &mut narrow_at)
        } else {
            (wide, &mut wide_at)
        };
        let params = (o0.get(grid), o1.get(grid), s0.get(grid), s1.get(grid));
        if let (Some(indices), (Some(&o0), Some(&o1), Some(&s0), Some(&s1))) =
            (indices.get(*at..*at + BLOCK), params)
        {
            let offset = f16_to_f32(u16::from_le_bytes([o0, o1]));
            let step = f16_to_f32(u16::from_le_bytes([s0, s1]));
            write_grid(layout, offset, step, indices, dst);
        }
        *at += BLOCK;
        grid += 1;
    }
    let tail = blocks_out.into_remainder();
    if let Some(src) = plain.get(plain_at..plain_at + tail.len()) {
        tail.copy_from_slice(src);
    }
}

/// Writes one block's grid values; the loops are branch-free so that they vectorize.
fn write_grid(layout: FloatLayout, offset: f32, step: f32, indices: &[u8], dst: &mut [u8]) {
    match layout {
        FloatLayout::BF16 => store_u16(dst, indices, |k| round_bf16(grid_value(offset, step, k))),
        FloatLayout::F16 => store_u16(dst, indices, |k| round_f16(grid_value(offset, step, k))),
        FloatLayout::F32 => store_u32(dst, indices, |k| round_f32(grid_value(offset, step, k))),
    }
}

#[inline(always)]
fn store_u16(dst: &mut [u8], indices: &[u8], value: impl Fn(u8) -> u16) {
    match as_le_u16(dst) {
        Some(words) => {
            for (word, &k) in words.iter_mut().zip(indices) {
                *word = value(k);
            }
        }
        None => {
            for (element, &k) in dst.chunks_exact_mut(2).zip(indices) {
                element.copy_from_slice(&value(k).to_le_bytes());
            }
        }
    }
}

#[inline(always)]
fn store_u32(dst: &mut [u8], indices: &[u8], value: impl Fn(u8) -> u32) {
    match as_le_u32(dst) {
        Some(words) => {
            for (word, &k) in words.iter_mut().zip(indices) {
                *word = value(k);
            }
        }
        None => {
            for (element, &k) in dst.chunks_exact_mut(4).zip(indices) {
                element.copy_from_slice(&value(k).to_le_bytes());
            }
        }
    }
}
