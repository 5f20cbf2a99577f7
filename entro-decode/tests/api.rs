//! The public API: buffer checks, conversions, progress and chunk-size independence.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::{Content, Spec, build, decoders, raw_float, reference, same_bits, weights};
use entro_decode::{
    DecodeOptions, Decoder, Error, ErrorKind, FloatDtype, Output, OutputKind, Target, TensorOutput,
    TypedBuffer,
};
use entro_format::Dtype;
use entro_quant::{Granularity, QuantConfig};
use half::{bf16, f16};

fn spec(
    name: &str,
    shape: &[usize],
    granularity: Granularity,
    bits: u8,
    chunk_codes: usize,
) -> Spec {
    let len = shape.iter().product();
    Spec {
        name: name.to_owned(),
        shape: shape.to_vec(),
        content: Content::Quantized {
            values: weights(len as u64, len),
            dtype: Dtype::F16,
            config: QuantConfig {
                bits,
                granularity,
                ..QuantConfig::default()
            },
            chunk_codes,
        },
    }
}

#[test]
fn options_default_to_all_cores_with_checksums() {
    let options = DecodeOptions::default();
    assert!(options.verify_checksums);
    assert_eq!(options.threads, 0);
    let decoder = Decoder::new(options).expect("pool");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(decoder.threads(), cores);
    assert_eq!(
        decoder.options(),
        DecodeOptions {
            threads: cores,
            verify_checksums: true
        }
    );
}

#[test]
fn every_output_variant_of_decode_tensor_matches_the_reference() {
    let built = build(&[spec("w", &[12, 300], Granularity::Tensor, 8, 1000)]);
    let entry = &built.file.tensors()[0];
    let expected = &built.expected[0];
    let decoder = &decoders()[1];
    let n = 3600;
    let mut codes = vec![0u8; n];
    let mut f32s = vec![0f32; n];
    let mut f16s = vec![f16::ZERO; n];
    let mut bf16s = vec![bf16::ZERO; n];
    decoder
        .decode_tensor(&built.file, entry, Output::Codes(&mut codes))
        .expect("codes");
    decoder
        .decode_tensor(&built.file, entry, Output::F32(&mut f32s))
        .expect("f32");
    decoder
        .decode_tensor(&built.file, entry, Output::F16(&mut f16s))
        .expect("f16");
    decoder
        .decode_tensor(&built.file, entry, Output::BF16(&mut bf16s))
        .expect("bf16");
    let pairs = [
        (TypedBuffer::Codes(codes), OutputKind::Codes),
        (TypedBuffer::F32(f32s), OutputKind::F32),
        (TypedBuffer::F16(f16s), OutputKind::F16),
        (TypedBuffer::BF16(bf16s), OutputKind::BF16),
    ];
    for (got, kind) in pairs {
        assert!(
            same_bits(&got, &reference(expected, kind).expect("reference")),
            "{kind}"
        );
    }
    for float in [FloatDtype::F32, FloatDtype::F16, FloatDtype::BF16] {
        let mut bytes = vec![0u8; n * float.size()];
        let output = Output::Bytes {
            dtype: float.dtype(),
            bytes: &mut bytes,
        };
        decoder
            .decode_tensor(&built.file, entry, output)
            .expect("bytes");
        let got = TypedBuffer::Bytes {
            dtype: float.dtype(),
            bytes,
        };
        let kind = OutputKind::Bytes(float.dtype());
        assert!(
            same_bits(&got, &reference(expected, kind).expect("reference")),
            "{kind}"
        );
    }
}

