//! The hot loops: four (or one) bit streams decoded in batches whose bounds are proven up front.
//!
//! Each lookup stores all six code bytes of its table entry (plus two more) at the output position
//! and then advances by the entry's code count, so there is no per-symbol branch. The bit window of
//! a lane is 64 bits with a sentinel: after a reload bit 63 is set above the 63 data bits, and as
//! bits are consumed (shifted out at the bottom) the sentinel moves down, so `leading_zeros` tells
//! how many bits were consumed since the reload without a separate counter (huff0 does the same
//! with a backwards reader). The input pointers, needed once per iteration, live in memory, so the
//! hot state of a lane is two registers (window and output pointer): four lanes fit the register
//! file without spills, which measured faster than a shorter refill dependency chain.
//!
//! # Why `unsafe`, and why it is sound
//! A batch of `n` iterations runs without bounds checks: with sixteen values live across four lanes
//! there are no registers left for slice lengths, and per-access checks cost about a third of the
//! throughput. [`Room::iterations`] picks `n` so that every access stays in bounds:
//! - input: an iteration starts with at most 7 bits of its first byte consumed and consumes at most
//!   `LOOKUPS * TABLE_BITS = 48` bits plus one long code of at most 15 bits (only if 15 valid bits
//!   remain), so at most 63 bits: a reload moves the input pointer by at most 7 bytes. The batch
//!   reads 8 bytes at `ip_0 + 7j` for `j <= n`, and `ip_0 + 7n + 8 <= chunk.len()`;
//! - output: an iteration writes at most `P` elements (`LOOKUPS` entries of at most
//!   [`ScalarTables::max_entry_codes`] elements, plus one long symbol), and every store starts at or
//!   before the iteration's last element position, so `P n + S <= room` keeps every 8-byte store (`S`
//!   elements: 8 codes or 4 mapped 16-bit values, [`Lane::PER_STORE`]) inside the slice, and
//!   `P n <= limit - pos` keeps the number of elements within the caller's limit.
//!
//! A reload leaves at least 56 valid bits and an iteration's lookups consume at most
//! `LOOKUPS * TABLE_BITS = 48`, so every lookup sees 12 valid bits. Codes longer than the 12-bit
//! table have all-zero entries: a lookup that meets one stores nothing useful, advances nothing and
//! consumes nothing, so the lane stalls harmlessly until the end of the iteration, where (seen in the
//! iteration's last entry) the long code is decoded once if 15 valid bits remain (otherwise in the
//! next iteration).
//!
//! Pointer arithmetic uses `wrapping_add`, so only the reads and writes themselves are `unsafe`.
//! The tests decode every chunk size around these limits and fuzzing feeds corrupt streams.

#![allow(
    unsafe_code,
    reason = "bounds-check-free hot loop; bounds proven per batch, see module docs"
)]

use super::drive::ScalarTables;
use super::lane::Lane;
use super::reader::StreamReader;
use super::table::{MAX_CODES_PER_ENTRY, TABLE_BITS, entry_codes, entry_shift, table_index};
use crate::MAX_CODE_LENGTH;

/// Bytes read by a reload (and written by a lookup).
const STORE_BYTES: usize = 8;

/// Marks the end of the valid bits of a lane's window.
const SENTINEL: u64 = 1 << 63;

