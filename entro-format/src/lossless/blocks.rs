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

use half::f16;

use super::layout::{FloatLayout, low_u16};
use super::plane::{ChunkPlane, PlaneBytes, decode_plane, encode_plane};
use super::reader::ChunkReader;
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
    stats.block_kind_bytes += encode_plane(ChunkPlane::BlockKinds, &kinds, out)?;
    for (byte, plane) in (0u8..).zip(&params) {
        stats.block_param_bytes += encode_plane(ChunkPlane::BlockParams(byte), plane, out)?;
    }
    stats.block_index_bytes += encode_plane(ChunkPlane::NarrowIndices, &narrow, out)?;
    stats.block_index_bytes += encode_plane(ChunkPlane::WideIndices, &wide, out)?;
    Ok(plain)
}

/// The decoded block section of a chunk.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    kinds: Vec<u8>,
    params: [Vec<u8>; 4],
    narrow: Vec<u8>,
    wide: Vec<u8>,
}

impl Blocks {
    /// Blocks on a grid.
    pub(crate) fn grid_blocks(&self) -> usize {
        self.params[0].len()
    }
}

/// Reads the block section of a chunk of `count` elements.
pub(crate) fn decode_blocks(
    reader: &mut ChunkReader<'_>,
    chunk: &[u8],
    count: usize,
) -> Result<Blocks, LosslessError> {
    let whole = count / BLOCK;
    if whole == 0 {
        return Ok(Blocks::default());
    }
    let kinds_at = reader.offset();
    let kinds = read_owned(ChunkPlane::BlockKinds, reader, chunk, whole)?;
    let mut per_kind = [0usize; 3];
    for &kind in &kinds {
        let slot = per_kind
            .get_mut(usize::from(kind))
            .ok_or(LosslessError::InvalidField {
                offset: kinds_at,
                what: "block kind",
                expected: format!("at most {KIND_WIDE}"),
                found: u64::from(kind),
            })?;
        *slot += 1;
    }
    let grid = per_kind[1] + per_kind[2];
    let mut params: [Vec<u8>; 4] = Default::default();
    for (byte, plane) in (0u8..).zip(&mut params) {
        *plane = read_owned(ChunkPlane::BlockParams(byte), reader, chunk, grid)?;
    }
    let narrow = read_owned(
        ChunkPlane::NarrowIndices,
        reader,
        chunk,
        per_kind[1] * BLOCK,
    )?;
    let wide = read_owned(ChunkPlane::WideIndices, reader, chunk, per_kind[2] * BLOCK)?;
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
) -> Result<Vec<u8>, LosslessError> {
    let mut buffer = vec![0u8; len];
    Ok(match decode_plane(id, reader, &mut buffer)? {
        PlaneBytes::InChunk(range) => chunk.get(range).unwrap_or(&[]).to_vec(),
        PlaneBytes::Constant(value) => {
            buffer.fill(value);
            buffer
        }
        PlaneBytes::InScratch => buffer,
    })
}

/// Writes every element of the chunk: grid blocks from their parameters, the rest from `plain`
/// (the plainly coded elements, in order).
pub(crate) fn assemble(layout: FloatLayout, blocks: &Blocks, plain: &[u8], out: &mut [u8]) {
    let block_bytes = BLOCK * layout.element_bytes();
    let (mut plain_at, mut grid_at, mut narrow_at, mut wide_at) = (0, 0, 0, 0);
    let mut outs = out.chunks_mut(block_bytes);
    for (&kind, dst) in blocks.kinds.iter().zip(&mut outs) {
        if kind == KIND_PLAIN {
            if let Some(src) = plain.get(plain_at..plain_at + block_bytes) {
                dst.copy_from_slice(src);
            }
            plain_at += block_bytes;
            continue;
        }
        let param = |plane: usize| blocks.params[plane].get(grid_at).copied().unwrap_or(0);
        let offset = f16::from_bits(u16::from_le_bytes([param(0), param(1)])).to_f32();
        let step = f16::from_bits(u16::from_le_bytes([param(2), param(3)])).to_f32();
        grid_at += 1;
        let (indices, at) = if kind == KIND_NARROW {
            (&blocks.narrow, &mut narrow_at)
        } else {
            (&blocks.wide, &mut wide_at)
        };
        if let Some(indices) = indices.get(*at..*at + BLOCK) {
            write_grid(layout, offset, step, indices, dst);
        }
        *at += BLOCK;
    }
    for dst in outs {
        if let Some(src) = plain.get(plain_at..plain_at + dst.len()) {
            dst.copy_from_slice(src);
        }
        plain_at += dst.len();
    }
}

fn write_grid(layout: FloatLayout, offset: f32, step: f32, indices: &[u8], dst: &mut [u8]) {
    match layout {
        FloatLayout::BF16 => {
            for (element, &k) in dst.chunks_exact_mut(2).zip(indices) {
                let bits = FloatLayout::BF16.round(grid_value(offset, step, k));
                element.copy_from_slice(&low_u16(bits).to_le_bytes());
            }
        }
        FloatLayout::F16 => {
            for (element, &k) in dst.chunks_exact_mut(2).zip(indices) {
                let bits = FloatLayout::F16.round(grid_value(offset, step, k));
                element.copy_from_slice(&low_u16(bits).to_le_bytes());
            }
        }
        FloatLayout::F32 => {
            for (element, &k) in dst.chunks_exact_mut(4).zip(indices) {
                let bits = FloatLayout::F32.round(grid_value(offset, step, k));
                element.copy_from_slice(&bits.to_le_bytes());
            }
        }
    }
}
