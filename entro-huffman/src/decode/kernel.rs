//! The hot loops: four (or one) bit streams decoded in batches whose bounds are proven up front.
//!
//! Each lookup stores all six code bytes of its table entry (plus two more) at the output position
//! and then advances by the entry's code count, so there is no per-symbol branch. A lane is the
//! state of [`StreamReader`] (window, valid-bit count, input pointer) plus an output pointer. Its
//! refill ORs eight freshly loaded bytes in above the valid bits; the load address depends only on
//! the previous refill, not on the lookups in between, so the load runs ahead and the refill adds
//! just a shift and an OR to each lane's dependency chain (Fabian Giesen's "variant 4").
//!
//! # Why `unsafe`, and why it is sound
//! A batch of `n` iterations runs without bounds checks: with sixteen values live across four lanes
//! there are no registers left for slice lengths, and per-access checks cost about a third of the
//! throughput. [`Room::iterations`] picks `n` so that every access stays in bounds:
//! - input: a refill reads 8 bytes at the lane's input position and advances it by at most
//!   7 bytes, so the batch reads at `ip_0 + 7j` for `j < n`, and `ip_0 + 7n + 8 <= chunk.len()`;
//! - output: an iteration writes at most `P` codes (`LOOKUPS` entries of at most
//!   [`Tables::max_entry_codes`] codes, plus one long symbol), and every store starts at or before the
//!   iteration's last code position, so `P n + 8 <= room` keeps every 8-byte store inside the slice
//!   and `P n <= limit - pos` keeps the number of codes within the caller's limit.
//!
//! A refill leaves at least 56 valid bits and an iteration's lookups consume at most
//! `LOOKUPS * TABLE_BITS = 48`, so every lookup sees 12 valid bits. Codes longer than the 12-bit
//! table have all-zero entries: a lookup that meets one stores nothing useful, advances nothing and
//! consumes nothing, so the lane stalls harmlessly until the end of the iteration, where the long
//! code is decoded once if 15 valid bits remain (otherwise in the next iteration).
//!
//! Pointer arithmetic uses `wrapping_add`, so only the reads and writes themselves are `unsafe`.
//! The tests decode every chunk size around these limits and fuzzing feeds corrupt streams.

#![allow(
    unsafe_code,
    reason = "bounds-check-free hot loop; bounds proven per batch, see module docs"
)]

use super::drive::Tables;
use super::reader::StreamReader;
use super::table::{MAX_CODES_PER_ENTRY, TABLE_BITS, TABLE_SIZE, entry_bits, entry_codes};
use crate::MAX_CODE_LENGTH;

/// Bytes read by a refill and written by a lookup.
const STORE_BYTES: usize = 8;

/// Table lookups per window reload: each consumes at most `TABLE_BITS` bits.
const LOOKUPS: usize = 4;
const _: () = assert!(
    LOOKUPS as u32 * TABLE_BITS <= 56,
    "window budget, see module docs"
);

/// How far one lane may go in a batch, before dividing by the per-iteration worst case.
#[derive(Clone, Copy, Debug)]
struct Room {
    /// Bytes past the next 8-byte read, to be divided by 7 (bytes consumed per iteration).
    input: usize,
    /// Codes the lane may still write, to be divided by the codes one iteration may write.
    output: usize,
}

impl Room {
    /// `read_pos` is where the lane's next refill reads, `pos` where it writes next in a slice of
    /// `out_len` bytes that must receive at most `limit` codes.
    fn new(chunk_len: usize, read_pos: usize, out_len: usize, limit: usize, pos: usize) -> Self {
        let input = chunk_len.saturating_sub(read_pos.saturating_add(STORE_BYTES));
        let stores = out_len.saturating_sub(pos.saturating_add(STORE_BYTES));
        Self {
            input,
            output: stores.min(limit.saturating_sub(pos)),
        }
    }

    fn min(self, other: Self) -> Self {
        Self {
            input: self.input.min(other.input),
            output: self.output.min(other.output),
        }
    }

    /// Iterations that stay in bounds when one iteration writes at most `per_iteration` codes.
    fn iterations(self, per_iteration: usize) -> usize {
        debug_assert!(per_iteration >= 1);
        (self.input / 7).min(self.output / per_iteration)
    }
}

