//! The vector decoder for wide chunks: all 64 streams at once, sixteen per AVX-512 register.
//!
//! Each 32-bit lane of a register follows one stream. A round reloads every lane's window with one
//! gather (the four bytes at the lane's bit position, shifted by its bit offset within the byte,
//! leave at least 25 valid bits) and then decodes two codes of at most 12 bits with two gathers
//! from a 4096-entry table of one symbol each. Every lane writes one element per code, so where
//! each lane writes is known in advance: a block of rounds fills sixteen bytes per lane, which four
//! registers hold and a 4 x 4 transpose of 32-bit words turns into one 16-byte store per lane. The
//! streams interleave in rows of 16 codes per stream (`chunk::WideSplit`), so a block's 64 stores
//! fill one contiguous stretch of the output. Four registers (64 streams) are in flight, which hides
//! the gathers' latency. Each lane prefetches its next input bytes: 64 streams are more than the
//! hardware prefetchers follow. The output a few blocks ahead is prefetched too.
//!
//! # Why `unsafe`, and why it is sound
//! Gathers, loads and stores take raw pointers. [`blocks_in_bounds`] picks the number of blocks
//! before the loop runs, so that:
//! - input: a lane consumes at most 24 bits per round, so after `n` rounds it is at most `24 n`
//!   bits past its start `b`, and every window read (four bytes at byte `bit / 8`) lies inside the
//!   chunk when `b + 24 R <= 8 (len - 4)` for the `R` rounds of the call;
//! - table: an index is masked to 12 bits, and the table has `2^12` entries;
//! - output: a call writes only rows that lie inside the chunk's output (full rows, counted by the
//!   caller).
//!
//! Corrupt input can make a lane read another stream's bits, never memory outside the chunk; the
//! stream checks after the last code catch it as they do for the scalar loop. Every table entry
//! consumes at least one bit ([`WideTable::build`] refuses codebooks that would leave a gap).

#![allow(
    unsafe_code,
    reason = "gathers and stores need raw pointers; bounds proven per call, see module docs"
)]

use super::lane::Lane;
use super::reader::StreamReader;
use super::table::fill_by_code;
use crate::chunk::{WIDE_MAX_CODE_LENGTH, WIDE_STREAMS};
use crate::{Alphabet, Codebook};

/// Index bits of the vector table.
const WIDE_TABLE_BITS: u32 = WIDE_MAX_CODE_LENGTH as u32;

/// Entries of the vector table.
const WIDE_TABLE_SIZE: usize = 1 << WIDE_TABLE_BITS;

/// Bytes each lane writes per block.
#[cfg_attr(
    not(target_arch = "x86_64"),
    allow(dead_code, reason = "only the x86-64 vector loop uses it")
)]
const BLOCK_BYTES: usize = 16;

/// Most bits one round (two codes) consumes.
const ROUND_BITS: u64 = 2 * WIDE_MAX_CODE_LENGTH as u64;

/// One symbol per entry: bits 0..8 the code length, 16..32 the output element (a code, or a 16-bit
/// value).
#[derive(Clone)]
pub(super) struct WideTable {
    #[cfg_attr(
        not(target_arch = "x86_64"),
        allow(dead_code, reason = "only the x86-64 vector loop reads it")
    )]
    entries: Box<[u32; WIDE_TABLE_SIZE]>,
}

impl std::fmt::Debug for WideTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WideTable").finish_non_exhaustive()
    }
}

impl WideTable {
    /// The table for a byte codebook whose codes all fit 12 bits, when this CPU runs the vector
    /// loop; `None` otherwise (the scalar loops then decode wide chunks too).
    pub(super) fn build<T: Lane>(codebook: &Codebook, values: &[T; 256]) -> Option<Self> {
        if !available()
            || codebook.alphabet() != Alphabet::Bytes
            || !(1..=WIDE_MAX_CODE_LENGTH).contains(&codebook.max_length())
        {
            return None;
        }
        let mut entries = Box::new([0u32; WIDE_TABLE_SIZE]);
        fill_by_code(codebook, &mut entries[..], |symbol, len| {
            u32::from(len) | T::widen(values[usize::from(symbol)]) << 16
        });
        // Codebooks are complete prefix codes, so every entry consumes bits; checked anyway,
        // because a lane on an entry that consumes nothing would never advance.
        entries
            .iter()
            .all(|&entry| entry & 0xff != 0)
            .then_some(Self { entries })
    }
}

