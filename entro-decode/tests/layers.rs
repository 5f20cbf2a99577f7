//! The layer iterator: grouping by transformer block, prefetching in order, stopping at errors.

mod common;

use std::sync::Arc;

use common::{Content, Spec, build, decoders, raw_float, weights};
use entro_decode::{Error, Target, layer_groups};
use entro_format::Dtype;
use entro_quant::{Granularity, QuantConfig};

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
fn layers_group_by_block_and_prefetch_in_order() {
    let model = entro_format::synthetic::SyntheticModel {
        hidden: 16,
        intermediate: 32,
        layers: 3,
        vocab: 40,
        kv_fraction: 4,
        seed: 5,
    };
    let specs: Vec<Spec> = model
        .tensors()
        .iter()
        .map(|t| {
            let values: Vec<f32> = t.values_bf16().iter().map(|v| v.to_f32()).collect();
            if t.shape.len() >= 2 {
                Spec {
                    name: t.name.clone(),
                    shape: t.shape.clone(),
                    content: Content::Quantized {
                        values,
                        dtype: Dtype::BF16,
                        config: QuantConfig::default(),
                        chunk_codes: 64,
                    },
                }
            } else {
                raw_float(&t.name, &t.shape, &values, Dtype::BF16)
            }
        })
        .collect();
    let built = build(&specs);
    let groups = layer_groups(&built.file);
    let keys: Vec<&str> = groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "model.embed_tokens.weight",
            "model.layers.0",
            "model.layers.1",
            "model.layers.2",
            "model.norm.weight"
        ]
    );
    assert_eq!(groups[2].layer, Some(1));
    assert_eq!(groups[2].tensors.len(), 9);

    let file = Arc::new(built.file);
    let whole = decoders()[1]
        .decode_model(&file, Target::Codes)
        .expect("decodes");
    let layers = decoders()[1]
        .layers(Arc::clone(&file), Target::Codes)
        .expect("starts");
    // Under codes the raw norms drop out, and with them the final norm's group.
    assert_eq!(layers.groups().len(), 4);
    let mut streamed = Vec::new();
    for layer in layers {
        let layer = layer.expect("decodes");
        assert!(layer.tensors.iter().all(|t| t.name.starts_with(&layer.key)));
        streamed.extend(layer.tensors);
    }
    assert_eq!(streamed, whole);

    // Dropping an iterator early stops its prefetch thread without hanging.
    let mut early = decoders()[0]
        .layers(Arc::clone(&file), Target::F32)
        .expect("starts");
    assert!(early.next().is_some());
    drop(early);
}

#[test]
fn layer_iteration_stops_at_the_first_error() {
    let built = build(&[
        spec("model.layers.0.a", &[8, 8], Granularity::Tensor, 8, 16),
        spec("model.layers.1.a", &[8, 8], Granularity::Tensor, 8, 16),
        spec("model.layers.2.a", &[8, 8], Granularity::Tensor, 8, 16),
    ]);
    let entry = &built.file.tensors()[1];
    let info = entry.quantized().expect("quantized").chunks()[0];
    let mut bytes = built.file.as_bytes().to_vec();
    bytes[usize::try_from(entry.payload_offset() + info.offset).expect("fits") + 12] ^= 0xff;
    let file = Arc::new(entro_format::EntroFile::from_bytes(bytes).expect("valid header"));
    let results: Vec<_> = decoders()[1]
        .layers(file, Target::F32)
        .expect("starts")
        .collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    assert!(
        matches!(&results[1], Err(Error::ChecksumMismatch { tensor, chunk: 0, .. }) if tensor == "model.layers.1.a")
    );
}
