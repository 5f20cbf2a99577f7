//! Property tests: decode(encode(x)) == x for arbitrary streams, alphabets, limits and chunk sizes,
//! through every decode entry point.

use entro_huffman::{
    Alphabet, ChunkInfo, Codebook, DEFAULT_MAX_CODE_LENGTH, DecodeTable, DecodeTable16, Histogram,
    MAX_CODE_LENGTH, encode,
};
use proptest::prelude::*;

/// Decodes every chunk with both decoders and checks the result against `codes`.
fn assert_round_trip(codes: &[u8], codebook: &Codebook, chunk_codes: usize) {
    let mut data = vec![0xA5; 3]; // the encoder appends; offsets are relative to its start
    let chunks = encode(codes, codebook, chunk_codes, &mut data).expect("encode");
    let data = &data[3..];
    let expected_chunks = codes.len().div_ceil(chunk_codes);
    assert_eq!(chunks.len(), expected_chunks);

    // The codebook travels as bytes.
    let mut book = Vec::new();
    codebook.to_bytes(&mut book);
    let (read_back, used) = Codebook::from_bytes(&book).expect("codebook reads back");
    assert_eq!(used, book.len());
    assert_eq!(&read_back, codebook);
    let table = DecodeTable::new(&read_back);

    let mut out = vec![0xEE; codes.len()];
    table
        .decode_chunks(data, &chunks, &mut out)
        .expect("decode");
    assert_eq!(out, codes);

    // Each chunk alone, from its own bytes, in reverse order, also through the fused mapping.
    let lut: [u32; 256] = std::array::from_fn(|code| u32::try_from(code).unwrap() * 1000 + 7);
    let values: [u16; 256] =
        std::array::from_fn(|code| 0xfedc ^ u16::try_from(code * 257).unwrap());
    let wide = DecodeTable16::new(&read_back, &values);
    for (index, info) in chunks.iter().enumerate().rev() {
        let ChunkInfo {
            codes: count,
            offset,
            len,
        } = *info;
        let offset = usize::try_from(offset).unwrap();
        let bytes = &data[offset..offset + len as usize];
        let start = index * chunk_codes;
        let expected = &codes[start..start + count as usize];
        let mut single = vec![0u8; count as usize];
        table
            .decode_chunk(index, bytes, &mut single)
            .expect("chunk decodes alone");
        assert_eq!(single, expected);
        let mut mapped = vec![0u32; count as usize];
        table
            .decode_chunk_mapped(index, bytes, &lut, &mut mapped)
            .expect("mapped decode");
        let want: Vec<u32> = expected
            .iter()
            .map(|&code| lut[usize::from(code)])
            .collect();
        assert_eq!(mapped, want);
        let mut direct = vec![0u16; count as usize];
        wide.decode_chunk(index, bytes, &mut direct)
            .expect("16-bit decode");
        assert!(
            direct
                .iter()
                .zip(expected)
                .all(|(&v, &c)| v == values[usize::from(c)])
        );
    }
}

