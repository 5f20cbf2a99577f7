//! Property tests: random small models written through entro-format decode, for every output target
//! and 1 to 4 threads, to exactly the quantizer's codes and `entro_quant::dequantize`'s values.

mod common;

use std::sync::Arc;

use common::{Content, Spec, build, decoders, reference, same_bits, weights};
use entro_decode::{FloatDtype, Target};
use entro_format::{Dtype, EntroFile};
use entro_quant::{Granularity, QuantConfig, Scheme};
use proptest::prelude::*;

const TARGETS: [Target; 8] = [
    Target::Codes,
    Target::F32,
    Target::F16,
    Target::BF16,
    Target::Original,
    Target::Bytes(FloatDtype::F32),
    Target::Bytes(FloatDtype::F16),
    Target::Bytes(FloatDtype::BF16),
];

/// How the values of a quantized tensor are shaped: both signs, one sign, or all equal.
#[derive(Debug, Clone, Copy)]
enum Signs {
    Mixed,
    Positive,
    Negative,
    Constant,
}

fn granularity() -> impl Strategy<Value = Granularity> {
    prop_oneof![
        Just(Granularity::Tensor),
        Just(Granularity::Channel),
        (1u32..=9).prop_map(Granularity::Group),
    ]
}

fn quantized_tensor() -> impl Strategy<Value = Spec> {
    let shape =
        (0usize..=9, 1usize..=37, prop::option::of(1usize..=3)).prop_map(|(rows, cols, depth)| {
            let mut shape = vec![rows, cols];
            shape.extend(depth);
            shape
        });
    let signs = prop_oneof![
        4 => Just(Signs::Mixed),
        2 => Just(Signs::Positive),
        2 => Just(Signs::Negative),
        1 => Just(Signs::Constant),
    ];
    let scheme = prop_oneof![3 => Just(Scheme::Auto), 1 => Just(Scheme::Symmetric)];
    let dtype = prop_oneof![Just(Dtype::F32), Just(Dtype::F16), Just(Dtype::BF16)];
    (
        shape,
        signs,
        2u8..=8,
        granularity(),
        scheme,
        any::<bool>(),
        (1usize..=24, any::<bool>()),
        dtype,
        any::<u64>(),
    )
        .prop_map(
            |(shape, signs, bits, granularity, scheme, clip, (half_chunk, odd), dtype, seed)| {
                let len = shape.iter().product();
                let mut values = weights(seed, len);
                for value in &mut values {
                    *value = match signs {
                        Signs::Mixed => *value,
                        Signs::Positive => value.abs(),
                        Signs::Negative => -value.abs(),
                        Signs::Constant => 0.375,
                    };
                }
                // Nibble pairs (chosen for 4 bits and below) need an even chunk size.
                let chunk_codes = if odd && bits > 4 {
                    2 * half_chunk - 1
                } else {
                    2 * half_chunk
                };
                Spec {
                    name: String::new(),
                    shape,
                    content: Content::Quantized {
                        values,
                        dtype,
                        config: QuantConfig {
                            bits,
                            scheme,
                            granularity,
                            clip,
                        },
                        chunk_codes,
                    },
                }
            },
        )
}

fn raw_tensor() -> impl Strategy<Value = Spec> {
    let dtype = prop_oneof![
        Just(Dtype::F32),
        Just(Dtype::F16),
        Just(Dtype::BF16),
        Just(Dtype::I32),
        Just(Dtype::U8),
    ];
    (dtype, 0usize..=20, any::<u64>()).prop_map(|(dtype, len, seed)| {
        let values = weights(seed, len);
        match dtype {
            Dtype::F32 | Dtype::F16 | Dtype::BF16 => common::raw_float("", &[len], &values, dtype),
            _ => {
                let size = (dtype.bits() / 8) as usize;
                let bytes = values
                    .iter()
                    .flat_map(|v| v.to_bits().to_le_bytes())
                    .take(len * size)
                    .collect();
                Spec {
                    name: String::new(),
                    shape: vec![len],
                    content: Content::Raw { dtype, bytes },
                }
            }
        }
    })
}

