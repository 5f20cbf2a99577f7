//! `entro eval`: what compression did to the model, measured on the user's own checkpoint.
//!
//! Llama-family models are scored by perplexity (windows of `--window + 1` tokens, every token
//! but the first scored once, no BOS); BERT-family encoders by the mean and minimum cosine
//! similarity of their mean-pooled sentence embeddings to the original's, line by line.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use entro_eval::{Architecture, EvalOptions, Evaluator, ModelDir, Score, Weights};
use serde::Serialize;

use crate::error::usage;
use crate::interrupt;
use crate::ui::Ui;

/// Raw flags of `entro eval`.
#[derive(Debug, Args)]
pub(crate) struct EvalFlags {
    /// Hugging Face model folder: config.json, tokenizer.json and the original safetensors.
    #[arg(long, value_name = "HF_DIR")]
    pub(crate) model: PathBuf,
    /// A compressed version of the model to score against the original (repeatable).
    #[arg(long = "entro", value_name = "FILE.entro")]
    pub(crate) entro: Vec<PathBuf>,
    /// The text to score (UTF-8).
    #[arg(long, value_name = "FILE")]
    pub(crate) text: PathBuf,
    /// Perplexity: tokens scored per window (windows hold one more token).
    #[arg(long, default_value_t = entro_eval::perplexity::DEFAULT_STRIDE)]
    pub(crate) window: usize,
    /// Embedding fidelity: compare at most this many non-empty lines (default: all).
    #[arg(long, value_name = "N")]
    pub(crate) lines: Option<usize>,
    /// Decoder threads for .entro files (default: all available cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// One scored checkpoint; `--json` prints a list of these.
#[derive(Debug, Clone, Serialize)]
struct Row {
    /// `original` or the `.entro` file's path.
    name: String,
    file_bytes: u64,
    parameters: u64,
    bits_per_weight: f64,
    /// Perplexity (llama) or mean cosine similarity (bert).
    score: f64,
    /// Change of `score` from the original's, in percent.
    change_percent: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    perplexity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean_nll: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean_cosine: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_cosine: Option<f64>,
    seconds: f64,
}

/// Everything `eval` measured; `--json` prints exactly this.
#[derive(Debug, Clone, Serialize)]
struct Report {
    model: String,
    architecture: &'static str,
    /// `perplexity` or `embedding_cosine`.
    metric: &'static str,
    text: String,
    /// Tokens scored (perplexity) or lines compared (embeddings).
    scored: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<usize>,
    results: Vec<Row>,
}

pub(crate) fn run(flags: &EvalFlags, ui: &Ui, out: &mut dyn Write) -> anyhow::Result<()> {
    if flags.window == 0 || flags.window > entro_eval::perplexity::MAX_STRIDE {
        return Err(usage!(
            "--window {} must be in 1..={}",
            flags.window,
            entro_eval::perplexity::MAX_STRIDE
        )
        .into());
    }
    if flags.lines == Some(0) {
        return Err(usage!("--lines must be at least 1").into());
    }
    let threads = match flags.threads {
        Some(0) => return Err(usage!("--threads must be at least 1").into()),
        Some(n) => n,
        None => 0,
    };
    let model = ModelDir::open(&flags.model)
        .with_context(|| format!("model folder {}", flags.model.display()))?;
    let text = std::fs::read_to_string(&flags.text)
        .with_context(|| format!("cannot read {}", flags.text.display()))?;
    let architecture = model.architecture().name();
    let perplexity = matches!(model.architecture(), Architecture::Llama(_));
    let options = EvalOptions {
        stride: flags.window,
        max_lines: flags.lines,
    };
    let mut evaluator = Evaluator::new(model, &text, options)?;
    let mut report = Report {
        model: flags.model.display().to_string(),
        architecture,
        metric: if perplexity {
            "perplexity"
        } else {
            "embedding_cosine"
        },
        text: flags.text.display().to_string(),
        scored: evaluator.work(),
        window: perplexity.then_some(flags.window),
        results: Vec::new(),
    };
    ui.note(format!(
        "{}: {architecture}, scoring {} {} of {}",
        flags.model.display(),
        evaluator.work(),
        if perplexity { "tokens" } else { "lines" },
        flags.text.display()
    ));

    let mut baseline = None;
    let candidates = std::iter::once(None).chain(flags.entro.iter().map(Some));
    for candidate in candidates {
        interrupt::check()?;
        let start = Instant::now();
        let (name, weights) = match candidate {
            None => ("original".to_owned(), evaluator.model().load_weights()?),
            Some(path) => (
                path.display().to_string(),
                Weights::from_entro(path, threads)?,
            ),
        };
        let bar = ui.count_bar(evaluator.work() as u64, "eval");
        bar.set_message(name.clone());
        let score = evaluator.score(&weights, &mut |done, _| bar.set_position(done as u64))?;
        bar.finish_and_clear();
        let original = *baseline.get_or_insert(score);
        let row = row(
            name,
            &weights,
            &score,
            &original,
            start.elapsed().as_secs_f64(),
        );
        ui.note(format!(
            "{}: {:.3} bits/weight, {} {:.4} ({:+.3} %)",
            row.name, row.bits_per_weight, report.metric, row.score, row.change_percent
        ));
        report.results.push(row);
    }
    if flags.json {
        serde_json::to_writer(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        print_table(&report, out)?;
    }
    Ok(())
}

fn row(name: String, weights: &Weights, score: &Score, reference: &Score, seconds: f64) -> Row {
    let (perplexity, mean_nll, mean_cosine, min_cosine) = match score {
        Score::Perplexity(result) => (
            Some(result.perplexity()),
            Some(result.mean_nll()),
            None,
            None,
        ),
        Score::Embedding(result) => (
            None,
            None,
            Some(result.mean_cosine),
            Some(result.min_cosine),
        ),
    };
    Row {
        name,
        file_bytes: weights.file_bytes(),
        parameters: weights.parameters(),
        bits_per_weight: weights.bits_per_weight(),
        score: score.value(),
        change_percent: score.change_percent(reference),
        perplexity,
        mean_nll,
        mean_cosine,
        min_cosine,
        seconds,
    }
}

fn print_table(report: &Report, out: &mut dyn Write) -> anyhow::Result<()> {
    let width = report
        .results
        .iter()
        .map(|row| row.name.len())
        .max()
        .unwrap_or(0)
        .max("checkpoint".len());
    if report.metric == "perplexity" {
        writeln!(
            out,
            "{} ({}): perplexity over {} tokens of {}, windows of {}",
            report.model,
            report.architecture,
            report.scored,
            report.text,
            report.window.unwrap_or(0) + 1
        )?;
        writeln!(
            out,
            "{:<width$}  {:>11}  {:>10}  {:>9}",
            "checkpoint", "bits/weight", "perplexity", "change"
        )?;
        for row in &report.results {
            writeln!(
                out,
                "{:<width$}  {:>11.3}  {:>10.4}  {:>+8.3}%",
                row.name,
                row.bits_per_weight,
                row.perplexity.unwrap_or(f64::NAN),
                row.change_percent
            )?;
        }
    } else {
        writeln!(
            out,
            "{} ({}): sentence-embedding cosine to the original over {} lines of {}",
            report.model, report.architecture, report.scored, report.text
        )?;
        writeln!(
            out,
            "{:<width$}  {:>11}  {:>11}  {:>10}  {:>9}",
            "checkpoint", "bits/weight", "mean cosine", "min cosine", "change"
        )?;
        for row in &report.results {
            writeln!(
                out,
                "{:<width$}  {:>11.3}  {:>11.6}  {:>10.6}  {:>+8.3}%",
                row.name,
                row.bits_per_weight,
                row.mean_cosine.unwrap_or(f64::NAN),
                row.min_cosine.unwrap_or(f64::NAN),
                row.change_percent
            )?;
        }
    }
    Ok(())
}
