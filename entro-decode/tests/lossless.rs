//! Lossless tensors through the decoder: every output, every thread count, damage and misuse.

mod lossless_support;

use std::sync::Arc;

use entro_decode::{DecodeOptions, Decoder, Error, ErrorKind, FloatDtype, Output, Target};
use entro_format::{Dtype, EntroFile, EntroWriter, FOOTER_LEN, FileMetadata, encode_quantized};
use entro_quant::{FloatSlice, FloatSliceMut, QuantConfig, dequantize, quantize};
use lossless_support::{LosslessSpec, expected_bytes, float_bytes, float_of, lossless_file};

const TARGETS: [Target; 7] = [
    Target::Original,
    Target::F32,
    Target::F16,
    Target::BF16,
    Target::Bytes(FloatDtype::F32),
    Target::Bytes(FloatDtype::F16),
    Target::Bytes(FloatDtype::BF16),
];

fn spec(name: &str, shape: &[usize], dtype: Dtype, chunk: usize, seed: u64) -> LosslessSpec {
    let elements = shape.iter().product();
    LosslessSpec {
        name: name.to_owned(),
        shape: shape.to_vec(),
        dtype,
        bytes: float_bytes(dtype, seed, elements, 5),
        chunk,
    }
}

fn specs() -> Vec<LosslessSpec> {
    vec![
        spec("embed.weight", &[40, 50], Dtype::BF16, 300, 1),
        spec("model.layers.0.proj", &[3, 4, 5], Dtype::F32, 7, 2),
        spec("model.layers.0.head", &[1000], Dtype::F16, 128, 3),
        spec("scale", &[], Dtype::F32, 16, 4),
        spec("empty", &[0, 3], Dtype::BF16, 16, 5),
    ]
}

fn decoder(threads: usize, verify_checksums: bool) -> Decoder {
    Decoder::new(DecodeOptions {
        threads,
        verify_checksums,
    })
    .unwrap()
}

#[test]
fn every_output_on_every_thread_count_is_bit_exact() {
    let specs = specs();
    let file = lossless_file(&specs);
    for threads in 1..=4 {
        let decoder = decoder(threads, true);
        for target in TARGETS {
            let decoded = decoder.decode_model(&file, target).unwrap();
            assert_eq!(decoded.len(), specs.len() + 1);
            for (tensor, spec) in decoded.iter().zip(&specs) {
                assert_eq!(tensor.name, spec.name);
                let float = float_of(tensor.data.kind()).unwrap();
                let expected = expected_bytes(spec.dtype, &spec.bytes, float);
                assert!(
                    tensor.data.to_le_bytes() == expected,
                    "{} as {target:?} on {threads} threads",
                    spec.name
                );
            }
            let ids = decoded.last().unwrap();
            assert_eq!(&*ids.data.to_le_bytes(), &[7, 0, 0, 0, 9, 0, 0, 0]);
        }
    }
}

#[test]
fn decode_tensor_fills_typed_and_byte_buffers() {
    let specs = specs();
    let file = lossless_file(&specs);
    let decoder = decoder(3, true);
    let spec = &specs[0];
    let entry = file.tensor(&spec.name).unwrap();
    let mut halves = vec![half::bf16::ZERO; 2000];
    decoder
        .decode_tensor(&file, entry, Output::BF16(&mut halves))
        .unwrap();
    let bits: Vec<u8> = halves.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(bits, spec.bytes);
    let mut singles = vec![0f32; 2000];
    decoder
        .decode_tensor(&file, entry, Output::F32(&mut singles))
        .unwrap();
    let bytes: Vec<u8> = singles.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        bytes,
        expected_bytes(spec.dtype, &spec.bytes, FloatDtype::F32)
    );
    let mut short = vec![0u8; 3999];
    let err = decoder
        .decode_tensor(
            &file,
            entry,
            Output::Bytes {
                dtype: Dtype::BF16,
                bytes: &mut short,
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::OutputSize { .. }), "{err}");
}

#[test]
fn codes_of_a_lossless_tensor_are_a_caller_error_naming_it() {
    let file = lossless_file(&specs());
    let decoder = decoder(2, true);
    let entry = file.tensor("embed.weight").unwrap();
    let mut codes = vec![0u8; 2000];
    let err = decoder
        .decode_tensor(&file, entry, Output::Codes(&mut codes))
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedConversion { tensor, encoding: "lossless", .. } if tensor == "embed.weight"),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = decoder.decode_model(&file, Target::Codes).unwrap_err();
    assert!(matches!(err, Error::UnsupportedConversion { .. }), "{err}");
    let err = decoder
        .decode_tensor(
            &file,
            entry,
            Output::Bytes {
                dtype: Dtype::I32,
                bytes: &mut codes,
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedConversion { .. }), "{err}");
}

#[test]
fn lossless_and_quantized_tensors_share_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).unwrap();
    let weights: Vec<f32> = (0..3000)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 500.0)
        .collect();
    let mut codes = vec![0u8; weights.len()];
    let shape = [30, 100];
    let config = QuantConfig::default();
    let report = quantize("q", FloatSlice::F32(&weights), &shape, &config, &mut codes).unwrap();
    let encoded = encode_quantized(
        "q",
        &codes,
        &shape,
        report.params.clone(),
        report.stats,
        512,
    )
    .unwrap();
    writer
        .add_quantized("q", &shape, Dtype::F32, &encoded)
        .unwrap();
    let lossless = float_bytes(Dtype::F32, 8, 3000, 7);
    writer
        .add_lossless("l", &shape, Dtype::F32, &lossless, 256)
        .unwrap();
    writer.finish().unwrap();
    let file = EntroFile::open(&path).unwrap();
    let mut expected = vec![0f32; weights.len()];
    dequantize(
        &codes,
        &report.params,
        &shape,
        FloatSliceMut::F32(&mut expected),
    )
    .unwrap();
    for threads in [1, 4] {
        let decoded = decoder(threads, true)
            .decode_model(&file, Target::F32)
            .unwrap();
        assert_eq!(
            decoded[0].data,
            entro_decode::TypedBuffer::F32(expected.clone())
        );
        assert_eq!(&*decoded[1].data.to_le_bytes(), &lossless[..]);
    }
}