/// Whether this CPU has the vector loop's instructions.
fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Decodes the first `rows` full rows of a wide chunk (see `chunk::WideSplit`) into `out`, all 64
/// streams side by side, until the next block would read past the chunk; returns the codes each
/// stream decoded and leaves its reader after them. The scalar loops finish what is left.
pub(super) fn decode<T: Lane>(
    table: &WideTable,
    chunk: &[u8],
    readers: &mut [StreamReader],
    out: &mut [T],
    rows: usize,
) -> usize {
    // `WideTable::build` never succeeds elsewhere.
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (table, chunk, readers, out, rows);
        0
    }
    #[cfg(target_arch = "x86_64")]
    {
        let per_block = BLOCK_BYTES / size_of::<T>();
        let row = crate::chunk::ROW;
        let total_blocks = rows.saturating_mul(row / per_block / WIDE_STREAMS);
        if readers.len() != WIDE_STREAMS || out.len() < rows.saturating_mul(row) {
            return 0;
        }
        let mut done = 0;
        loop {
            let mut bits = [0u32; WIDE_STREAMS];
            for (bit, reader) in bits.iter_mut().zip(readers.iter()) {
                match u32::try_from(reader.bit_position()) {
                    Ok(position) => *bit = position,
                    Err(_) => return done * per_block,
                }
            }
            let blocks = blocks_in_bounds(chunk.len(), &bits, total_blocks - done, per_block);
            if blocks == 0 {
                return done * per_block;
            }
            // SAFETY: `blocks_in_bounds` keeps every read inside `chunk`, indices stay inside
            // the table, and blocks `done..done + blocks` of every lane lie inside the first
            // `rows` rows of `out` (module docs); `WideTable::build` checked that the CPU has
            // AVX-512F.
            unsafe {
                avx512::run(
                    &table.entries,
                    chunk.as_ptr(),
                    out.as_mut_ptr().cast::<u8>(),
                    &mut bits,
                    done..done + blocks,
                    size_of::<T>(),
                );
            }
            for (reader, &bit) in readers.iter_mut().zip(&bits) {
                reader.seek(chunk, u64::from(bit));
            }
            done += blocks;
        }
    }
}