/// Codes one iteration of one lane may write at most.
fn codes_per_iteration(tables: &Tables, long: bool) -> usize {
    debug_assert!((1..=MAX_CODES_PER_ENTRY).contains(&tables.max_entry_codes));
    LOOKUPS * tables.max_entry_codes
        + if long {
            tables.alphabet.codes_per_symbol()
        } else {
            0
        }
}

/// One table lookup for one lane: store, advance output, consume bits.
macro_rules! lookup {
    ($tables:ident, $buf:ident, $count:ident, $op:ident) => {{
        let entry = $tables.entries[($buf as usize) & (TABLE_SIZE - 1)];
        // Codes first, then the entry's length and count bytes, which later stores overwrite (an
        // entry has at most 6 codes). A rotate needs no copy of `entry` with BMI2 (`rorx`).
        let data = entry.rotate_right(16).to_le();
        // SAFETY: `Room::iterations` left room for this 8-byte store (module docs, "output").
        unsafe { $op.cast::<u64>().write_unaligned(data) };
        $op = $op.wrapping_add(entry_codes(entry));
        // The low byte of an entry is its bit length (at most 12): the shift uses only that.
        $buf = $buf.wrapping_shr(entry as u32);
        $count = $count.wrapping_sub(entry_bits(entry));
    }};
}

/// Decodes a long code that stalled a lane, if 15 valid bits remain.
macro_rules! resolve_long {
    ($tables:ident, $buf:ident, $count:ident, $op:ident) => {{
        let entry = $tables.entries[($buf as usize) & (TABLE_SIZE - 1)];
        if entry_codes(entry) == 0 && $count >= u32::from(MAX_CODE_LENGTH) {
            let entry = $tables.long_entry($buf);
            let data = entry.rotate_right(16).to_le();
            // SAFETY: `Room::iterations` counts one long symbol per iteration (module docs).
            unsafe { $op.cast::<u64>().write_unaligned(data) };
            $op = $op.wrapping_add(entry_codes(entry));
            $buf = $buf.wrapping_shr(entry as u32);
            $count = $count.wrapping_sub(entry_bits(entry));
        }
    }};
}

/// Tops a lane's window up to at least 56 valid bits (the branchless refill of [`StreamReader`]).
macro_rules! refill {
    ($buf:ident, $count:ident, $ip:ident) => {{
        // SAFETY: `Room::iterations` keeps 8 readable bytes at every refill (module docs, "input").
        let word = u64::from_le(unsafe { $ip.cast::<u64>().read_unaligned() });
        $buf |= word.wrapping_shl($count);
        $ip = $ip.wrapping_add(((63 - $count) >> 3) as usize);
        $count |= 56;
    }};
}

/// Decodes four streams side by side, in proven-safe batches, until one of them is within a few
/// codes of `limits[k]` or within a few bytes of the end of the chunk. `pos[k]` is where stream `k`
/// continues in `outs[k]`; no lane writes more than `limits[k]` codes (but its stores may touch up
/// to 8 bytes past the last code, inside `outs[k]`).
pub(super) fn decode4(
    tables: &Tables,
    chunk: &[u8],
    readers: &mut [StreamReader; 4],
    outs: [&mut [u8]; 4],
    limits: [usize; 4],
    pos: &mut [usize; 4],
) {
    #[cfg(target_arch = "x86_64")]
    if bmi2::available() {
        // SAFETY: the CPU supports every feature `bmi2::decode4` is compiled for (checked above).
        unsafe { bmi2::decode4(tables, chunk, readers, outs, limits, pos) };
        return;
    }
    decode4_any(tables, chunk, readers, outs, limits, pos);
}

/// The variants of the four-stream loop; inlined into a portable and a BMI2 build.
#[inline(always)]
fn decode4_any(
    tables: &Tables,
    chunk: &[u8],
    readers: &mut [StreamReader; 4],
    outs: [&mut [u8]; 4],
    limits: [usize; 4],
    pos: &mut [usize; 4],
) {
    if tables.has_long_codes() {
        decode4_with::<true>(tables, chunk, readers, outs, limits, pos);
    } else {
        decode4_with::<false>(tables, chunk, readers, outs, limits, pos);
    }
}

