//! The checks behind the `huffman_decode` and `huffman_roundtrip` fuzz targets.
//!
//! The fuzz targets in `fuzz/fuzz_targets/` include this file with `#[path]`, and
//! `tests/fuzz_regressions.rs` replays the committed corpus (`fuzz/corpus/<target>/seed-*` and
//! `regressions/*`) through the very same functions, so CI covers every crash input on stable.
//! Inputs are plain bytes parsed by hand (no `arbitrary`), which keeps this leaf crate free of
//! extra dependencies and keeps corpus files readable with a hex dump.

#![allow(
    dead_code,
    reason = "the test binary and each fuzz target use a different subset"
)]

use entro_huffman::{
    Alphabet, BuildError, ChunkInfo, Codebook, DecodeTable, DecodeTable16, EncodeError,
    MAX_CHUNK_CODES, MAX_CODE_LENGTH, encode,
};

/// Most codes one `huffman_decode` input may ask for, so a fuzz input can never make the check
/// allocate more than a fixed amount (64 Ki codes of `u8` plus as many `u32`).
pub(crate) const MAX_DECODE_CODES: usize = 1 << 16;

/// What a `huffman_decode` input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeOutcome {
    /// The input has no usable codebook (too short, rejected by validation or the builder).
    NoCodebook,
    /// The decoder rejected the bitstream with an error.
    Rejected,
    /// The bitstream decoded; the output re-encodes to the same bytes.
    Decoded,
}

/// `huffman_decode`: arbitrary codebook and bitstream bytes into the decoder.
///
/// Layout: `flags`, `codes: u16 LE`, then either a serialized codebook (`flags & 1 == 0`) read by
/// [`Codebook::from_bytes`], or (`flags & 1 == 1`) a symbol count byte `n` and `n` symbols that
/// [`Codebook::build`] turns into a codebook with the alphabet of bit 1 and the length limit of bits
/// 4..8. Everything after the codebook is one chunk of `codes` codes.
///
/// The decoder must return `Ok` or `Err`, never panic or hang. When it succeeds, the fused mapped
/// decoder must agree with it, and re-encoding the output must give back the chunk byte for byte
/// (a chunk has exactly one valid encoding, so the decoder cannot accept garbage).
pub(crate) fn huffman_decode(data: &[u8]) -> DecodeOutcome {
    let Some((&flags, rest)) = data.split_first() else {
        return DecodeOutcome::NoCodebook;
    };
    let Some((count, rest)) = rest.split_first_chunk::<2>() else {
        return DecodeOutcome::NoCodebook;
    };
    let codes = usize::from(u16::from_le_bytes(*count)).min(MAX_DECODE_CODES);
    let Some((codebook, chunk)) = codebook_from_input(flags, rest) else {
        return DecodeOutcome::NoCodebook;
    };
    let table = DecodeTable::new(&codebook);
    assert_eq!(table.alphabet(), codebook.alphabet());

    let mut plain = vec![0u8; codes];
    let plain_result = table.decode_chunk(7, chunk, &mut plain);
    let lut = code_lut(|code| u32::from(code).wrapping_mul(0x9e37_79b9));
    let mut mapped = vec![0u32; codes];
    let mapped_result = table.decode_chunk_mapped(7, chunk, &lut, &mut mapped);
    assert_eq!(
        plain_result.is_ok(),
        mapped_result.is_ok(),
        "plain and mapped decoders disagree: {plain_result:?} vs {mapped_result:?}"
    );
    let values = code_lut(|code| u16::from(code).wrapping_mul(0x9e37) ^ 0x3c00);
    let mut direct = vec![0u16; codes];
    let direct_result = DecodeTable16::new(&codebook, &values).decode_chunk(7, chunk, &mut direct);
    assert_eq!(
        plain_result, direct_result,
        "plain and 16-bit decoders disagree"
    );
    if plain_result.is_ok() {
        for (index, (&code, &value)) in plain.iter().zip(&direct).enumerate() {
            assert_eq!(
                values[usize::from(code)],
                value,
                "16-bit output differs at code {index}"
            );
        }
    }
    if let Err(err) = plain_result {
        assert!(
            err.to_string().starts_with("chunk 7:"),
            "error does not name the chunk: {err}"
        );
        return DecodeOutcome::Rejected;
    }
    for (index, (&code, &value)) in plain.iter().zip(&mapped).enumerate() {
        assert_eq!(
            lut[usize::from(code)],
            value,
            "mapped output differs at code {index}"
        );
    }
    if codes > 0 && !(codebook.alphabet() == Alphabet::NibblePairs && codes % 2 == 1) {
        // With an odd nibble-pair count the padding code is dropped, so several chunks decode alike;
        // every other chunk must be the encoder's output for what it decodes to.
        let chunk_codes = codes + codes % 2;
        let mut again = Vec::new();
        let info = encode(&plain, &codebook, chunk_codes, &mut again)
            .expect("decoded codes must be encodable with the same codebook");
        assert_eq!(info.len(), 1);
        assert_eq!(
            again, chunk,
            "decoder accepted a chunk the encoder would not write"
        );
    }
    DecodeOutcome::Decoded
}