#[cfg_attr(
    not(target_arch = "x86_64"),
    allow(dead_code, reason = "only the x86-64 vector loop and the tests use it")
)]
/// Blocks (of `per_block` elements per lane) every lane can run, at most `left`, with all its
/// reads inside a chunk of `chunk_len` bytes when the lanes are at bit positions `bits`.
fn blocks_in_bounds(
    chunk_len: usize,
    bits: &[u32; WIDE_STREAMS],
    left: usize,
    per_block: usize,
) -> usize {
    // Two elements per round.
    let rounds_per_block = (per_block / 2).max(1) as u64;
    let readable_bits = (chunk_len.saturating_sub(4) as u64).saturating_mul(8);
    let furthest = bits.iter().copied().max().map_or(0, u64::from);
    let rounds = readable_bits.saturating_sub(furthest) / ROUND_BITS;
    let by_input = usize::try_from(rounds / rounds_per_block).unwrap_or(usize::MAX);
    by_input.min(left)
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::{
        __m512i, _MM_HINT_T0, _mm_prefetch, _mm_storeu_si128, _mm512_add_epi32, _mm512_and_si512,
        _mm512_castsi512_si128, _mm512_extracti32x4_epi32, _mm512_i32gather_epi32,
        _mm512_loadu_si512, _mm512_or_si512, _mm512_set1_epi32, _mm512_setzero_si512,
        _mm512_slli_epi32, _mm512_srli_epi32, _mm512_srlv_epi32, _mm512_storeu_si512,
        _mm512_unpackhi_epi32, _mm512_unpackhi_epi64, _mm512_unpacklo_epi32, _mm512_unpacklo_epi64,
    };

    use std::ops::Range;

    use super::{BLOCK_BYTES, WIDE_STREAMS, WIDE_TABLE_SIZE};
    use crate::chunk::ROW;

    /// Registers of sixteen lanes.
    const GROUPS: usize = WIDE_STREAMS / 16;

    /// How far ahead of a lane its input is prefetched: the next cache line (longer distances
    /// measured slower).
    const PREFETCH_BYTES: usize = 64;

    /// Output bytes a block writes: sixteen per lane.
    const OUTPUT_BYTES_PER_BLOCK: usize = WIDE_STREAMS * BLOCK_BYTES;

    /// How far ahead of the block being written its output lines are prefetched (2 to 16 KiB
    /// measured alike, 1 KiB worse).
    const OUTPUT_PREFETCH_BYTES: usize = 4096;

    /// Runs blocks `blocks` of every lane; `element` is 1 (codes) or 2 (16-bit values).
    ///
    /// # Safety
    /// The CPU has AVX-512F; for every lane, the reads of those blocks from bit `bits[k]` stay
    /// inside the chunk at `chunk` (see `blocks_in_bounds`), and `out` holds at least the rows
    /// those blocks write (`ROW` elements of `element` bytes per `16 / element` blocks).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn run(
        table: &[u32; WIDE_TABLE_SIZE],
        chunk: *const u8,
        out: *mut u8,
        bits: &mut [u32; WIDE_STREAMS],
        blocks: Range<usize>,
        element: usize,
    ) {
        // SAFETY: forwarded from the caller.
        unsafe {
            if element == 1 {
                run_with::<1>(table, chunk, out, bits, blocks);
            } else {
                run_with::<2>(table, chunk, out, bits, blocks);
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn run_with<const ELEMENT: usize>(
        table: &[u32; WIDE_TABLE_SIZE],
        chunk: *const u8,
        out: *mut u8,
        bits: &mut [u32; WIDE_STREAMS],
        blocks: Range<usize>,
    ) {
        let entries = table.as_ptr().cast::<i32>();
        let input = chunk.cast::<i32>();
        let index_mask = _mm512_set1_epi32((1 << super::WIDE_TABLE_BITS) - 1);
        // Code lengths are at most 12: five bits of the length byte, which tells the compiler
        // that the variable shifts below stay under 32 (it adds a compare per shift otherwise).
        let length = _mm512_set1_epi32(0x1f);
        let byte_offset = _mm512_set1_epi32(7);
        let high_half = _mm512_set1_epi32(-65536);
        // SAFETY: `bits` holds 64 u32, four registers' worth.
        let mut position: [__m512i; GROUPS] = std::array::from_fn(|g| unsafe {
            _mm512_loadu_si512(bits.as_ptr().add(16 * g).cast())
        });
        let mut ahead = [0u32; WIDE_STREAMS];
        for block in blocks {
            // A piece (16 elements) of every lane is a row; a block is a piece of codes or half a
            // piece of 16-bit values. Lane `k` writes bytes `16 k ELEMENT ..` of its row.
            let row =
                out.wrapping_add(block / ELEMENT * ROW * ELEMENT + block % ELEMENT * BLOCK_BYTES);
            // Sixty-four streams are more than the hardware prefetchers follow; a gather that
            // misses the cache waits for its slowest lane, so each lane's next bytes are fetched
            // ahead, a few blocks before the lane gets there: every 16 codes of a lane.
            if ELEMENT == 1 || block % 2 == 0 {
                for (g, &register) in position.iter().enumerate() {
                    // SAFETY: `ahead` holds 64 u32.
                    unsafe {
                        _mm512_storeu_si512(ahead.as_mut_ptr().add(16 * g).cast(), register);
                    };
                }
                for &bit in &ahead {
                    let at = chunk.wrapping_add((bit >> 3) as usize + PREFETCH_BYTES);
                    // A prefetch never faults, whatever the address.
                    _mm_prefetch::<_MM_HINT_T0>(at.cast());
                }
            }

            // A block writes one kilobyte of output (its row, or half of each line of a row of
            // 16-bit values); the kilobyte a few blocks on is fetched for writing now, so that
            // the stores do not wait for their lines (without it, 16-bit output took 10 % longer
            // and codes 4 %). A plain prefetch: `prefetchw` needs a target feature Rust has not
            // stabilised.
            let next = out.wrapping_add(block * OUTPUT_BYTES_PER_BLOCK + OUTPUT_PREFETCH_BYTES);
            for line in 0..OUTPUT_BYTES_PER_BLOCK / 64 {
                // A prefetch never faults, whatever the address.
                _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(64 * line).cast_const().cast());
            }

            let mut words = [[_mm512_setzero_si512(); GROUPS]; 4];
            // Each 32-bit word of a lane holds 4 bytes of output: two rounds of codes, or one round
            // of 16-bit values.
            for word in &mut words {
                for round in 0..(2 / ELEMENT) {
                    let mut window = [_mm512_setzero_si512(); GROUPS];
                    for g in 0..GROUPS {
                        let byte = _mm512_srli_epi32::<3>(position[g]);
                        // SAFETY: byte offsets (bit / 8) and 4 bytes after them are inside the
                        // chunk (module docs, "input").
                        let raw = unsafe { _mm512_i32gather_epi32::<1>(byte, input) };
                        window[g] =
                            _mm512_srlv_epi32(raw, _mm512_and_si512(position[g], byte_offset));
                    }
                    let mut first = [_mm512_setzero_si512(); GROUPS];
                    for g in 0..GROUPS {
                        let index = _mm512_and_si512(window[g], index_mask);
                        // SAFETY: indices are masked to the table's 2^12 entries.
                        first[g] = unsafe { _mm512_i32gather_epi32::<4>(index, entries) };
                        let len = _mm512_and_si512(first[g], length);
                        window[g] = _mm512_srlv_epi32(window[g], len);
                        position[g] = _mm512_add_epi32(position[g], len);
                    }
                    for g in 0..GROUPS {
                        let index = _mm512_and_si512(window[g], index_mask);
                        // SAFETY: as above.
                        let second = unsafe { _mm512_i32gather_epi32::<4>(index, entries) };
                        position[g] =
                            _mm512_add_epi32(position[g], _mm512_and_si512(second, length));
                        let a = _mm512_srli_epi32::<16>(first[g]);
                        let pair = if ELEMENT == 1 {
                            let b = _mm512_slli_epi32::<8>(_mm512_srli_epi32::<16>(second));
                            let both = _mm512_or_si512(a, b);
                            if round == 0 {
                                both
                            } else {
                                _mm512_slli_epi32::<16>(both)
                            }
                        } else {
                            _mm512_or_si512(a, _mm512_and_si512(second, high_half))
                        };
                        word[g] = _mm512_or_si512(word[g], pair);
                    }
                }
            }
            let [first_words, second_words, third_words, fourth_words] = words;
            let groups = first_words
                .into_iter()
                .zip(second_words)
                .zip(third_words)
                .zip(fourth_words);
            for (g, (((w0, w1), w2), w3)) in groups.enumerate() {
                // 4 x 4 transpose of 32-bit words inside each 128-bit part: part `p` of
                // `transposed[x]` becomes lane `4 p + x`'s sixteen bytes, in output order.
                let (t0, t1) = (_mm512_unpacklo_epi32(w0, w1), _mm512_unpackhi_epi32(w0, w1));
                let (t2, t3) = (_mm512_unpacklo_epi32(w2, w3), _mm512_unpackhi_epi32(w2, w3));
                let transposed = [
                    _mm512_unpacklo_epi64(t0, t2),
                    _mm512_unpackhi_epi64(t0, t2),
                    _mm512_unpacklo_epi64(t1, t3),
                    _mm512_unpackhi_epi64(t1, t3),
                ];
                for (x, &lanes) in transposed.iter().enumerate() {
                    let parts = [
                        _mm512_castsi512_si128(lanes),
                        _mm512_extracti32x4_epi32::<1>(lanes),
                        _mm512_extracti32x4_epi32::<2>(lanes),
                        _mm512_extracti32x4_epi32::<3>(lanes),
                    ];
                    for (p, part) in parts.into_iter().enumerate() {
                        let lane = 16 * g + 4 * p + x;
                        let at = row.wrapping_add(lane * BLOCK_BYTES * ELEMENT);
                        // SAFETY: the block's row lies inside `out` (the caller's contract).
                        unsafe { _mm_storeu_si128(at.cast(), part) };
                    }
                }
            }
        }
        for (g, &register) in position.iter().enumerate() {
            // SAFETY: `bits` holds 64 u32.
            unsafe { _mm512_storeu_si512(bits.as_mut_ptr().add(16 * g).cast(), register) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_bounds_respect_the_input_and_the_rows_left() {
        let bits = [0u32; WIDE_STREAMS];
        let big = 1 << 20;
        // Codes: 8 rounds of at most 24 bits per block, reads end 4 bytes before the chunk's end.
        assert_eq!(blocks_in_bounds(4 + 24, &bits, big, 16), 1);
        assert_eq!(blocks_in_bounds(4 + 23, &bits, big, 16), 0);
        assert_eq!(blocks_in_bounds(4 + 240, &bits, big, 16), 10);
        // 16-bit values: 4 rounds per block.
        assert_eq!(blocks_in_bounds(4 + 24, &bits, big, 8), 2);
        // The furthest lane decides the input bound.
        let mut far = bits;
        far[63] = 8 * 24;
        assert_eq!(blocks_in_bounds(4 + 48, &far, big, 16), 1);
        assert_eq!(blocks_in_bounds(0, &bits, big, 16), 0);
        // Never more blocks than the rows hold.
        assert_eq!(blocks_in_bounds(big, &bits, 3, 16), 3);
    }
}

#[cfg(test)]
mod equivalence {
    use super::super::decode_lanes;
    use super::super::drive::Tables;
    use super::super::table::IDENTITY;
    use crate::chunk::{Layout, WIDE_MIN_CODES};
    use crate::{Alphabet, Codebook, encode};

    /// Codes around 128 with a spread that needs codes of up to about 12 bits.
    fn codes(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let r = (state >> 33) % 4096;
                let spread = (r * r) / (4096 * 4096 / 90);
                let sign = (state >> 20) & 1 == 0;
                u8::try_from(if sign { 128 + spread } else { 128 - spread }).unwrap()
            })
            .collect()
    }

    /// The tables with and without the vector loop.
    fn both(codebook: &Codebook) -> (Tables, Tables) {
        let vector = Tables::build(codebook, &IDENTITY).unwrap();
        let mut scalar = vector.clone();
        scalar.wide = None;
        (vector, scalar)
    }

    #[test]
    fn vector_and_scalar_loops_agree_on_valid_and_corrupt_chunks() {
        for (len, seed) in [
            (WIDE_MIN_CODES, 1),
            (65_536, 2),
            (65_536 + 77, 3),
            (100_003, 4),
        ] {
            let input = codes(len, seed);
            let codebook = Codebook::build(&input, Alphabet::Bytes, 12).unwrap();
            assert_eq!(Layout::of(&codebook, len), Layout::Wide);
            let (vector, scalar) = both(&codebook);
            if super::available() {
                assert!(vector.wide.is_some());
            }
            let mut chunk = Vec::new();
            encode(&input, &codebook, len, &mut chunk).unwrap();
            let decode = |tables: &Tables, chunk: &[u8]| {
                let mut out = vec![0u8; len];
                let result = decode_lanes(Alphabet::Bytes, Some(tables), 0, chunk, &mut out);
                (result, out)
            };
            let (result, out) = decode(&vector, &chunk);
            assert_eq!(result, Ok(()));
            assert_eq!(out, input);
            // Flipped bits, a truncated tail and a zeroed stretch: the vector loop stops and fails
            // exactly where the scalar one does.
            let mut state = seed;
            for trial in 0..40 {
                let mut bad = chunk.clone();
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(3);
                let at = usize::try_from(state >> 33).unwrap() % bad.len();
                match trial % 3 {
                    0 => bad[at] ^= 1 << (state % 8),
                    1 => bad.truncate(at),
                    _ => bad[at..(at + 64).min(chunk.len())].fill(0),
                }
                let (want, want_out) = decode(&scalar, &bad);
                let (got, got_out) = decode(&vector, &bad);
                assert_eq!(got, want, "len {len} trial {trial}");
                if want.is_ok() {
                    assert_eq!(got_out, want_out);
                }
            }
        }
    }

    #[test]
    fn single_symbol_chunks_round_trip() {
        let input = vec![9u8; WIDE_MIN_CODES];
        let codebook = Codebook::build(&input, Alphabet::Bytes, 12).unwrap();
        assert_eq!(Layout::of(&codebook, input.len()), Layout::Wide);
        let tables = Tables::build(&codebook, &IDENTITY).unwrap();
        let mut chunk = Vec::new();
        encode(&input, &codebook, input.len(), &mut chunk).unwrap();
        let mut out = vec![0u8; input.len()];
        decode_lanes(Alphabet::Bytes, Some(&tables), 0, &chunk, &mut out).unwrap();
        assert_eq!(out, input);
    }
}
