//! Every built code is complete and within its limit; corrupt codebooks and bitstreams give the
//! exact error variant (never a panic).

use entro_huffman::{
    Alphabet, Codebook, CodebookError, DecodeError, DecodeTable, Histogram, MAX_CODE_LENGTH, encode,
};
use proptest::prelude::*;

/// Kraft sum scaled by `2^MAX_CODE_LENGTH`.
fn kraft_scaled(codebook: &Codebook) -> u64 {
    codebook
        .lengths()
        .iter()
        .filter(|&&len| len > 0)
        .map(|&len| 1u64 << (MAX_CODE_LENGTH - len))
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_built_code_is_complete_and_within_its_limit(
        counts in prop::collection::vec(
            prop_oneof![3 => Just(0u64), 3 => 1u64..100, 2 => 0u64..u64::MAX / 512, 1 => Just(u64::MAX / 256)],
            256,
        ),
        max_len in 1u8..=MAX_CODE_LENGTH,
    ) {
        let mut array = [0u64; 256];
        array.copy_from_slice(&counts);
        let histogram = Histogram::from_counts(array);
        let used = histogram.distinct();
        match Codebook::from_histogram(&histogram, Alphabet::Bytes, max_len) {
            Ok(codebook) => {
                prop_assert!(codebook.lengths().iter().all(|&len| len <= max_len));
                if used == 0 {
                    prop_assert!(codebook.is_empty());
                } else {
                    prop_assert_eq!(kraft_scaled(&codebook), 1u64 << MAX_CODE_LENGTH);
                    // Every used symbol has a code.
                    for (count, len) in histogram.counts().iter().zip(codebook.lengths()) {
                        prop_assert!(*count == 0 || *len > 0);
                    }
                }
            }
            Err(err) => {
                prop_assert!(used > 1usize << max_len, "unexpected {err:?}");
            }
        }
    }

    #[test]
    fn codebook_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok((codebook, used)) = Codebook::from_bytes(&bytes) {
            prop_assert!(used <= bytes.len());
            prop_assert!(codebook.is_empty() || kraft_scaled(&codebook) == 1 << MAX_CODE_LENGTH);
        }
    }

    #[test]
    fn decoder_never_panics_on_flipped_bits(
        seed in any::<u64>(),
        flips in prop::collection::vec(any::<u32>(), 1..8),
        cut in any::<u16>(),
    ) {
        let codes: Vec<u8> = (0..3000u64).map(|i| (((i * 2654435761) ^ seed) % 23) as u8 % 16).collect();
        for alphabet in [Alphabet::Bytes, Alphabet::NibblePairs] {
            let codebook = Codebook::build(&codes, alphabet, 11).unwrap();
            let mut data = Vec::new();
            let chunks = encode(&codes, &codebook, 1000, &mut data).unwrap();
            for &flip in &flips {
                let bit = flip as usize % (data.len() * 8);
                data[bit / 8] ^= 1 << (bit % 8);
            }
            let table = DecodeTable::new(&codebook);
            let info = chunks[1];
            let start = usize::try_from(info.offset).unwrap();
            let end = (start + info.len as usize).min(start + 1 + usize::from(cut) % info.len as usize);
            let mut out = vec![0u8; info.codes as usize];
            // Ok (a flip can map to other valid codes) or an error naming chunk 1.
            if let Err(err) = table.decode_chunk(1, &data[start..end], &mut out) {
                prop_assert!(format!("{err}").starts_with("chunk 1:"), "{err}");
            }
            let mut mapped = vec![0f32; info.codes as usize];
            let _ = table.decode_chunk_mapped(1, &data[start..end], &[1.0; 256], &mut mapped);
        }
    }
}

fn sample() -> (Codebook, Vec<u8>, Vec<u8>) {
    let codes: Vec<u8> = (0..4000u32).map(|i| (i * i % 37) as u8).collect();
    let codebook = Codebook::build(&codes, Alphabet::Bytes, 11).unwrap();
    let mut data = Vec::new();
    let chunks = encode(&codes, &codebook, 4000, &mut data).unwrap();
    assert_eq!(chunks.len(), 1);
    (codebook, codes, data)
}

#[test]
fn truncated_header_is_reported() {
    let (codebook, codes, data) = sample();
    let table = DecodeTable::new(&codebook);
    let mut out = vec![0u8; codes.len()];
    let err = table.decode_chunk(5, &data[..11], &mut out).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::HeaderTruncated {
            chunk: 5,
            bit_offset: 88,
            needed: 12,
            found: 11
        }
    ));
}