/// Reads the codebook part of a `huffman_decode` input; returns it and the chunk bytes after it.
fn codebook_from_input(flags: u8, rest: &[u8]) -> Option<(Codebook, &[u8])> {
    if flags & 1 == 0 {
        let (codebook, used) = Codebook::from_bytes(rest).ok()?;
        Some((codebook, rest.get(used..)?))
    } else {
        let (&count, rest) = rest.split_first()?;
        let symbols = rest.get(..usize::from(count))?;
        let alphabet = if flags & 2 == 0 {
            Alphabet::Bytes
        } else {
            Alphabet::NibblePairs
        };
        let codebook = Codebook::build(symbols, alphabet, flags >> 4).ok()?;
        Some((codebook, rest.get(usize::from(count)..)?))
    }
}

/// `huffman_roundtrip`: arbitrary symbols and chunk size; `decode(encode(x)) == x`.
///
/// Layout: `flags`, `max_len`, `chunk: u16 LE` (codes per chunk minus one), then the symbols.
/// Flags: bits 0..2 pick the alphabet (0 bytes, 1 nibble pairs, 2 and 3 [`Codebook::build_best`]
/// with 4 or 8 bits); bit 2 masks the symbols to 4 bits; bit 3 adds one more to the chunk size (so
/// both parities occur with any 16-bit field); bit 4 asks for chunks of 0 codes (a parameter error).
///
/// Builder and encoder errors must be exactly the ones the parameters call for; everything they
/// accept must decode, chunk by chunk and as a whole, to the input. Returns whether it round-tripped.
pub(crate) fn huffman_roundtrip(data: &[u8]) -> bool {
    let Some((header, symbols)) = data.split_first_chunk::<4>() else {
        return false;
    };
    let [flags, max_len, lo, hi] = *header;
    let masked: Vec<u8>;
    let symbols = if flags & 4 != 0 {
        masked = symbols.iter().map(|&s| s & 0x0f).collect();
        &masked[..]
    } else {
        symbols
    };
    let chunk_codes = if flags & 16 != 0 {
        0
    } else {
        usize::from(u16::from_le_bytes([lo, hi])) + 1 + usize::from(flags >> 3 & 1)
    };
    let Some(codebook) = build_checked(flags & 3, symbols, max_len) else {
        return false;
    };
    assert_complete(&codebook, max_len);

    let mut serialized = vec![0xa5];
    codebook.to_bytes(&mut serialized);
    assert_eq!(serialized.len() - 1, codebook.serialized_len());
    serialized.push(0x5a);
    let (read_back, used) =
        Codebook::from_bytes(&serialized[1..]).expect("own codebook must parse");
    assert_eq!(used, codebook.serialized_len());
    assert!(
        read_back == codebook,
        "codebook changed through serialization"
    );

    let mut stream = vec![0xee; 3];
    let chunks = match encode(symbols, &codebook, chunk_codes, &mut stream) {
        Ok(chunks) => chunks,
        Err(err) => {
            let pairs = codebook.alphabet() == Alphabet::NibblePairs;
            match err {
                EncodeError::ChunkCodesOutOfRange { .. } => {
                    assert!(chunk_codes == 0 || chunk_codes > MAX_CHUNK_CODES);
                }
                EncodeError::OddChunkForPairs { .. } => assert!(pairs && chunk_codes % 2 == 1),
                other => panic!("unexpected encode error {other:?} with chunk size {chunk_codes}"),
            }
            assert_eq!(
                stream, [0xee; 3],
                "a failed encode must leave the output alone"
            );
            return false;
        }
    };
    assert_chunk_table(&chunks, symbols.len(), chunk_codes, stream.len() - 3);

    let table = DecodeTable::new(&read_back);
    let data = &stream[3..];
    let mut whole = vec![0u8; symbols.len()];
    table
        .decode_chunks(data, &chunks, &mut whole)
        .expect("own stream must decode");
    assert_eq!(whole, symbols);
    for (index, info) in chunks.iter().enumerate() {
        let start = usize::try_from(info.offset).expect("offset fits");
        let bytes = &data[start..start + info.len as usize];
        let first = index * chunk_codes;
        let expected = &symbols[first..first + info.codes as usize];
        let lut = code_lut(|code| u16::from(code) + 1000);
        let mut mapped = vec![0u16; expected.len()];
        table
            .decode_chunk_mapped(index, bytes, &lut, &mut mapped)
            .expect("own chunk must decode");
        assert!(
            mapped
                .iter()
                .zip(expected)
                .all(|(&m, &c)| m == u16::from(c) + 1000)
        );
    }
    true
}

