//! Damaged lossless chunks and misused lengths give the exact error, never a panic.

mod lossless_support;

use entro_format::lossless::{
    ChunkPlane, FloatLayout, LosslessError, LosslessErrorKind, MAX_CHUNK_ELEMENTS, decode_chunk,
    encode_chunk,
};
use entro_huffman::{CodebookError, DecodeError};
use lossless_support::{LAYOUTS, Rng, dequantized, weights};

/// A chunk of weight-like data (Huffman-coded exponent plane, raw low planes).
fn sample(layout: FloatLayout, count: usize) -> (Vec<u8>, Vec<u8>) {
    let data = weights(layout, count, 11);
    let mut chunk = Vec::new();
    encode_chunk(layout, &data, &mut chunk).unwrap();
    (data, chunk)
}

/// The error of a call that must fail (without printing a huge `Ok` value if it does not).
fn expect_error<T>(result: Result<T, LosslessError>) -> LosslessError {
    match result {
        Ok(_) => panic!("expected an error, the call succeeded"),
        Err(err) => err,
    }
}

fn decode(layout: FloatLayout, chunk: &[u8], elements: usize) -> Result<Vec<u8>, LosslessError> {
    let mut out = vec![0u8; elements * layout.element_bytes()];
    decode_chunk(layout, chunk, &mut out).map(|()| out)
}

#[test]
fn caller_misuse_is_a_parameter_error() {
    let mut out = Vec::new();
    let err = expect_error(encode_chunk(FloatLayout::F32, &[0; 6], &mut out));
    assert!(matches!(
        err,
        LosslessError::RaggedLength {
            len: 6,
            element_bytes: 4
        }
    ));
    assert_eq!(err.kind(), LosslessErrorKind::Parameter);
    assert!(matches!(
        encode_chunk(FloatLayout::BF16, &[], &mut out),
        Err(LosslessError::EmptyChunk)
    ));
    assert!(out.is_empty(), "a failed encode appends nothing");
    let (_, chunk) = sample(FloatLayout::BF16, 100);
    assert!(matches!(
        decode_chunk(FloatLayout::BF16, &chunk, &mut [0u8; 3]),
        Err(LosslessError::RaggedLength { len: 3, .. })
    ));
    assert!(matches!(
        decode_chunk(FloatLayout::BF16, &chunk, &mut []),
        Err(LosslessError::EmptyChunk)
    ));
}

#[test]
fn oversized_chunks_hit_the_limit() {
    let too_many = MAX_CHUNK_ELEMENTS + 1;
    let mut huge = vec![0u8; too_many * 2];
    let err = expect_error(decode_chunk(
        FloatLayout::F16,
        &[1, 1, 0, 0, 0, 0],
        &mut huge,
    ));
    assert!(
        matches!(err, LosslessError::TooManyElements { elements, max }
        if elements == too_many && max == MAX_CHUNK_ELEMENTS)
    );
    assert_eq!(err.kind(), LosslessErrorKind::Limit);
    let mut out = Vec::new();
    assert!(matches!(
        encode_chunk(FloatLayout::F16, &huge, &mut out),
        Err(LosslessError::TooManyElements { .. })
    ));
}

#[test]
fn header_fields_are_checked() {
    let (_, chunk) = sample(FloatLayout::BF16, 500);
    let mut bad = chunk.clone();
    bad[0] = 9;
    let err = expect_error(decode(FloatLayout::BF16, &bad, 500));
    assert!(matches!(
        err,
        LosslessError::UnknownChunkKind {
            offset: 0,
            found: 9
        }
    ));
    assert_eq!(err.kind(), LosslessErrorKind::Format);
    assert!(matches!(
        decode(FloatLayout::F16, &chunk, 500),
        Err(LosslessError::LayoutMismatch {
            offset: 1,
            expected: FloatLayout::F16,
            found: 2
        })
    ));
    assert!(matches!(
        decode(FloatLayout::BF16, &chunk, 499),
        Err(LosslessError::ElementCountMismatch {
            offset: 2,
            expected: 499,
            found: 500
        })
    ));
    assert!(matches!(
        decode(FloatLayout::BF16, &[], 1),
        Err(LosslessError::Truncated {
            offset: 0,
            needed: 1,
            found: 0
        })
    ));
}