/// Table lookups per window reload: each consumes at most `TABLE_BITS` bits.
const LOOKUPS: usize = 4;
const _: () = assert!(
    4 * TABLE_BITS <= 56 && LOOKUPS == 4,
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
    /// `read_pos` is where the lane's window is loaded from, `pos` where it writes next in a slice of
    /// `out_len` elements that must receive at most `limit` codes; a store covers `per_store`
    /// elements.
    fn new(
        chunk_len: usize,
        read_pos: usize,
        (out_len, per_store): (usize, usize),
        limit: usize,
        pos: usize,
    ) -> Self {
        let input = chunk_len.saturating_sub(read_pos.saturating_add(STORE_BYTES));
        let stores = out_len.saturating_sub(pos.saturating_add(per_store));
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
fn codes_per_iteration(tables: &ScalarTables, long: bool) -> usize {
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
    ($tables:ident, $buf:ident, $op:ident, $last:ident) => {{
        let entry = $tables.entries[table_index($buf)];
        $last = entry;
        // Codes first, then the entry's length and count bytes, which later stores overwrite (an
        // entry has at most 6 codes). A rotate needs no copy of `entry` with BMI2 (`rorx`).
        let data = entry.rotate_right(16).to_le();
        // SAFETY: `Room::iterations` left room for this 8-byte store (module docs, "output").
        unsafe { $op.cast::<u64>().write_unaligned(data) };
        $op = $op.wrapping_add(entry_codes(entry));
        // The low byte of an entry is its bit length (at most 12): the shift uses only that.
        $buf = $buf.wrapping_shr(entry_shift(entry));
    }};
}

/// Decodes a long code that stalled a lane, if 15 valid bits remain below the sentinel. A stalled
/// lane keeps meeting the same empty entry, so the iteration's last entry tells.
macro_rules! resolve_long {
    ($tables:ident, $buf:ident, $op:ident, $last:ident) => {{
        if entry_codes($last) == 0 && $buf.leading_zeros() <= 63 - u32::from(MAX_CODE_LENGTH) {
            let entry = $tables.long_entry($buf);
            let data = entry.rotate_right(16).to_le();
            // SAFETY: `Room::iterations` counts one long symbol per iteration (module docs).
            unsafe { $op.cast::<u64>().write_unaligned(data) };
            $op = $op.wrapping_add(entry_codes(entry));
            $buf = $buf.wrapping_shr(entry_shift(entry));
        }
    }};
}

/// Moves a lane's input pointer past the consumed whole bytes and reloads its window.
macro_rules! reload {
    ($buf:ident, $ip:expr) => {{
        let consumed = $buf.leading_zeros();
        let ip = $ip.wrapping_add((consumed >> 3) as usize);
        $ip = ip;
        // SAFETY: `Room::iterations` keeps 8 readable bytes at every reload (module docs, "input").
        let word = u64::from_le(unsafe { ip.cast::<u64>().read_unaligned() });
        $buf = (word | SENTINEL) >> (consumed & 7);
    }};
}

/// The window of a lane whose next unread bit is `bit_position`; the caller checked that 8 bytes
/// can be read at `bit_position / 8`.
fn load_window(chunk: &[u8], bit_position: u64) -> u64 {
    let ip = usize::try_from(bit_position / 8).unwrap_or(usize::MAX);
    let mut word = [0u8; 8];
    if let Some(bytes) = chunk.get(ip..ip.saturating_add(8)) {
        word.copy_from_slice(bytes);
    }
    (u64::from_le_bytes(word) | SENTINEL) >> (bit_position % 8)
}

/// Byte index of the window of a lane at `bit_position`.
fn window_index(bit_position: u64) -> usize {
    usize::try_from(bit_position / 8).unwrap_or(usize::MAX)
}

/// Chunk bit position of a lane after a batch.
fn lane_bit_position(chunk: &[u8], ip: *const u8, buf: u64) -> u64 {
    (ip as usize - chunk.as_ptr() as usize) as u64 * 8 + u64::from(buf.leading_zeros())
}

/// Elements from `start` to `end` of one output slice.
fn elements_between<T>(start: *mut T, end: *mut T) -> usize {
    (end as usize - start as usize) / size_of::<T>()
}

/// Decodes four streams side by side, in proven-safe batches, until one of them is within a few
/// codes of `limits[k]` or within a few bytes of the end of the chunk. `pos[k]` is where stream `k`
/// continues in `outs[k]`; no lane writes more than `limits[k]` codes (but its stores may touch up
/// to 8 bytes past the last code, inside `outs[k]`).
pub(super) fn decode4<T: Lane>(
    tables: &ScalarTables,
    chunk: &[u8],
    readers: &mut [StreamReader; 4],
    outs: [&mut [T]; 4],
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
fn decode4_any<T: Lane>(
    tables: &ScalarTables,
    chunk: &[u8],
    readers: &mut [StreamReader; 4],
    outs: [&mut [T]; 4],
    limits: [usize; 4],
    pos: &mut [usize; 4],
) {
    if tables.has_long_codes() {
        decode4_with::<T, true>(tables, chunk, readers, outs, limits, pos);
    } else {
        decode4_with::<T, false>(tables, chunk, readers, outs, limits, pos);
    }
}

#[inline(always)]
fn decode4_with<T: Lane, const LONG: bool>(
    tables: &ScalarTables,
    chunk: &[u8],
    readers: &mut [StreamReader; 4],
    outs: [&mut [T]; 4],
    limits: [usize; 4],
    pos: &mut [usize; 4],
) {
    let per_iteration = codes_per_iteration(tables, LONG);
    loop {
        let bits: [u64; 4] = std::array::from_fn(|k| readers[k].bit_position());
        let room = (0..4)
            .map(|k| {
                let read_pos = window_index(bits[k]);
                let out = (outs[k].len(), T::PER_STORE);
                Room::new(chunk.len(), read_pos, out, limits[k], pos[k])
            })
            .reduce(Room::min);
        let iterations = room.map_or(0, |room| room.iterations(per_iteration));
        if iterations == 0 {
            return;
        }
        let mut bufs = bits.map(|bits| load_window(chunk, bits));
        let mut ips = bits.map(|bits| chunk.as_ptr().wrapping_add(window_index(bits)));
        let starts: [*mut T; 4] =
            std::array::from_fn(|k| outs[k].as_mut_ptr().wrapping_add(pos[k]));
        let mut ops = starts;
        batch4::<T, LONG>(tables, &mut bufs, &mut ips, &mut ops, iterations);
        for k in 0..4 {
            readers[k].seek(chunk, lane_bit_position(chunk, ips[k], bufs[k]));
            pos[k] += elements_between(starts[k], ops[k]);
        }
    }
}

#[inline(always)]
fn batch4<T: Lane, const LONG: bool>(
    tables: &ScalarTables,
    bufs: &mut [u64; 4],
    ips: &mut [*const u8; 4],
    ops: &mut [*mut T; 4],
    iterations: usize,
) {
    let [mut b0, mut b1, mut b2, mut b3] = *bufs;
    let [mut o0, mut o1, mut o2, mut o3] = *ops;
    // Opaque to the optimizer, so the pointers stay in memory instead of taking registers.
    let ips = std::hint::black_box(ips);
    let (mut e0, mut e1, mut e2, mut e3) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..iterations {
        for _ in 0..LOOKUPS {
            lookup!(tables, b0, o0, e0);
            lookup!(tables, b1, o1, e1);
            lookup!(tables, b2, o2, e2);
            lookup!(tables, b3, o3, e3);
        }
        if LONG {
            resolve_long!(tables, b0, o0, e0);
            resolve_long!(tables, b1, o1, e1);
            resolve_long!(tables, b2, o2, e2);
            resolve_long!(tables, b3, o3, e3);
        }
        reload!(b0, ips[0]);
        reload!(b1, ips[1]);
        reload!(b2, ips[2]);
        reload!(b3, ips[3]);
    }
    *bufs = [b0, b1, b2, b3];
    *ops = [o0, o1, o2, o3];
}

/// Single-stream version of [`decode4`] for the streams left over when another one stopped.
pub(super) fn decode1<T: Lane>(
    tables: &ScalarTables,
    chunk: &[u8],
    reader: &mut StreamReader,
    out: &mut [T],
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
fn decode1_any<T: Lane>(
    tables: &ScalarTables,
    chunk: &[u8],
    reader: &mut StreamReader,
    out: &mut [T],
    limit: usize,
    pos: &mut usize,
) {
    if tables.has_long_codes() {
        decode1_with::<T, true>(tables, chunk, reader, out, limit, pos);
    } else {
        decode1_with::<T, false>(tables, chunk, reader, out, limit, pos);
    }
}

#[inline(always)]
fn decode1_with<T: Lane, const LONG: bool>(
    tables: &ScalarTables,
    chunk: &[u8],
    reader: &mut StreamReader,
    out: &mut [T],
    limit: usize,
    pos: &mut usize,
) {
    let per_iteration = codes_per_iteration(tables, LONG);
    loop {
        let bits = reader.bit_position();
        let out_room = (out.len(), T::PER_STORE);
        let room = Room::new(chunk.len(), window_index(bits), out_room, limit, *pos);
        let iterations = room.iterations(per_iteration);
        if iterations == 0 {
            return;
        }
        let mut buf = load_window(chunk, bits);
        let mut ip = chunk.as_ptr().wrapping_add(window_index(bits));
        let start = out.as_mut_ptr().wrapping_add(*pos);
        let mut op = start;
        let mut last = 0u64;
        for _ in 0..iterations {
            for _ in 0..LOOKUPS {
                lookup!(tables, buf, op, last);
            }
            if LONG {
                resolve_long!(tables, buf, op, last);
            }
            reload!(buf, ip);
        }
        reader.seek(chunk, lane_bit_position(chunk, ip, buf));
        *pos += elements_between(start, op);
    }
}

/// The same loops compiled with BMI1, BMI2 and LZCNT (`shrx`, `rorx`, `lzcnt`: fewer instructions
/// and no pinned shift register), used when the CPU has them.
#[cfg(target_arch = "x86_64")]
mod bmi2 {
    use super::{Lane, ScalarTables, StreamReader, decode1_any, decode4_any};

    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("lzcnt")
    }

    #[target_feature(enable = "bmi1,bmi2,lzcnt")]
    pub(super) fn decode4<T: Lane>(
        tables: &ScalarTables,
        chunk: &[u8],
        readers: &mut [StreamReader; 4],
        outs: [&mut [T]; 4],
        limits: [usize; 4],
        pos: &mut [usize; 4],
    ) {
        decode4_any(tables, chunk, readers, outs, limits, pos);
    }

    #[target_feature(enable = "bmi1,bmi2,lzcnt")]
    pub(super) fn decode1<T: Lane>(
        tables: &ScalarTables,
        chunk: &[u8],
        reader: &mut StreamReader,
        out: &mut [T],
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
            Room::new(chunk_len, read_pos, (out_len, 8), limit, pos).iterations(per_iteration)
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
        let a = Room::new(100, 0, (big, 8), big, 0);
        let b = Room::new(big, 0, (32, 8), big, 0);
        assert_eq!(a.min(b).iterations(24), 1);
        // 16-bit elements: a store covers four of them.
        assert_eq!(Room::new(big, 0, (16, 4), big, 0).iterations(12), 1);
        assert_eq!(Room::new(big, 0, (15, 4), big, 0).iterations(12), 0);
    }
}
