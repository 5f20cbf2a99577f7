//! Damaged files: a bad chunk is an error naming the tensor and the chunk, the same for every thread
//! count, and everything else is still decoded correctly.

mod common;

use common::{Built, build, decoders, quantized, raw_float, reference, same_bits, weights};
use entro_decode::{
    DecodeOptions, Decoder, Error, ErrorKind, OutputKind, Target, TensorOutput, TypedBuffer,
};
use entro_format::{Dtype, EntroFile, EntroWriter, FileMetadata, encode_quantized};
use entro_quant::{FloatSlice, QuantConfig, quantize};

/// Three quantized tensors of several chunks each, and a raw one.
fn model() -> Built {
    build(&[
        quantized(
            "model.embed_tokens.weight",
            &[40, 50],
            weights(1, 2000),
            8,
            256,
        ),
        quantized(
            "model.layers.0.mlp.up_proj.weight",
            &[30, 64],
            weights(2, 1920),
            4,
            300,
        ),
        quantized(
            "model.layers.0.mlp.down_proj.weight",
            &[64, 30],
            weights(3, 1920),
            6,
            500,
        ),
        raw_float("model.norm.weight", &[50], &weights(4, 50), Dtype::F32),
    ])
}

/// A copy of `file` with `edit` applied to the bytes of chunk `chunk` of tensor `tensor`.
fn damaged(file: &EntroFile, tensor: &str, chunk: usize, edit: impl Fn(&mut [u8])) -> EntroFile {
    let entry = file.tensor(tensor).expect("the tensor");
    let info = entry.quantized().expect("quantized").chunks()[chunk];
    let start = usize::try_from(entry.payload_offset() + info.offset).expect("fits");
    let mut bytes = file.as_bytes().to_vec();
    edit(&mut bytes[start..start + info.len as usize]);
    EntroFile::from_bytes(bytes).expect("payload damage passes the header checks")
}

fn flip_last_byte(bytes: &mut [u8]) {
    let last = bytes.len() - 1;
    bytes[last] ^= 0x5a;
}

/// Makes the chunk's header declare more stream bytes than the chunk has.
fn break_header(bytes: &mut [u8]) {
    bytes[..4].copy_from_slice(&u32::MAX.to_le_bytes());
}

fn buffers(file: &EntroFile, target: Target) -> Vec<TypedBuffer> {
    file.tensors()
        .iter()
        .map(|entry| {
            TypedBuffer::zeroed(target.kind_for(entry).expect("kept"), entry.elements())
                .expect("fits")
        })
        .collect()
}

#[test]
fn bad_checksum_names_tensor_and_chunk_and_spares_the_rest() {
    let built = model();
    let bad = "model.layers.0.mlp.up_proj.weight";
    let file = damaged(&built.file, bad, 3, flip_last_byte);
    for decoder in decoders() {
        let mut outputs = buffers(&file, Target::F32);
        let requests = file
            .tensors()
            .iter()
            .zip(outputs.iter_mut())
            .map(|(tensor, buffer)| TensorOutput {
                tensor,
                output: buffer.as_output(),
            })
            .collect();
        let err = decoder
            .decode_into(&file, requests)
            .expect_err("the damage is detected");
        assert!(
            matches!(&err, Error::ChecksumMismatch { tensor, chunk: 3, expected, found } if tensor == bad && expected != found),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert_eq!(err.tensor(), Some(bad));
        assert!(
            err.to_string()
                .contains("chunk 3 of tensor `model.layers.0.mlp.up_proj.weight`"),
            "{err}"
        );
        // Every other tensor is decoded correctly, and so is every other chunk of the damaged one.
        for ((entry, expected), output) in file.tensors().iter().zip(&built.expected).zip(&outputs)
        {
            let reference = reference(expected, OutputKind::F32).expect("a reference");
            if entry.name() != bad {
                assert!(same_bits(output, &reference), "{}", entry.name());
                continue;
            }
            let (TypedBuffer::F32(got), TypedBuffer::F32(want)) = (output, &reference) else {
                unreachable!()
            };
            for (index, info) in entry
                .quantized()
                .expect("quantized")
                .chunks()
                .iter()
                .enumerate()
            {
                let start = usize::try_from(info.first_code).expect("fits");
                let range = start..start + info.codes as usize;
                if index != 3 {
                    let same = got[range.clone()]
                        .iter()
                        .zip(&want[range])
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "chunk {index}");
                }
            }
        }
    }
}