#[test]
fn buffer_misuse_is_reported_before_any_work() {
    let built = build(&[
        spec("q", &[10, 10], Granularity::Tensor, 8, 64),
        raw_float("r", &[7], &weights(1, 7), Dtype::BF16),
        Spec {
            name: "ids".to_owned(),
            shape: vec![3],
            content: Content::Raw {
                dtype: Dtype::I64,
                bytes: (0..24).collect(),
            },
        },
    ]);
    let file = &built.file;
    let [q, r, ids] = [&file.tensors()[0], &file.tensors()[1], &file.tensors()[2]];
    let decoder = &decoders()[0];

    let mut short = vec![0f32; 99];
    let err = decoder
        .decode_tensor(file, q, Output::F32(&mut short))
        .expect_err("too short");
    assert!(
        matches!(
            &err,
            Error::OutputSize {
                expected: 100,
                found: 99,
                kind: OutputKind::F32,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let mut bytes = vec![0u8; 100 * 2 + 1];
    let err = decoder
        .decode_tensor(
            file,
            q,
            Output::Bytes {
                dtype: Dtype::F16,
                bytes: &mut bytes,
            },
        )
        .expect_err("one byte too many");
    assert!(
        matches!(
            err,
            Error::OutputSize {
                expected: 200,
                found: 201,
                ..
            }
        ),
        "{err:?}"
    );

    let mut codes = vec![0u8; 7];
    let err = decoder
        .decode_tensor(file, r, Output::Codes(&mut codes))
        .expect_err("raw has no codes");
    assert!(
        matches!(
            &err,
            Error::UnsupportedConversion {
                encoding: "raw",
                to: OutputKind::Codes,
                ..
            }
        ),
        "{err:?}"
    );
    let mut floats = vec![0f32; 3];
    let err = decoder
        .decode_tensor(file, ids, Output::F32(&mut floats))
        .expect_err("integers stay integers");
    assert!(
        matches!(
            err,
            Error::UnsupportedConversion {
                from: Dtype::I64,
                ..
            }
        ),
        "{err:?}"
    );
    let mut wide = vec![0u8; 800];
    let err = decoder
        .decode_tensor(
            file,
            q,
            Output::Bytes {
                dtype: Dtype::F64,
                bytes: &mut wide,
            },
        )
        .expect_err("no f64 output");
    assert!(
        matches!(
            err,
            Error::UnsupportedConversion {
                encoding: "quantized",
                ..
            }
        ),
        "{err:?}"
    );

    // An entry of another file, even one with the same name, is refused.
    let other = build(&[spec("q", &[10, 10], Granularity::Tensor, 8, 64)]);
    let mut out = vec![0u8; 100];
    let err = decoder
        .decode_tensor(file, &other.file.tensors()[0], Output::Codes(&mut out))
        .expect_err("foreign");
    assert!(matches!(err, Error::ForeignTensor { .. }), "{err:?}");

    // Raw tensors: own dtype copied, float ones converted.
    let mut raw = vec![0u8; 24];
    decoder
        .decode_tensor(
            file,
            ids,
            Output::Bytes {
                dtype: Dtype::I64,
                bytes: &mut raw,
            },
        )
        .expect("copy");
    assert_eq!(raw, (0..24).collect::<Vec<u8>>());
    let mut widened = vec![0f32; 7];
    decoder
        .decode_tensor(file, r, Output::F32(&mut widened))
        .expect("widen");
    let want: Vec<f32> = weights(1, 7)
        .into_iter()
        .map(|v| bf16::from_f32(v).to_f32())
        .collect();
    assert_eq!(widened, want);
}

#[test]
fn targets_choose_kinds_per_tensor() {
    let built = build(&[
        spec("q", &[4, 4], Granularity::Tensor, 8, 64),
        raw_float("r", &[4], &weights(1, 4), Dtype::F16),
        Spec {
            name: "i".to_owned(),
            shape: vec![2],
            content: Content::Raw {
                dtype: Dtype::U16,
                bytes: vec![1, 2, 3, 4],
            },
        },
    ]);
    let [q, r, i] = [
        &built.file.tensors()[0],
        &built.file.tensors()[1],
        &built.file.tensors()[2],
    ];
    let table = [
        (Target::Codes, [Some(OutputKind::Codes), None, None]),
        (
            Target::F32,
            [
                Some(OutputKind::F32),
                Some(OutputKind::F32),
                Some(OutputKind::Bytes(Dtype::U16)),
            ],
        ),
        (
            Target::BF16,
            [
                Some(OutputKind::BF16),
                Some(OutputKind::BF16),
                Some(OutputKind::Bytes(Dtype::U16)),
            ],
        ),
        (
            Target::Original,
            [
                Some(OutputKind::Bytes(Dtype::F16)),
                Some(OutputKind::Bytes(Dtype::F16)),
                Some(OutputKind::Bytes(Dtype::U16)),
            ],
        ),
        (
            Target::Bytes(FloatDtype::F32),
            [
                Some(OutputKind::Bytes(Dtype::F32)),
                Some(OutputKind::Bytes(Dtype::F32)),
                Some(OutputKind::Bytes(Dtype::U16)),
            ],
        ),
    ];
    for (target, kinds) in table {
        assert_eq!(
            [target.kind_for(q), target.kind_for(r), target.kind_for(i)],
            kinds,
            "{target:?}"
        );
        let decoded = decoders()[1]
            .decode_model(&built.file, target)
            .expect("decodes");
        let kept: Vec<OutputKind> = kinds.iter().flatten().copied().collect();
        assert_eq!(
            decoded.iter().map(|t| t.data.kind()).collect::<Vec<_>>(),
            kept
        );
    }
    assert_eq!(OutputKind::Bytes(Dtype::F16).byte_len(3), Some(6));
    assert_eq!(OutputKind::Codes.dtype(), Dtype::U8);
}

#[test]
fn output_does_not_depend_on_chunk_size_or_granularity_path() {
    // Rows of 5000: chunks of 1000 lie inside one row (one scale), chunks of 3000 straddle rows,
    // chunks of 2 are smaller than the lookup table.
    for granularity in [
        Granularity::Tensor,
        Granularity::Channel,
        Granularity::Group(700),
        Granularity::Group(3),
    ] {
        for bits in [3, 8] {
            let mut outputs: Vec<Vec<TypedBuffer>> = Vec::new();
            for chunk_codes in [2, 1000, 3000, 20_000] {
                let built = build(&[spec("w", &[4, 5000], granularity, bits, chunk_codes)]);
                let mut per_target = Vec::new();
                for target in [
                    Target::Codes,
                    Target::F32,
                    Target::F16,
                    Target::Bytes(FloatDtype::BF16),
                ] {
                    let decoded = decoders()[2]
                        .decode_model(&built.file, target)
                        .expect("decodes");
                    let kind = target.kind_for(&built.file.tensors()[0]).expect("kept");
                    let want = reference(&built.expected[0], kind).expect("reference");
                    assert!(
                        same_bits(&decoded[0].data, &want),
                        "{granularity} {bits} {chunk_codes} {target:?}"
                    );
                    per_target.push(decoded[0].data.clone());
                }
                outputs.push(per_target);
            }
            for other in &outputs[1..] {
                for (a, b) in other.iter().zip(&outputs[0]) {
                    assert!(same_bits(a, b));
                }
            }
        }
    }
}

#[test]
fn progress_adds_up_to_the_element_count() {
    let built = build(&[
        spec("a", &[30, 40], Granularity::Tensor, 8, 100),
        spec("b", &[7, 9], Granularity::Channel, 4, 10),
        raw_float("c", &[11], &weights(3, 11), Dtype::F32),
        spec("empty", &[0, 9], Granularity::Tensor, 8, 10),
    ]);
    let mut buffers: Vec<TypedBuffer> = built
        .file
        .tensors()
        .iter()
        .map(|e| TypedBuffer::zeroed(OutputKind::F16, e.elements()).expect("fits"))
        .collect();
    let requests = built
        .file
        .tensors()
        .iter()
        .zip(buffers.iter_mut())
        .map(|(tensor, buffer)| TensorOutput {
            tensor,
            output: buffer.as_output(),
        })
        .collect();
    let done = AtomicU64::new(0);
    let calls = AtomicU64::new(0);
    decoders()[1]
        .decode_into_with_progress(&built.file, requests, &|n| {
            done.fetch_add(n, Ordering::Relaxed);
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .expect("decodes");
    assert_eq!(done.into_inner(), 1200 + 63 + 11);
    // 12 + 7 chunks and one raw tensor.
    assert_eq!(calls.into_inner(), 12 + 7 + 1);
    assert!(buffers[3].byte_len() == 0);
}