/// Streams with a tunable skew: a geometric-like distribution over `symbols` values.
fn skewed_codes(max_code: u8) -> impl Strategy<Value = Vec<u8>> {
    (1u32..=64, prop::collection::vec(any::<u32>(), 0..6000)).prop_map(move |(skew, raw)| {
        raw.into_iter()
            .map(|r| {
                let level = (r % 1024).pow(2) / (1024 * 1024 / (skew * 4)).max(1);
                u8::try_from(level.min(u32::from(max_code))).unwrap()
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn bytes_round_trip(
        codes in prop::collection::vec(any::<u8>(), 0..5000),
        chunk_codes in 1usize..3000,
        max_len in 8u8..=MAX_CODE_LENGTH,
    ) {
        let codebook = Codebook::build(&codes, Alphabet::Bytes, max_len).unwrap();
        assert_round_trip(&codes, &codebook, chunk_codes);
    }

    #[test]
    fn skewed_bytes_round_trip(
        codes in skewed_codes(255),
        chunk_codes in 1usize..20_000,
        max_len in 9u8..=MAX_CODE_LENGTH,
    ) {
        let codebook = Codebook::build(&codes, Alphabet::Bytes, max_len).unwrap();
        assert_round_trip(&codes, &codebook, chunk_codes);
    }

    #[test]
    fn nibble_pairs_round_trip(
        codes in skewed_codes(15),
        half_chunk in 1usize..4000,
        max_len in 8u8..=MAX_CODE_LENGTH,
    ) {
        let codebook = Codebook::build(&codes, Alphabet::NibblePairs, max_len).unwrap();
        assert_round_trip(&codes, &codebook, 2 * half_chunk);
    }

    #[test]
    fn best_alphabet_round_trips(codes in skewed_codes(15), chunk in 1usize..3000) {
        let codebook = Codebook::build_best(&codes, 4, DEFAULT_MAX_CODE_LENGTH).unwrap();
        let chunk_codes = if codebook.alphabet() == Alphabet::NibblePairs { 2 * chunk } else { chunk };
        assert_round_trip(&codes, &codebook, chunk_codes);
    }

    #[test]
    fn codebook_from_a_wider_histogram_round_trips(
        counts in prop::collection::vec(0u64..1_000_000, 256),
        codes in prop::collection::vec(any::<u8>(), 0..3000),
        chunk_codes in 1usize..5000,
    ) {
        // Every symbol that occurs gets a count so the codebook can code the stream.
        let mut all = [0u64; 256];
        for (slot, count) in all.iter_mut().zip(&counts) {
            *slot = *count;
        }
        for &code in &codes {
            all[usize::from(code)] += 1;
        }
        let codebook =
            Codebook::from_histogram(&Histogram::from_counts(all), Alphabet::Bytes, 12).unwrap();
        assert_round_trip(&codes, &codebook, chunk_codes);
    }
}

#[test]
fn degenerate_streams_round_trip() {
    let empty: [u8; 0] = [];
    for alphabet in [Alphabet::Bytes, Alphabet::NibblePairs] {
        let codebook = Codebook::build(&empty, alphabet, 11).unwrap();
        assert!(codebook.is_empty());
        assert_round_trip(&empty, &codebook, 64);
    }
    // One distinct symbol, odd and even lengths, both alphabets.
    for len in [1usize, 2, 7, 1000, 65_537] {
        let codes = vec![9u8; len];
        for alphabet in [Alphabet::Bytes, Alphabet::NibblePairs] {
            let codebook = Codebook::build(&codes, alphabet, 1).unwrap();
            assert_round_trip(&codes, &codebook, 4096);
        }
    }
    // All 256 symbols with the tightest possible limit.
    let all: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let codebook = Codebook::build(&all, Alphabet::Bytes, 8).unwrap();
    assert!(codebook.lengths().iter().all(|&len| len == 8));
    assert_round_trip(&all, &codebook, 333);
}

#[test]
fn extremely_skewed_counts_round_trip() {
    // One symbol a million times, every other symbol once: the dominant symbol gets 1 bit unless
    // the limit forces all 256 symbols to 8 bits.
    let mut codes = vec![0u8; 1_000_000];
    for symbol in 1..=255u8 {
        codes[usize::from(symbol) * 3901] = symbol;
    }
    for max_len in [8u8, 11, 15] {
        let codebook = Codebook::build(&codes, Alphabet::Bytes, max_len).unwrap();
        assert!(codebook.max_length() <= max_len);
        assert_eq!(codebook.lengths()[0], if max_len == 8 { 8 } else { 1 });
        assert_round_trip(&codes, &codebook, 1 << 16);
    }
    // The same with nibble pairs: 256 pair symbols, one dominant.
    let nibbles: Vec<u8> = codes.iter().map(|&code| code & 0x0f).collect();
    let codebook = Codebook::build(&nibbles, Alphabet::NibblePairs, 11).unwrap();
    assert_round_trip(&nibbles, &codebook, 1 << 16);
}

#[test]
fn codes_longer_than_the_table_round_trip() {
    // Fibonacci counts want codes of up to 19 bits; limits above the 12-bit table take the long path.
    let mut codes = Vec::new();
    let (mut a, mut b) = (1usize, 1usize);
    for symbol in 0..20u8 {
        codes.extend(std::iter::repeat_n(symbol, a));
        (a, b) = (b, a + b);
    }
    // Interleave so every chunk sees every length.
    let mut state = 12345u64;
    for i in (1..codes.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        codes.swap(i, usize::try_from(state >> 33).unwrap() % (i + 1));
    }
    for max_len in [12u8, 13, 14, 15] {
        let codebook = Codebook::build(&codes, Alphabet::Bytes, max_len).unwrap();
        assert_eq!(codebook.max_length(), max_len);
        assert_eq!(DecodeTable::new(&codebook).table_bits(), 12);
        assert_round_trip(&codes, &codebook, 10_000);
    }
}

/// `len` codes from `seed`, skewed like quantized weights around 128 (a few symbols get long codes
/// unless the limit cuts them).
fn seeded_codes(seed: u64, len: usize, skew: u32) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = u32::try_from(state >> 40).unwrap() % 1024;
            let offset = r.pow(2) / (1024 * 1024 / (skew * 4)).max(1);
            let signed = if state >> 39 & 1 == 0 {
                128 + offset
            } else {
                128u32.saturating_sub(offset)
            };
            u8::try_from(signed.min(255)).unwrap()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Chunks of 16 Ki codes and more with codes of at most 12 bits take the wide 64-stream layout,
    /// which the vector loop decodes where the CPU has it.
    #[test]
    fn wide_chunks_round_trip(
        seed in any::<u64>(),
        len in 16_384usize..90_000,
        chunk_codes in 16_000usize..40_000,
        max_len in 8u8..=12,
        skew in 1u32..=64,
    ) {
        let codes = seeded_codes(seed, len, skew);
        let codebook = Codebook::build(&codes, Alphabet::Bytes, max_len).unwrap();
        assert_round_trip(&codes, &codebook, chunk_codes);
    }
}