#[test]
fn without_checksums_a_broken_stream_is_reported_as_corrupt() {
    let built = model();
    let bad = "model.layers.0.mlp.down_proj.weight";
    let file = damaged(&built.file, bad, 1, break_header);
    let unchecked = Decoder::new(DecodeOptions {
        threads: 2,
        verify_checksums: false,
    })
    .expect("pool");
    for target in [
        Target::Codes,
        Target::F16,
        Target::Bytes(entro_decode::FloatDtype::BF16),
    ] {
        let err = unchecked
            .decode_model(&file, target)
            .expect_err("the damage is detected");
        assert!(
            matches!(&err, Error::Corrupt { tensor, chunk: 1, source, .. } if tensor == bad
                && matches!(source, entro_huffman::DecodeError::StreamLengthMismatch { chunk: 1, .. })),
            "{target:?}: {err:?}"
        );
    }
    // With checksums on, the checksum catches it first.
    let err = decoders()[1]
        .decode_model(&file, Target::Codes)
        .expect_err("detected");
    assert!(
        matches!(err, Error::ChecksumMismatch { chunk: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn the_first_bad_chunk_is_reported_whatever_the_thread_count() {
    let built = model();
    let once = damaged(
        &built.file,
        "model.layers.0.mlp.down_proj.weight",
        2,
        flip_last_byte,
    );
    let twice = damaged(&once, "model.embed_tokens.weight", 5, flip_last_byte);
    let file = damaged(&twice, "model.embed_tokens.weight", 6, flip_last_byte);
    for _ in 0..3 {
        for decoder in decoders() {
            let err = decoder
                .decode_model(&file, Target::Codes)
                .expect_err("detected");
            assert!(
                matches!(&err, Error::ChecksumMismatch { tensor, chunk: 5, .. } if tensor == "model.embed_tokens.weight"),
                "{err:?}"
            );
        }
    }
}

#[test]
fn verify_lists_every_problem_in_file_order() {
    let built = model();
    let decoder = &decoders()[1];
    let clean = decoder.verify(&built.file);
    assert!(clean.is_ok(), "{:?}", clean.failures);
    assert_eq!(clean.tensors, 4);
    let chunks: usize = built
        .file
        .tensors()
        .iter()
        .filter_map(|e| e.quantized())
        .map(|q| q.chunks().len())
        .sum();
    assert_eq!(clean.chunks, chunks as u64);
    assert_eq!(clean.elements, 2000 + 1920 + 1920 + 50);

    let one = damaged(
        &built.file,
        "model.layers.0.mlp.down_proj.weight",
        0,
        break_header,
    );
    let two = damaged(&one, "model.embed_tokens.weight", 7, flip_last_byte);
    let mut bytes = two.as_bytes().to_vec();
    let norm = two.tensor("model.norm.weight").expect("raw tensor");
    bytes[usize::try_from(norm.payload_offset()).expect("fits")] ^= 1;
    let file = EntroFile::from_bytes(bytes).expect("valid header");
    let progress = std::sync::atomic::AtomicU64::new(0);
    let report = decoder.verify_with_progress(&file, &|n| {
        progress.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(report.failures.len(), 3, "{:?}", report.failures);
    assert!(matches!(
        &report.failures[0],
        Error::ChecksumMismatch { chunk: 7, .. }
    ));
    assert!(matches!(
        &report.failures[1],
        Error::ChecksumMismatch { chunk: 0, .. }
    ));
    assert!(
        matches!(&report.failures[2], Error::RawChecksumMismatch { tensor, .. } if tensor == "model.norm.weight")
    );
    assert_eq!(report.elements, progress.into_inner());
    // Chunk 7 of the embedding is its last, of 2000 - 7 * 256 codes.
    assert_eq!(report.elements, 2000 + 1920 + 1920 - 208 - 500);
}

#[test]
fn a_codebook_coding_out_of_range_codes_is_rejected() {
    // Codes of a 4-bit tensor, one of them forged to 200, coded and written as they are: the
    // container does not compare codebooks with bit widths, the decoder must.
    let values = weights(9, 64);
    let mut codes = vec![0u8; 64];
    let config = QuantConfig {
        bits: 4,
        ..QuantConfig::default()
    };
    let report =
        quantize("w", FloatSlice::F32(&values), &[8, 8], &config, &mut codes).expect("quantize");
    codes[10] = 200;
    let encoded =
        encode_quantized("w", &codes, &[8, 8], report.params, report.stats, 16).expect("encode");
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("forged.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).expect("create");
    writer
        .add_quantized("w", &[8, 8], Dtype::F32, &encoded)
        .expect("add");
    writer.finish().expect("finish");
    let file = EntroFile::open(&path).expect("open");
    for target in [Target::Codes, Target::F32] {
        let err = decoders()[0]
            .decode_model(&file, target)
            .expect_err("rejected");
        assert!(
            matches!(
                err,
                Error::CodebookOutOfRange {
                    symbol: 200,
                    bits: 4,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    let report = decoders()[0].verify(&file);
    assert!(
        matches!(
            report.failures.as_slice(),
            [Error::CodebookOutOfRange { .. }]
        ),
        "{:?}",
        report.failures
    );
}

#[test]
fn a_tensor_claiming_more_codes_than_its_bytes_hold_is_refused_before_allocating() {
    // 4096 codes said to lie in a single byte: the container accepts the record (it does not
    // decode), the decoder must refuse it before allocating 4096 outputs.
    let values = weights(5, 4096);
    let mut codes = vec![0u8; 4096];
    let report = quantize(
        "w",
        FloatSlice::F32(&values),
        &[64, 64],
        &QuantConfig::default(),
        &mut codes,
    )
    .expect("quantize");
    let codebook = entro_huffman::Codebook::build(&codes, entro_huffman::Alphabet::Bytes, 11)
        .expect("codebook");
    let chunks = vec![entro_huffman::ChunkInfo {
        codes: 4096,
        offset: 0,
        len: 1,
    }];
    let encoded = entro_format::EncodedTensor::new(
        report.params,
        report.stats,
        codebook,
        4096,
        chunks,
        vec![0],
    )
    .expect("the parts are consistent");
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("implausible.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).expect("create");
    writer
        .add_quantized("w", &[64, 64], Dtype::F32, &encoded)
        .expect("add");
    writer.finish().expect("finish");
    let file = EntroFile::open(&path).expect("open");
    let err = decoders()[0]
        .decode_model(&file, Target::F32)
        .expect_err("refused");
    assert!(
        matches!(
            err,
            Error::Implausible {
                elements: 4096,
                payload_len: 1,
                max: 8,
                ..
            }
        ),
        "{err:?}"
    );
    let mut out = vec![0u8; 4096];
    let err = decoders()[0]
        .decode_tensor(
            &file,
            &file.tensors()[0],
            entro_decode::Output::Codes(&mut out),
        )
        .expect_err("refused");
    assert!(matches!(err, Error::Implausible { .. }), "{err:?}");
}