#[inline(always)]
fn decode4_with<const LONG: bool>(
    tables: &Tables,
    chunk: &[u8],
    readers: &mut [StreamReader; 4],
    outs: [&mut [u8]; 4],
    limits: [usize; 4],
    pos: &mut [usize; 4],
) {
    let per_iteration = codes_per_iteration(tables, LONG);
    loop {
        let room = (0..4)
            .map(|k| {
                Room::new(
                    chunk.len(),
                    readers[k].pos,
                    outs[k].len(),
                    limits[k],
                    pos[k],
                )
            })
            .reduce(Room::min);
        let iterations = room.map_or(0, |room| room.iterations(per_iteration));
        if iterations == 0 {
            return;
        }
        let mut lanes: [Lane; 4] = std::array::from_fn(|k| Lane {
            buf: readers[k].buf,
            count: readers[k].count,
            ip: chunk.as_ptr().wrapping_add(readers[k].pos),
            op: outs[k].as_mut_ptr().wrapping_add(pos[k]),
        });
        batch4::<LONG>(tables, &mut lanes, iterations);
        for (k, lane) in lanes.iter().enumerate() {
            readers[k].buf = lane.buf;
            readers[k].count = lane.count;
            readers[k].pos = lane.ip as usize - chunk.as_ptr() as usize;
            pos[k] = lane.op as usize - outs[k].as_ptr() as usize;
        }
    }
}

/// Hot state of one stream.
#[derive(Clone, Copy, Debug)]
struct Lane {
    buf: u64,
    count: u32,
    ip: *const u8,
    op: *mut u8,
}

#[inline(always)]
fn batch4<const LONG: bool>(tables: &Tables, lanes: &mut [Lane; 4], iterations: usize) {
    let [l0, l1, l2, l3] = *lanes;
    let (mut b0, mut c0, mut i0, mut o0) = (l0.buf, l0.count, l0.ip, l0.op);
    let (mut b1, mut c1, mut i1, mut o1) = (l1.buf, l1.count, l1.ip, l1.op);
    let (mut b2, mut c2, mut i2, mut o2) = (l2.buf, l2.count, l2.ip, l2.op);
    let (mut b3, mut c3, mut i3, mut o3) = (l3.buf, l3.count, l3.ip, l3.op);
    for _ in 0..iterations {
        refill!(b0, c0, i0);
        refill!(b1, c1, i1);
        refill!(b2, c2, i2);
        refill!(b3, c3, i3);
        for _ in 0..LOOKUPS {
            lookup!(tables, b0, c0, o0);
            lookup!(tables, b1, c1, o1);
            lookup!(tables, b2, c2, o2);
            lookup!(tables, b3, c3, o3);
        }
        if LONG {
            resolve_long!(tables, b0, c0, o0);
            resolve_long!(tables, b1, c1, o1);
            resolve_long!(tables, b2, c2, o2);
            resolve_long!(tables, b3, c3, o3);
        }
    }
    *lanes = [
        Lane {
            buf: b0,
            count: c0,
            ip: i0,
            op: o0,
        },
        Lane {
            buf: b1,
            count: c1,
            ip: i1,
            op: o1,
        },
        Lane {
            buf: b2,
            count: c2,
            ip: i2,
            op: o2,
        },
        Lane {
            buf: b3,
            count: c3,
            ip: i3,
            op: o3,
        },
    ];
}

/// Single-stream version of [`decode4`] for the streams left over when another one stopped.
pub(super) fn decode1(
    tables: &Tables,
    chunk: &[u8],
    reader: &mut StreamReader,
    out: &mut [u8],
    limit: usize,
    pos: &mut usize,
) {
    #[cfg(target_arch = "x86_64")]
    if bmi2::available() {
        // SAFETY: the CPU supports every feature `bmi2::decode1` is compiled for (checked above).
        unsafe { bmi2::decode1(tables, chunk, reader, out, limit, pos) };
        return;
    }
    decode1_any(tables, chunk, reader, out, limit, pos);
}