fn model() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(
        prop_oneof![4 => quantized_tensor(), 1 => raw_tensor()],
        1..=4,
    )
    .prop_map(|mut specs| {
        for (index, spec) in specs.iter_mut().enumerate() {
            spec.name = match index {
                0 => "model.embed_tokens.weight".to_owned(),
                _ => format!("model.layers.{}.t{index}.weight", index / 2),
            };
        }
        specs
    })
}

/// Checks every tensor `target` keeps against the reference, for `decoded` in file order.
fn check_model(
    file: &EntroFile,
    built: &common::Built,
    target: Target,
    decoded: &[entro_decode::DecodedTensor],
) {
    let mut decoded = decoded.iter();
    for (index, (entry, expected)) in file.tensors().iter().zip(&built.expected).enumerate() {
        let Some(kind) = target.kind_for(entry) else {
            continue;
        };
        let tensor = decoded.next().expect("one decoded tensor per kept tensor");
        assert_eq!(tensor.index, index);
        assert_eq!(tensor.name, expected.name);
        let reference = reference(expected, kind).expect("a reference for every kept tensor");
        assert!(
            same_bits(&tensor.data, &reference),
            "{target:?} {}: {:?} vs {:?}",
            expected.name,
            tensor.data,
            reference
        );
    }
    assert!(decoded.next().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_target_and_thread_count_matches_the_reference(specs in model()) {
        let built = build(&specs);
        for decoder in decoders() {
            for target in TARGETS {
                let decoded = decoder.decode_model(&built.file, target).expect("decodes");
                check_model(&built.file, &built, target, &decoded);
            }
        }
    }

    #[test]
    fn layers_yield_what_the_whole_model_gives(specs in model(), threads in 1usize..=4) {
        let built = build(&specs);
        let decoder = &decoders()[threads - 1];
        let whole = decoder.decode_model(&built.file, Target::F16).expect("decodes");
        let file = Arc::new(EntroFile::from_bytes(built.file.as_bytes().to_vec()).expect("valid"));
        let layers = decoder.layers(Arc::clone(&file), Target::F16).expect("starts");
        let planned: Vec<usize> = layers.groups().iter().flat_map(|g| g.tensors.clone()).collect();
        let mut streamed: Vec<_> = Vec::new();
        for layer in layers {
            streamed.extend(layer.expect("decodes").tensors);
        }
        prop_assert_eq!(streamed.iter().map(|t| t.index).collect::<Vec<_>>(), planned);
        streamed.sort_by_key(|t| t.index);
        prop_assert_eq!(streamed, whole);
    }
}

#[test]
fn codes_stored_relative_to_zero_points_decode_to_every_target() {
    // Zero-mean rows with outliers of their own sizes and signs: the per-row and per-group grids
    // get different zero points, so entro-format stores the codes relative to them.
    let (rows, row) = (96, 50);
    let mut values = weights(11, rows * row);
    for r in 0..rows {
        for start in (0..row).step_by(16) {
            let size = 0.3 + 0.05 * ((r + start) % 7) as f32;
            values[r * row + start + r % 2] = if (r + start) % 2 == 0 { size } else { -size };
        }
    }
    let specs: Vec<Spec> = [Granularity::Channel, Granularity::Group(16)]
        .into_iter()
        .zip(["model.layers.0.a.weight", "model.layers.0.b.weight"])
        .map(|(granularity, name)| Spec {
            name: name.to_owned(),
            shape: vec![rows, row],
            content: Content::Quantized {
                values: values.clone(),
                dtype: Dtype::BF16,
                config: QuantConfig {
                    granularity,
                    ..QuantConfig::default()
                },
                chunk_codes: 777,
            },
        })
        .collect();
    let built = build(&specs);
    for entry in built.file.tensors() {
        assert_eq!(
            entry.encoding().tag(),
            entro_format::ENCODING_QUANTIZED_RELATIVE,
            "{}",
            entry.name()
        );
    }
    for decoder in decoders() {
        for target in TARGETS {
            let decoded = decoder.decode_model(&built.file, target).expect("decodes");
            check_model(&built.file, &built, target, &decoded);
        }
    }
}