#[test]
fn plane_damage_is_named() {
    // BF16 weights, no block on a grid: header (6 bytes), block kinds plane constant 0 (bytes 6
    // and 7), then the plain section: k (8), window base (9), escape count (10..14), exponent
    // plane, Huffman-coded (mode at 14, codebook from 15).
    let (_, chunk) = sample(FloatLayout::BF16, 2000);
    assert_eq!(
        chunk[6..8],
        [1, 0],
        "no block of ordinary weights lies on a grid"
    );
    assert_eq!(
        chunk[14], 2,
        "the exponent plane of weights is Huffman-coded"
    );
    let corrupt = |at: usize, value: u8| {
        let mut bad = chunk.clone();
        bad[at] = value;
        expect_error(decode(FloatLayout::BF16, &bad, 2000))
    };
    assert!(matches!(
        corrupt(7, 5),
        LosslessError::InvalidField {
            offset: 6,
            what: "block kind",
            found: 5,
            ..
        }
    ));
    assert!(matches!(
        corrupt(8, 8),
        LosslessError::InvalidField {
            offset: 8,
            found: 8,
            ..
        }
    ));
    assert!(matches!(
        corrupt(13, 0x80),
        LosslessError::InvalidField {
            offset: 10,
            what: "escape count",
            ..
        }
    ));
    assert!(matches!(
        corrupt(14, 4),
        LosslessError::UnknownPlaneMode {
            offset: 14,
            plane: ChunkPlane::Top(0),
            found: 4
        }
    ));
    assert!(matches!(
        corrupt(15, 0x0f),
        LosslessError::Codebook {
            offset: 15,
            plane: ChunkPlane::Top(0),
            source: CodebookError::UnknownAlphabet { tag: 15 }
        }
    ));
    let mut longer = chunk.clone();
    longer.push(0);
    assert!(matches!(
        decode(FloatLayout::BF16, &longer, 2000),
        Err(LosslessError::TrailingBytes { found: 1, offset }) if offset == chunk.len()
    ));
}

#[test]
fn damaged_huffman_streams_are_stream_errors() {
    // Zeroing the first stream-length field of the exponent plane's Huffman chunk makes its first
    // stream empty: the decoder runs out of bits or finds data left over.
    let (_, chunk) = sample(FloatLayout::F32, 3000);
    let codebook_len = entro_huffman::Codebook::from_bytes(&chunk[15..]).unwrap().1;
    let stream_at = 15 + codebook_len + 4;
    let mut bad = chunk.clone();
    bad[stream_at..stream_at + 4].fill(0);
    let err = expect_error(decode(FloatLayout::F32, &bad, 3000));
    assert!(
        matches!(
            err,
            LosslessError::Stream {
                plane: ChunkPlane::Top(0),
                source: DecodeError::StreamOverrun { .. } | DecodeError::TrailingData { .. },
                offset
            } if offset == stream_at
        ),
        "{err}"
    );
}

#[test]
fn damaged_grid_blocks_decode_or_error() {
    // Every block on a grid: damage to the parameters changes values but stays in bounds.
    for layout in LAYOUTS {
        let data = dequantized(layout, 20, 3);
        let mut chunk = Vec::new();
        encode_chunk(layout, &data, &mut chunk).unwrap();
        for index in 6..chunk.len() {
            for mask in [0x01u8, 0x40, 0xff] {
                let mut bad = chunk.clone();
                bad[index] ^= mask;
                let _ = decode(layout, &bad, 20 * 32);
            }
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    for layout in LAYOUTS {
        let (_, chunk) = sample(layout, 700);
        for cut in 0..chunk.len() {
            let err = expect_error(decode(layout, &chunk[..cut], 700));
            assert!(
                matches!(
                    err,
                    LosslessError::Truncated { .. }
                        | LosslessError::Codebook {
                            source: CodebookError::Truncated { .. },
                            ..
                        }
                ),
                "{layout:?} cut at {cut}: {err}"
            );
        }
    }
}

#[test]
fn every_byte_flip_decodes_or_errors() {
    let mut rng = Rng::new(5);
    for layout in LAYOUTS {
        for (count, grid) in [(1usize, false), (300, false), (96, true)] {
            let data = if grid {
                dequantized(layout, count / 32, 9)
            } else {
                weights(layout, count, 11)
            };
            let mut chunk = Vec::new();
            encode_chunk(layout, &data, &mut chunk).unwrap();
            let mut changed_outputs = 0;
            for index in 0..chunk.len() {
                for mask in [0x01u8, 0x80, 0xff, rng.byte() | 1] {
                    let mut bad = chunk.clone();
                    bad[index] ^= mask;
                    // Either outcome is fine; the container's checksums catch silent changes.
                    if let Ok(out) = decode(layout, &bad, count) {
                        changed_outputs += usize::from(out != data);
                    }
                }
            }
            // Raw planes change the output without an error: the test did reach the decoder.
            assert!(changed_outputs > 0 || count == 1, "{layout:?}");
        }
    }
}
