//! Scores a Hugging Face model folder, and optionally `.entro` files of it, on a text:
//! `cargo run --release -p entro-eval --example score -- MODEL_DIR TEXT [FILE.entro ...]`.
//! The `entro eval` command does the same with a progress bar, a table and JSON output.

use std::time::Instant;

use entro_eval::{EvalOptions, Evaluator, ModelDir, Score, Weights};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, text, files @ ..] = args.as_slice() else {
        return Err("usage: score MODEL_DIR TEXT [FILE.entro ...]".into());
    };
    let dir = ModelDir::open(model)?;
    let text = std::fs::read_to_string(text)?;
    let mut evaluator = Evaluator::new(dir, &text, EvalOptions::default())?;
    println!("{} units of work per checkpoint", evaluator.work());
    let start = Instant::now();
    let original = evaluator.model().load_weights()?;
    let reference = evaluator.score(&original, &mut |_, _| {})?;
    report("original", &original, &reference, &reference, start);
    for file in files {
        let start = Instant::now();
        let weights = Weights::from_entro(file, 0)?;
        let score = evaluator.score(&weights, &mut |_, _| {})?;
        report(file, &weights, &score, &reference, start);
    }
    Ok(())
}

fn report(name: &str, weights: &Weights, score: &Score, reference: &Score, start: Instant) {
    let detail = match score {
        Score::Perplexity(result) => format!(
            "perplexity {:.4} over {} tokens",
            result.perplexity(),
            result.tokens
        ),
        Score::Embedding(result) => format!(
            "mean cosine {:.6}, min {:.6} over {} lines",
            result.mean_cosine, result.min_cosine, result.lines
        ),
    };
    println!(
        "{name}: {:.3} bits/weight, {detail} ({:+.3} %), {:.1} s",
        weights.bits_per_weight(),
        score.change_percent(reference),
        start.elapsed().as_secs_f64()
    );
}
