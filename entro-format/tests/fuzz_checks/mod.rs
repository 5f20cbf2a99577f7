//! The check behind the `format_parse` fuzz target.
//!
//! `fuzz/fuzz_targets/format_parse.rs` includes this file with `#[path]`, and
//! `tests/fuzz_regressions.rs` replays the committed corpus
//! (`fuzz/corpus/format_parse/seed-*` and `regressions/*`) through the same
//! function, so CI covers every input fuzzing found on stable Rust.

#![allow(
    dead_code,
    reason = "the test binary and the fuzz target use different parts"
)]

use entro_format::{
    ALIGNMENT, EntroFile, Error, FOOTER_LEN, TensorEncoding, TensorEntry, lossless,
};
use entro_huffman::DecodeTable;

/// Most codes one input may make the check decode, so that a small input
/// declaring huge tensors cannot make it allocate or spin for long.
pub(crate) const MAX_DECODE_CODES: u64 = 1 << 20;

/// What an input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseOutcome {
    /// [`EntroFile::from_bytes`] rejected it.
    Rejected,
    /// It opened; at least one payload checksum or chunk failed.
    Damaged,
    /// It opened and every checksum and chunk (within the budget) was good.
    Intact,
}

/// Arbitrary bytes as a `.entro` file: open (full validation), check what the
/// reader promises about an accepted file, verify every checksum, and decode
/// every chunk whose checksum holds. Must never panic, hang or allocate hugely.
///
/// The input is checked twice: as it is, and with the footer's header
/// checksum recomputed. Random mutations almost never keep the header
/// checksum right, so the second pass is what lets a fuzzer reach the record
/// parser. The outcome returned is that of the input as it is.
pub(crate) fn format_parse(data: &[u8]) -> ParseOutcome {
    if let Some(fixed) = with_header_checksum_fixed(data) {
        check(&fixed);
    }
    check(data)
}

/// `data` with the footer's CRC-32C recomputed over the header range the
/// footer names, if that range lies in the file.
fn with_header_checksum_fixed(data: &[u8]) -> Option<Vec<u8>> {
    let footer = data.len().checked_sub(FOOTER_LEN)?;
    let field = |at: usize| -> Option<usize> {
        let bytes: [u8; 8] = data.get(footer + at..footer + at + 8)?.try_into().ok()?;
        usize::try_from(u64::from_le_bytes(bytes)).ok()
    };
    let (offset, len) = (field(0)?, field(8)?);
    let header = data.get(offset..offset.checked_add(len)?)?;
    let mut fixed = data.to_vec();
    fixed[footer + 16..footer + 20].copy_from_slice(&crc32c::crc32c(header).to_le_bytes());
    Some(fixed)
}

fn check(data: &[u8]) -> ParseOutcome {
    let Ok(file) = EntroFile::from_bytes(data) else {
        return ParseOutcome::Rejected;
    };
    let layout = file.layout();
    assert_eq!(layout.file_len, data.len() as u64);
    assert_eq!(
        layout.overhead_bytes() + layout.payload_bytes,
        layout.file_len
    );
    let mut damaged = false;
    let mut budget = MAX_DECODE_CODES;
    let mut end = 0;
    for entry in file.tensors() {
        assert_eq!(entry.payload_offset() % ALIGNMENT, 0);
        assert!(entry.payload_offset() >= end, "payloads overlap");
        end = entry.payload_offset() + entry.payload_len();
        assert!(end <= layout.header_offset);
        let payload = file
            .payload(entry)
            .expect("an accepted entry's payload is in bounds");
        assert_eq!(payload.len() as u64, entry.payload_len());
        match entry.encoding() {
            TensorEncoding::Raw { .. } => match file.read_raw(entry) {
                Ok(bytes) => assert_eq!(Some(bytes.len() as u64), entry.original_byte_len()),
                Err(Error::ChecksumMismatch { .. }) => damaged = true,
                Err(other) => panic!("read_raw: unexpected {other}"),
            },
            TensorEncoding::Quantized(quantized) => {
                let table = DecodeTable::new(quantized.codebook());
                let mut next_code = 0;
                for (index, chunk) in quantized.chunks().iter().enumerate() {
                    assert_eq!(chunk.first_code, next_code);
                    next_code += u64::from(chunk.codes);
                    let bytes = file
                        .chunk_bytes(entry, index)
                        .expect("chunks lie in the payload");
                    assert_eq!(bytes.len(), chunk.len as usize);
                    match file.verify_chunk(entry, index) {
                        Ok(()) => {}
                        Err(Error::ChecksumMismatch { .. }) => {
                            damaged = true;
                            continue;
                        }
                        Err(other) => panic!("verify_chunk: unexpected {other}"),
                    }
                    let codes = u64::from(chunk.codes);
                    if codes > budget {
                        continue;
                    }
                    budget -= codes;
                    let mut out = vec![0u8; chunk.codes as usize];
                    if table.decode_chunk(index, bytes, &mut out).is_err() {
                        damaged = true;
                        continue;
                    }
                    // Chunks of an accepted file lie inside their tensor.
                    entry
                        .restore_codes(chunk.first_code, &mut out)
                        .expect("restoring an accepted chunk's codes");
                }
                assert_eq!(next_code, entry.elements());
            }
            TensorEncoding::Lossless(_) => {
                damaged |= check_lossless(&file, entry, &mut budget);
            }
            _ => panic!("an accepted file has only known encodings"),
        }
    }
    if damaged {
        ParseOutcome::Damaged
    } else {
        ParseOutcome::Intact
    }
}

/// Verifies and (within `budget` elements) decodes every chunk of a lossless
/// tensor; returns whether any was damaged.
fn check_lossless(file: &EntroFile, entry: &TensorEntry, budget: &mut u64) -> bool {
    let info = entry.lossless().expect("a lossless entry");
    let element_bytes = info.layout().element_bytes();
    assert_eq!(
        entry.dtype().float_layout(),
        Some(info.layout()),
        "the layout follows the dtype"
    );
    let mut damaged = false;
    let mut next = 0;
    for (index, chunk) in info.chunks().iter().enumerate() {
        assert_eq!(chunk.first_code, next);
        next += u64::from(chunk.codes);
        assert!(chunk.codes >= 1 && chunk.codes <= info.chunk_elements());
        let bytes = file
            .chunk_bytes(entry, index)
            .expect("chunks lie in the payload");
        assert_eq!(bytes.len(), chunk.len as usize);
        match file.verify_chunk(entry, index) {
            Ok(()) => {}
            Err(Error::ChecksumMismatch { .. }) => {
                damaged = true;
                continue;
            }
            Err(other) => panic!("verify_chunk: unexpected {other}"),
        }
        let elements = u64::from(chunk.codes);
        if elements > *budget {
            continue;
        }
        *budget -= elements;
        let mut out = vec![0u8; chunk.codes as usize * element_bytes];
        if lossless::decode_chunk(info.layout(), bytes, &mut out).is_err() {
            damaged = true;
        }
    }
    assert_eq!(next, entry.elements());
    damaged
}
