//! The correctness anchor on the real SmolLM2-135M: Hugging Face transformers (f32 compute, the
//! same windows) scores 7,657 tokens of `gpl-3.0.txt` at perplexity 22.06.
//!
//! A whole-text run takes about a minute on two cores with the workspace's test profile (its
//! dependencies are optimised), so CI runs it on every change. `cargo xtask frontier` checks it
//! too.

mod support;

use entro_eval::{EvalOptions, Evaluator, ModelDir, Score};

#[test]
fn smollm2_perplexity_matches_the_transformers_reference() {
    let Some(dir) = support::smollm2() else {
        return;
    };
    let text_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/texts/gpl-3.0.txt");
    let text = std::fs::read_to_string(text_path).unwrap();
    let model = ModelDir::open(&dir).unwrap();
    let mut evaluator = Evaluator::new(model, &text, EvalOptions::default()).unwrap();
    let weights = evaluator.model().load_weights().unwrap();
    let Score::Perplexity(result) = evaluator.score(&weights, &mut |_, _| {}).unwrap() else {
        panic!("SmolLM2 is a llama model");
    };
    assert_eq!(result.tokens, 7657);
    let reference = 22.06;
    let relative = (result.perplexity() - reference).abs() / reference;
    assert!(
        relative < 0.005,
        "perplexity {} against {reference}",
        result.perplexity()
    );
}