/// The file's bytes with `edit` applied to chunk `chunk` of `tensor`; when `fix_checksums` is set
/// the chunk's CRC-32C in the header and the header's own checksum are recomputed, so that only
/// the codec can notice.
fn damaged(
    file: &EntroFile,
    tensor: &str,
    chunk: usize,
    fix_checksums: bool,
    edit: impl Fn(&mut [u8]),
) -> EntroFile {
    let mut bytes = file.as_bytes().to_vec();
    let entry = file.tensor(tensor).unwrap();
    let info = entry.chunks()[chunk];
    let start = usize::try_from(entry.payload_offset() + info.offset).unwrap();
    let end = start + info.len as usize;
    edit(&mut bytes[start..end]);
    if fix_checksums {
        let header = usize::try_from(file.layout().header_offset).unwrap();
        let footer = bytes.len() - FOOTER_LEN;
        let old = info.crc32c.to_le_bytes();
        let new = crc32c::crc32c(&bytes[start..end]).to_le_bytes();
        let at = bytes[header..footer]
            .windows(4)
            .position(|window| window == old)
            .expect("the chunk checksum is in the header");
        bytes[header + at..header + at + 4].copy_from_slice(&new);
        let crc = crc32c::crc32c(&bytes[header..footer]);
        bytes[footer + 16..footer + 20].copy_from_slice(&crc.to_le_bytes());
    }
    EntroFile::from_bytes(bytes).unwrap()
}

#[test]
fn a_damaged_chunk_is_named_and_spares_the_rest() {
    let specs = specs();
    let file = lossless_file(&specs);
    let broken = damaged(&file, "embed.weight", 3, false, |bytes| {
        let last = bytes.len() - 1;
        bytes[last] ^= 0x10;
    });
    for threads in [1, 3] {
        let mut buffers: Vec<Vec<u8>> = specs.iter().map(|s| vec![0; s.bytes.len()]).collect();
        let outputs = broken
            .tensors()
            .iter()
            .zip(&mut buffers)
            .map(|(tensor, bytes)| entro_decode::TensorOutput {
                tensor,
                output: Output::Bytes {
                    dtype: tensor.dtype(),
                    bytes,
                },
            })
            .collect();
        let err = decoder(threads, true)
            .decode_into(&broken, outputs)
            .unwrap_err();
        assert!(
            matches!(&err, Error::ChecksumMismatch { tensor, chunk: 3, .. } if tensor == "embed.weight"),
            "{err}"
        );
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        // The other tensors, and the other chunks of this one, are decoded.
        assert_eq!(buffers[1], specs[1].bytes);
        assert_eq!(buffers[0][..1800], specs[0].bytes[..1800]);
        assert_eq!(buffers[0][2400..], specs[0].bytes[2400..]);
    }
    let report = decoder(2, true).verify(&broken);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].tensor(), Some("embed.weight"));
}

#[test]
fn a_chunk_the_codec_rejects_is_corrupt_with_or_without_checksums() {
    let file = lossless_file(&specs());
    // The chunk's first byte is its kind: 0xff is none the codec knows.
    let broken = damaged(&file, "model.layers.0.head", 5, true, |bytes| {
        bytes[0] = 0xff
    });
    for verify in [true, false] {
        let err = decoder(2, verify)
            .decode_model(&broken, Target::Original)
            .unwrap_err();
        assert!(
            matches!(&err, Error::LosslessCorrupt { tensor, chunk: 5, .. } if tensor == "model.layers.0.head"),
            "{err}"
        );
        assert_eq!(err.kind(), ErrorKind::Corrupt);
    }
    let report = decoder(2, true).verify(&broken);
    assert!(
        matches!(
            report.failures.as_slice(),
            [Error::LosslessCorrupt { chunk: 5, .. }]
        ),
        "{:?}",
        report.failures
    );
}

#[test]
fn verify_counts_every_chunk_and_element() {
    let specs = specs();
    let file = lossless_file(&specs);
    let report = decoder(2, true).verify(&file);
    assert!(report.is_ok(), "{:?}", report.failures);
    let chunks: usize = specs
        .iter()
        .map(|s| s.shape.iter().product::<usize>().div_ceil(s.chunk))
        .sum();
    assert_eq!(report.chunks, chunks as u64);
    let elements: usize = specs
        .iter()
        .map(|s| s.shape.iter().product::<usize>())
        .sum();
    assert_eq!(report.elements, elements as u64 + 2);
}

#[test]
fn layers_decode_lossless_groups() {
    let specs = specs();
    let file = Arc::new(lossless_file(&specs));
    let layers: Vec<_> = decoder(2, true)
        .layers(Arc::clone(&file), Target::Original)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let group = layers
        .iter()
        .find(|layer| layer.layer == Some(0))
        .expect("block 0");
    assert_eq!(group.tensors.len(), 2);
    for tensor in &group.tensors {
        let spec = specs.iter().find(|s| s.name == tensor.name).unwrap();
        assert_eq!(&*tensor.data.to_le_bytes(), &spec.bytes[..]);
    }
}
