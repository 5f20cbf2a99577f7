//! The hot loops: table lookups with unconditional 8-byte stores.
//!
//! Each lookup stores all six code bytes of its entry (plus two zero bytes) at the output position and
//! then advances by the entry's code count, so there is no per-symbol branch. The store must fit in
//! the output slice; when it would not, the loop stops and leaves the rest to the exact tail decoder.
//! A slice of length `n` therefore never receives more than `n - 2` codes here, which lets callers
//! bound the number of codes decoded by the slice length they pass.
//!
//! The loops also stop at an empty entry (the prefix of a code longer than the table); the caller
//! decodes that one symbol and calls them again.
//!
//! The table is a fixed-size array reference, so indexing with `buf & (TABLE_SIZE - 1)` needs no
//! bounds check.

use super::reader::StreamReader;
use super::table::{Entries, TABLE_BITS, TABLE_SIZE, entry_bits, entry_codes};

/// Bytes written by one lookup.
pub(super) const STORE_BYTES: usize = 8;

/// How many lookups one refill (at least 56 valid bits) pays for: each consumes at most
/// `TABLE_BITS` bits.
const LOOKUPS_PER_REFILL: usize = (56 / TABLE_BITS) as usize;

/// One lookup; false (and nothing changed) at a long code or if the store would not fit in `out`.
#[inline(always)]
fn step(table: &Entries, reader: &mut StreamReader, out: &mut [u8], pos: &mut usize) -> bool {
    let entry = table[(reader.buf as usize) & (TABLE_SIZE - 1)];
    if entry_codes(entry) == 0 {
        return false;
    }
    let Some(dst) = out.get_mut(*pos..*pos + STORE_BYTES) else {
        return false;
    };
    dst.copy_from_slice(&(entry >> 16).to_le_bytes());
    *pos += entry_codes(entry);
    reader.consume(entry_bits(entry));
    true
}

/// Decodes four streams side by side until one of them runs out of output room, meets a long code
/// or gets within eight bytes of the end of the chunk. `pos[k]` is where stream `k` continues in
/// `outs[k]`.
#[inline(never)]
pub(super) fn decode4(
    table: &Entries,
    chunk: &[u8],
    readers: &mut [StreamReader; 4],
    outs: [&mut [u8]; 4],
    pos: &mut [usize; 4],
) {
    // Local copies keep the state in registers: the byte stores could otherwise alias it.
    let [mut r0, mut r1, mut r2, mut r3] = readers.clone();
    let [o0, o1, o2, o3] = outs;
    let [mut p0, mut p1, mut p2, mut p3] = *pos;
    'outer: loop {
        if !(r0.refill_fast(chunk)
            && r1.refill_fast(chunk)
            && r2.refill_fast(chunk)
            && r3.refill_fast(chunk))
        {
            break;
        }
        for _ in 0..LOOKUPS_PER_REFILL {
            if !(step(table, &mut r0, o0, &mut p0)
                && step(table, &mut r1, o1, &mut p1)
                && step(table, &mut r2, o2, &mut p2)
                && step(table, &mut r3, o3, &mut p3))
            {
                break 'outer;
            }
        }
    }
    *readers = [r0, r1, r2, r3];
    *pos = [p0, p1, p2, p3];
}

/// Single-stream version of [`decode4`] for the streams left over when another one stopped.
#[inline(never)]
pub(super) fn decode1(
    table: &Entries,
    chunk: &[u8],
    reader: &mut StreamReader,
    out: &mut [u8],
    pos: &mut usize,
) {
    let mut local = reader.clone();
    let mut p = *pos;
    'outer: while local.refill_fast(chunk) {
        for _ in 0..LOOKUPS_PER_REFILL {
            if !step(table, &mut local, out, &mut p) {
                break 'outer;
            }
        }
    }
    *reader = local;
    *pos = p;
}
