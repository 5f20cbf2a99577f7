//! Loading straight from `.entro` gives exactly the model that its decompressed safetensors give.

mod support;

use entro_eval::llama::Llama;
use entro_eval::synthetic::{tiny_text, write_tiny_bert, write_tiny_llama};
use entro_eval::{Architecture, EvalOptions, Evaluator, ModelDir, Score, Weights};
use entro_quant::QuantConfig;

fn llama_logits(dir: &ModelDir, weights: &Weights, tokens: &[u32]) -> Vec<Vec<f32>> {
    let Architecture::Llama(config) = dir.architecture() else {
        panic!("the tiny model is a llama");
    };
    let model = Llama::load(config, weights).unwrap();
    model.forward(tokens).unwrap().to_vec2::<f32>().unwrap()
}

#[test]
fn entro_and_decompressed_safetensors_give_the_same_logits() {
    let original_dir = tempfile::tempdir().unwrap();
    write_tiny_llama(original_dir.path(), 7).unwrap();
    let work = tempfile::tempdir().unwrap();
    let entro = work.path().join("tiny.entro");
    let config = QuantConfig {
        bits: 4,
        ..QuantConfig::default()
    };
    support::compress(
        &original_dir.path().join("model.safetensors"),
        &entro,
        &config,
    );
    let decompressed_dir = work.path().join("decompressed");
    std::fs::create_dir(&decompressed_dir).unwrap();
    support::copy_model_files(original_dir.path(), &decompressed_dir);
    support::decompress(&entro, &decompressed_dir.join("model.safetensors"));

    let dir = ModelDir::open(original_dir.path()).unwrap();
    let tokens: Vec<u32> = (0..40).map(|i| (i * 7 + 3) % 64).collect();
    let from_entro = Weights::from_entro(&entro, 2).unwrap();
    let from_safetensors = Weights::from_safetensors(&decompressed_dir).unwrap();
    assert_eq!(from_entro.names(), from_safetensors.names());
    assert_eq!(from_entro.parameters(), from_safetensors.parameters());
    let entro_logits = llama_logits(&dir, &from_entro, &tokens);
    let safetensors_logits = llama_logits(&dir, &from_safetensors, &tokens);
    assert_eq!(entro_logits, safetensors_logits);

    // The comparison is not vacuous: 4-bit weights change the logits.
    let original_logits = llama_logits(&dir, &dir.load_weights().unwrap(), &tokens);
    assert_ne!(entro_logits, original_logits);
    assert!(from_entro.bits_per_weight() < from_safetensors.bits_per_weight());
}

#[test]
fn evaluator_scores_llama_checkpoints_by_perplexity() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_llama(dir.path(), 3).unwrap();
    let entro = dir.path().join("tiny8.entro");
    support::compress(
        &dir.path().join("model.safetensors"),
        &entro,
        &QuantConfig::default(),
    );
    let model = ModelDir::open(dir.path()).unwrap();
    let text = tiny_text(300, 11);
    let options = EvalOptions {
        stride: 64,
        max_lines: None,
    };
    let mut evaluator = Evaluator::new(model, &text, options).unwrap();
    assert_eq!(evaluator.work(), 299);
    let mut last = (0, 0);
    let original = evaluator
        .score(
            &evaluator.model().load_weights().unwrap(),
            &mut |done, total| last = (done, total),
        )
        .unwrap();
    assert_eq!(last, (299, 299));
    let Score::Perplexity(result) = original else {
        panic!("llama models are scored by perplexity");
    };
    assert_eq!(result.tokens, 299);
    // Random weights: roughly uniform over 64 tokens, but not exactly.
    assert!(
        result.perplexity() > 20.0 && result.perplexity() < 200.0,
        "{result:?}"
    );
    let compressed = evaluator
        .score(&Weights::from_entro(&entro, 1).unwrap(), &mut |_, _| {})
        .unwrap();
    assert_ne!(compressed.value(), original.value());
    assert!(compressed.change_percent(&original).abs() < 5.0);
}

#[test]
fn evaluator_scores_bert_checkpoints_by_embedding_fidelity() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_bert(dir.path(), 5).unwrap();
    let entro4 = dir.path().join("tiny4.entro");
    let config = QuantConfig {
        bits: 4,
        ..QuantConfig::default()
    };
    support::compress(&dir.path().join("model.safetensors"), &entro4, &config);
    let model = ModelDir::open(dir.path()).unwrap();
    assert_eq!(model.architecture().name(), "bert");
    let text: String = (0..12)
        .map(|line| tiny_text(5 + line, line as u64) + "\n\n")
        .collect();
    let options = EvalOptions {
        max_lines: Some(10),
        ..EvalOptions::default()
    };
    let mut evaluator = Evaluator::new(model, &text, options).unwrap();
    assert_eq!(evaluator.work(), 10);
    let original = evaluator
        .score(&evaluator.model().load_weights().unwrap(), &mut |_, _| {})
        .unwrap();
    let Score::Embedding(reference) = original else {
        panic!("bert models are scored by embedding fidelity");
    };
    assert_eq!(reference.lines, 10);
    assert!((reference.mean_cosine - 1.0).abs() < 1e-9);
    let Score::Embedding(compressed) = evaluator
        .score(&Weights::from_entro(&entro4, 1).unwrap(), &mut |_, _| {})
        .unwrap()
    else {
        panic!("bert models are scored by embedding fidelity");
    };
    assert!(
        compressed.mean_cosine < 1.0 && compressed.mean_cosine > 0.5,
        "{compressed:?}"
    );
    assert!(compressed.min_cosine <= compressed.mean_cosine);
}