#[test]
fn stream_lengths_past_the_chunk_are_reported() {
    let (codebook, codes, mut data) = sample();
    data[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut out = vec![0u8; codes.len()];
    let err = DecodeTable::new(&codebook)
        .decode_chunk(0, &data, &mut out)
        .unwrap_err();
    assert!(matches!(
        err,
        DecodeError::StreamLengthMismatch {
            chunk: 0,
            bit_offset: 96,
            ..
        }
    ));
}

#[test]
fn truncated_stream_is_an_overrun() {
    let (codebook, codes, data) = sample();
    let table = DecodeTable::new(&codebook);
    let mut out = vec![0u8; codes.len()];
    // Dropping the last byte shortens stream 3.
    let cut = &data[..data.len() - 1];
    let err = table.decode_chunk(0, cut, &mut out).unwrap_err();
    assert!(
        matches!(err, DecodeError::StreamOverrun { chunk: 0, stream: 3, bit_offset } if bit_offset == cut.len() as u64 * 8),
        "{err:?}"
    );
    // Shortening stream 0 by one byte (and moving the rest up) overruns it.
    let mut shifted = data.clone();
    let len0 = u32::from_le_bytes(shifted[0..4].try_into().unwrap());
    shifted[0..4].copy_from_slice(&(len0 - 1).to_le_bytes());
    shifted.remove(12 + len0 as usize - 1);
    let err = table.decode_chunk(0, &shifted, &mut out).unwrap_err();
    assert!(
        matches!(err, DecodeError::StreamOverrun { chunk: 0, stream: 0, bit_offset } if bit_offset == (12 + u64::from(len0) - 1) * 8),
        "{err:?}"
    );
}

#[test]
fn extra_bytes_and_dirty_padding_are_trailing_data() {
    let (codebook, codes, mut data) = sample();
    let table = DecodeTable::new(&codebook);
    let mut out = vec![0u8; codes.len()];
    let mut longer = data.clone();
    longer.push(0);
    let err = table.decode_chunk(0, &longer, &mut out).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::TrailingData {
                chunk: 0,
                stream: 3,
                ..
            }
        ),
        "{err:?}"
    );
    // Asking for fewer codes leaves data in every stream.
    let err = table.decode_chunk(0, &data, &mut out[..3000]).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::TrailingData {
                chunk: 0,
                stream: 0,
                ..
            }
        ),
        "{err:?}"
    );
    // Set the top bit of stream 3's last byte: it is either padding or part of the last code.
    let last = data.len() - 1;
    data[last] |= 0x80;
    match table.decode_chunk(0, &data, &mut out) {
        Err(DecodeError::TrailingData {
            chunk: 0,
            stream: 3,
            ..
        }) => {}
        Ok(()) => assert_ne!(out, codes, "a flipped code bit must change the output"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn codes_from_an_empty_codebook_are_an_error() {
    let codebook = Codebook::build(&[], Alphabet::Bytes, 11).unwrap();
    let table = DecodeTable::new(&codebook);
    let mut out = [0u8; 4];
    let err = table.decode_chunk(2, &[0; 12], &mut out).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::EmptyCodebook {
            chunk: 2,
            codes: 4,
            ..
        }
    ));
    table.decode_chunk(2, &[0; 12], &mut []).unwrap();
}

#[test]
fn bad_chunk_index_is_reported() {
    let (codebook, codes, _) = sample();
    let table = DecodeTable::new(&codebook);
    let mut data = Vec::new();
    let mut chunks = encode(&codes, &codebook, 1000, &mut data).unwrap();
    let mut out = vec![0u8; codes.len()];
    table.decode_chunks(&data, &chunks, &mut out).unwrap();
    assert!(matches!(
        table.decode_chunks(&data, &chunks, &mut out[1..]),
        Err(DecodeError::BadChunkIndex { chunk: 3, .. })
    ));
    assert!(matches!(
        table.decode_chunks(&data, &chunks[..3], &mut out),
        Err(DecodeError::BadChunkIndex { chunk: 3, .. })
    ));
    chunks[2].offset = u64::MAX;
    let err = table.decode_chunks(&data, &chunks, &mut out).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::BadChunkIndex {
            chunk: 2,
            bit_offset: u64::MAX,
            ..
        }
    ));
}

#[test]
fn corrupt_codebook_bytes_give_exact_variants() {
    let codebook = Codebook::build(&[1, 2, 2, 3, 3, 3, 3], Alphabet::Bytes, 11).unwrap();
    let mut bytes = Vec::new();
    codebook.to_bytes(&mut bytes);
    // Sparse layout: [header][count][(symbol, length)...]; lengths are 2, 2, 1.
    assert_eq!(bytes, [0x00, 3, 1, 2, 2, 2, 3, 1]);
    let mut over = bytes.clone();
    over[3] = 1;
    assert!(matches!(
        Codebook::from_bytes(&over),
        Err(CodebookError::OverSubscribed { .. })
    ));
    let mut incomplete = bytes.clone();
    incomplete[3] = 3;
    assert!(matches!(
        Codebook::from_bytes(&incomplete),
        Err(CodebookError::Incomplete { .. })
    ));
    let mut too_long = bytes.clone();
    too_long[3] = 200;
    assert!(matches!(
        Codebook::from_bytes(&too_long),
        Err(CodebookError::LengthOverLimit {
            symbol: 1,
            length: 200,
            limit: 15
        })
    ));
    assert!(matches!(
        Codebook::from_bytes(&bytes[..5]),
        Err(CodebookError::Truncated {
            needed: 8,
            found: 5
        })
    ));
}
