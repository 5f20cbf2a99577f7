//! Tiny, deterministic model folders (config, word-level tokenizer, BF16 or F32 safetensors) for
//! tests and demos that must run in a second with nothing downloaded.
//!
//! Their weights are random, so their scores mean nothing; they exercise the same loading,
//! tokenizing and scoring code as real checkpoints.

use std::path::Path;

use entro_format::Dtype;
use entro_format::safetensors::{SafetensorsWriter, TensorSpec};
use entro_format::synthetic::SyntheticModel;

use crate::{Error, Result};

/// Vocabulary of the tiny models: `[UNK]`, `[CLS]`, `[SEP]`, then the words `w3` .. `w63`.
pub const TINY_VOCAB: usize = 64;

/// A sentence of `words` words of the tiny vocabulary, chosen by `seed` (deterministic).
#[must_use]
pub fn tiny_text(words: usize, seed: u64) -> String {
    let mut rng = SplitMix64(seed);
    (0..words)
        .map(|_| format!("w{}", 3 + rng.next_u64() % (TINY_VOCAB as u64 - 3)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes a tiny llama folder into `dir`: 2 layers, hidden 64, 4 query and 2 key/value heads of
/// width 16, MLP 96, tied embeddings, BF16 weights from entro-format's synthetic generator.
///
/// # Errors
///
/// [`Error::Io`] or [`Error::Checkpoint`] when a file cannot be written.
pub fn write_tiny_llama(dir: &Path, seed: u64) -> Result<()> {
    let model = SyntheticModel {
        hidden: 64,
        intermediate: 96,
        layers: 2,
        vocab: TINY_VOCAB,
        kv_fraction: 2,
        seed,
    };
    let config = serde_json::json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": model.hidden,
        "intermediate_size": model.intermediate,
        "num_hidden_layers": model.layers,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "vocab_size": model.vocab,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": true,
        "hidden_act": "silu",
        "max_position_embeddings": 2048,
    });
    write_file(&dir.join("config.json"), config.to_string().as_bytes())?;
    write_file(
        &dir.join("tokenizer.json"),
        tokenizer_json(false).as_bytes(),
    )?;
    let path = dir.join("model.safetensors");
    entro_format::synthetic::write_safetensors(&model, &path)
        .map_err(|source| Error::Checkpoint { path, source })
}

/// Writes a tiny BERT folder into `dir`: 2 layers, hidden 32, 4 heads, MLP 64, 64 positions, F32
/// weights with biases and layer norms, and a tokenizer that wraps each line in `[CLS]` .. `[SEP]`.
///
/// # Errors
///
/// [`Error::Io`] or [`Error::Checkpoint`] when a file cannot be written.
pub fn write_tiny_bert(dir: &Path, seed: u64) -> Result<()> {
    let (hidden, inner, layers, positions) = (32usize, 64usize, 2usize, 64usize);
    let config = serde_json::json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": TINY_VOCAB,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": 4,
        "intermediate_size": inner,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": positions,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
    });
    write_file(&dir.join("config.json"), config.to_string().as_bytes())?;
    write_file(&dir.join("tokenizer.json"), tokenizer_json(true).as_bytes())?;

    let mut tensors: Vec<(String, Vec<usize>)> = vec![
        (
            "embeddings.word_embeddings.weight".into(),
            vec![TINY_VOCAB, hidden],
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![positions, hidden],
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![2, hidden],
        ),
        ("embeddings.LayerNorm.weight".into(), vec![hidden]),
        ("embeddings.LayerNorm.bias".into(), vec![hidden]),
    ];
    for layer in 0..layers {
        let p = format!("encoder.layer.{layer}");
        for (name, rows, columns) in [
            ("attention.self.query", hidden, hidden),
            ("attention.self.key", hidden, hidden),
            ("attention.self.value", hidden, hidden),
            ("attention.output.dense", hidden, hidden),
            ("intermediate.dense", inner, hidden),
            ("output.dense", hidden, inner),
        ] {
            tensors.push((format!("{p}.{name}.weight"), vec![rows, columns]));
            tensors.push((format!("{p}.{name}.bias"), vec![rows]));
        }
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            tensors.push((format!("{p}.{norm}.weight"), vec![hidden]));
            tensors.push((format!("{p}.{norm}.bias"), vec![hidden]));
        }
    }
    let path = dir.join("model.safetensors");
    let checkpoint_error = |source| Error::Checkpoint {
        path: path.clone(),
        source,
    };
    let specs = tensors
        .iter()
        .map(|(name, shape)| TensorSpec {
            name: name.clone(),
            dtype: Dtype::F32,
            shape: shape.clone(),
        })
        .collect();
    let mut writer = SafetensorsWriter::create(&path, specs, None).map_err(checkpoint_error)?;
    let mut rng = SplitMix64(seed);
    for (name, shape) in &tensors {
        let len: usize = shape.iter().product();
        let values: Vec<f32> = if name.ends_with("LayerNorm.weight") {
            (0..len).map(|_| 1.0 + 0.1 * rng.next_signed()).collect()
        } else if name.ends_with("bias") {
            (0..len).map(|_| 0.02 * rng.next_signed()).collect()
        } else {
            let fan_in = shape.last().copied().unwrap_or(1) as f32;
            let amplitude = (3.0 / fan_in).sqrt();
            (0..len).map(|_| amplitude * rng.next_signed()).collect()
        };
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        writer
            .write_tensor(name, &bytes)
            .map_err(checkpoint_error)?;
    }
    writer.finish().map_err(checkpoint_error)?;
    Ok(())
}

/// A word-level tokenizer over `[UNK]`, `[CLS]`, `[SEP]`, `w3` .. `w63`, splitting on
/// whitespace; with `wrap`, single sequences become `[CLS] .. [SEP]`.
fn tokenizer_json(wrap: bool) -> String {
    let mut vocab = serde_json::Map::new();
    for (id, token) in ["[UNK]", "[CLS]", "[SEP]"].iter().enumerate() {
        vocab.insert((*token).to_owned(), id.into());
    }
    for id in 3..TINY_VOCAB {
        vocab.insert(format!("w{id}"), id.into());
    }
    let special = |name: &str| serde_json::json!({ "SpecialToken": { "id": name, "type_id": 0 } });
    let sequence = |id: &str| serde_json::json!({ "Sequence": { "id": id, "type_id": 0 } });
    let post_processor = if wrap {
        serde_json::json!({
            "type": "TemplateProcessing",
            "single": [special("[CLS]"), sequence("A"), special("[SEP]")],
            "pair": [special("[CLS]"), sequence("A"), special("[SEP]"), sequence("B"), special("[SEP]")],
            "special_tokens": {
                "[CLS]": { "id": "[CLS]", "ids": [1], "tokens": ["[CLS]"] },
                "[SEP]": { "id": "[SEP]", "ids": [2], "tokens": ["[SEP]"] },
            },
        })
    } else {
        serde_json::Value::Null
    };
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": { "type": "Whitespace" },
        "post_processor": post_processor,
        "decoder": null,
        "model": { "type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]" },
    })
    .to_string()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// SplitMix64: a small, well-mixed generator for test weights (not for secrets).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn next_signed(&mut self) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        2.0 * unit - 1.0
    }
}