#[inline(always)]
fn decode1_any(
    tables: &Tables,
    chunk: &[u8],
    reader: &mut StreamReader,
    out: &mut [u8],
    limit: usize,
    pos: &mut usize,
) {
    if tables.has_long_codes() {
        decode1_with::<true>(tables, chunk, reader, out, limit, pos);
    } else {
        decode1_with::<false>(tables, chunk, reader, out, limit, pos);
    }
}

#[inline(always)]
fn decode1_with<const LONG: bool>(
    tables: &Tables,
    chunk: &[u8],
    reader: &mut StreamReader,
    out: &mut [u8],
    limit: usize,
    pos: &mut usize,
) {
    let per_iteration = codes_per_iteration(tables, LONG);
    loop {
        let room = Room::new(chunk.len(), reader.pos, out.len(), limit, *pos);
        let iterations = room.iterations(per_iteration);
        if iterations == 0 {
            return;
        }
        let (mut buf, mut count) = (reader.buf, reader.count);
        let mut ip = chunk.as_ptr().wrapping_add(reader.pos);
        let start = out.as_mut_ptr().wrapping_add(*pos);
        let mut op = start;
        for _ in 0..iterations {
            refill!(buf, count, ip);
            for _ in 0..LOOKUPS {
                lookup!(tables, buf, count, op);
            }
            if LONG {
                resolve_long!(tables, buf, count, op);
            }
        }
        reader.buf = buf;
        reader.count = count;
        reader.pos = ip as usize - chunk.as_ptr() as usize;
        *pos += op as usize - start as usize;
    }
}

/// The same loops compiled with BMI1, BMI2 and LZCNT (`shrx`, `rorx`, `lzcnt`: fewer instructions
/// and no pinned shift register), used when the CPU has them.
#[cfg(target_arch = "x86_64")]
mod bmi2 {
    use super::{StreamReader, Tables, decode1_any, decode4_any};

    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("lzcnt")
    }

    #[target_feature(enable = "bmi1,bmi2,lzcnt")]
    pub(super) fn decode4(
        tables: &Tables,
        chunk: &[u8],
        readers: &mut [StreamReader; 4],
        outs: [&mut [u8]; 4],
        limits: [usize; 4],
        pos: &mut [usize; 4],
    ) {
        decode4_any(tables, chunk, readers, outs, limits, pos);
    }

    #[target_feature(enable = "bmi1,bmi2,lzcnt")]
    pub(super) fn decode1(
        tables: &Tables,
        chunk: &[u8],
        reader: &mut StreamReader,
        out: &mut [u8],
        limit: usize,
        pos: &mut usize,
    ) {
        decode1_any(tables, chunk, reader, out, limit, pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_bounds_keep_every_access_inside() {
        let iterations = |chunk_len, read_pos, out_len, limit, pos, per_iteration| {
            Room::new(chunk_len, read_pos, out_len, limit, pos).iterations(per_iteration)
        };
        let big = 1 << 20;
        // Input: 7 bytes per iteration plus the 8-byte read.
        assert_eq!(iterations(100, 0, big, big, 0, 24), 13);
        assert_eq!(iterations(100, 85, big, big, 0, 24), 1);
        assert_eq!(iterations(100, 86, big, big, 0, 24), 0);
        assert_eq!(iterations(100, 200, big, big, 0, 24), 0);
        // Stores: whole iterations plus the 8 bytes of the last store.
        assert_eq!(iterations(big, 0, 32, big, 0, 24), 1);
        assert_eq!(iterations(big, 0, 31, big, 0, 24), 0);
        assert_eq!(iterations(big, 0, 56, big, 0, 24), 2);
        assert_eq!(iterations(big, 0, 56, big, 1, 24), 1);
        // The code limit binds separately from the slice length.
        assert_eq!(iterations(big, 0, big, 47, 0, 24), 1);
        assert_eq!(iterations(big, 0, big, 48, 0, 24), 2);
        assert_eq!(iterations(big, 0, 1, 1, 5, 26), 0);
        // The tightest lane decides.
        let a = Room::new(100, 0, big, big, 0);
        let b = Room::new(big, 0, 32, big, 0);
        assert_eq!(a.min(b).iterations(24), 1);
    }
}