/// Builds a codebook the way `flags` says and checks that any error is the one the input calls for.
fn build_checked(choice: u8, symbols: &[u8], max_len: u8) -> Option<Codebook> {
    let result = match choice {
        0 => Codebook::build(symbols, Alphabet::Bytes, max_len),
        1 => Codebook::build(symbols, Alphabet::NibblePairs, max_len),
        2 => Codebook::build_best(symbols, 4, max_len),
        _ => Codebook::build_best(symbols, 8, max_len),
    };
    let err = match result {
        Ok(codebook) => return Some(codebook),
        Err(err) => err,
    };
    match err {
        BuildError::MaxLengthOutOfRange {
            max_len: got,
            limit,
        } => {
            assert_eq!((got, limit), (max_len, MAX_CODE_LENGTH));
            assert!(max_len == 0 || max_len > MAX_CODE_LENGTH);
        }
        BuildError::MaxLengthTooSmall {
            max_len: got,
            symbols: distinct,
        } => {
            assert_eq!(got, max_len);
            let room = 1usize.checked_shl(u32::from(max_len)).unwrap_or(usize::MAX);
            assert!(
                distinct > room,
                "{distinct} symbols fit in {max_len}-bit codes"
            );
        }
        BuildError::CodeOutOfRange { index, code } => {
            assert_eq!(choice, 1, "only explicit nibble pairs reject wide codes");
            assert_eq!(symbols.get(index), Some(&code));
            assert!(code >= 16 && symbols[..index].iter().all(|&s| s < 16));
        }
        other => panic!("unexpected build error {other:?}"),
    }
    None
}

/// Every built codebook is empty or a complete prefix code within its length limit.
fn assert_complete(codebook: &Codebook, max_len: u8) {
    let used: u64 = codebook
        .lengths()
        .iter()
        .filter(|&&len| len > 0)
        .map(|&len| 1u64 << (MAX_CODE_LENGTH - len))
        .sum();
    assert!(codebook.max_length() <= max_len);
    assert!(
        codebook.is_empty() || used == 1 << MAX_CODE_LENGTH,
        "kraft sum {used} is not complete"
    );
}

/// Chunks are contiguous, full but the last, and cover the input.
fn assert_chunk_table(chunks: &[ChunkInfo], codes: usize, chunk_codes: usize, bytes: usize) {
    assert_eq!(chunks.len(), codes.div_ceil(chunk_codes));
    let mut offset = 0u64;
    for (index, info) in chunks.iter().enumerate() {
        assert_eq!(info.offset, offset, "chunk {index} is not contiguous");
        offset += u64::from(info.len);
        let expected = chunk_codes.min(codes - index * chunk_codes);
        assert_eq!(info.codes as usize, expected, "chunk {index} code count");
    }
    assert_eq!(offset, bytes as u64);
}

/// A lookup table with `f(code)` for every code.
fn code_lut<T>(f: impl Fn(u8) -> T) -> [T; 256] {
    std::array::from_fn(|index| f(u8::try_from(index).unwrap_or(u8::MAX)))
}
