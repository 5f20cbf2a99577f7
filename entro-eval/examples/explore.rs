//! Research tool behind the frontier presets: quantizes a model in memory under per-tensor rules,
//! estimates the `.entro` size from the real Huffman coder, and scores the result.
//!
//! ```text
//! cargo run --release -p entro-eval --example explore -- MODEL_DIR TEXT [--tokens N] [--lines N] \
//!     [--sensitivity CHOICE] [--calibrate TEXT] RULES...
//! ```
//!
//! RULES is a comma-separated list of `PATTERN=CHOICE` (the first pattern contained in the tensor
//! name wins; `*` matches all). CHOICE is `keep`, `BITS:GRANULARITY[:clip][:sym]` (for example
//! `8:channel`, `4:group64:clip`), `sym:E` (one symmetric 8-bit grid per tensor with step
//! `max(maxabs / 127, E * rms)`), or `row:E` (per-row asymmetric 8-bit grids with step
//! `max(range / 255, E * rms of the tensor)`). With `--sensitivity CHOICE`, each tensor class
//! (name without its layer number) is quantized alone with CHOICE and the score change printed.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use entro_eval::calibrate::Calibration;
use entro_eval::candle_core::{Device, Tensor};
use entro_eval::gptq::quantize_calibrated;
use entro_eval::preset::row_budget_params;
use entro_eval::{EvalOptions, Evaluator, ModelDir, Score, Weights};
use entro_format::encode_quantized;
use entro_quant::{
    BlockParams, ChosenScheme, FloatSlice, FloatSliceMut, Granularity, QuantConfig, QuantParams,
    QuantReport, Scheme, dequantize, quantize, quantize_with_params,
};

type Error = Box<dyn std::error::Error>;

#[derive(Debug, Clone)]
enum Choice {
    Keep,
    Config(QuantConfig),
    SymmetricBudget(f32),
    RowBudget(f32),
}

fn parse_choice(text: &str) -> Result<Choice, Error> {
    if text == "keep" {
        return Ok(Choice::Keep);
    }
    if let Some(e) = text.strip_prefix("sym:") {
        return Ok(Choice::SymmetricBudget(e.parse()?));
    }
    if let Some(e) = text.strip_prefix("row:") {
        return Ok(Choice::RowBudget(e.parse()?));
    }
    let mut parts = text.split(':');
    let bits: u8 = parts.next().ok_or("empty choice")?.parse()?;
    let granularity = match parts.next().unwrap_or("tensor") {
        "tensor" => Granularity::Tensor,
        "channel" => Granularity::Channel,
        group => Granularity::Group(group.trim_start_matches("group").parse()?),
    };
    let mut config = QuantConfig {
        bits,
        granularity,
        ..QuantConfig::default()
    };
    for flag in parts {
        match flag {
            "clip" => config.clip = true,
            "sym" => config.scheme = Scheme::Symmetric,
            "asym" => config.scheme = Scheme::Asymmetric,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(Choice::Config(config))
}

fn parse_rules(text: &str) -> Result<Vec<(String, Choice)>, Error> {
    text.split(',')
        .map(|rule| {
            let (pattern, choice) = rule.split_once('=').ok_or("rule without =")?;
            Ok((pattern.to_owned(), parse_choice(choice)?))
        })
        .collect()
}

fn choose<'a>(rules: &'a [(String, Choice)], name: &str) -> &'a Choice {
    rules
        .iter()
        .find(|(pattern, _)| pattern == "*" || name.contains(pattern.as_str()))
        .map_or(&Choice::Keep, |(_, choice)| choice)
}

/// Budget parameters: one block (symmetric) or one block per row (asymmetric).
fn budget_params(values: &[f32], shape: &[usize], choice: &Choice) -> Result<QuantParams, Error> {
    let rms = values.iter().map(|v| v * v).sum::<f32>().sqrt() / (values.len() as f32).sqrt();
    match *choice {
        Choice::SymmetricBudget(e) => {
            let max_abs = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = (max_abs / 127.0).max(e * rms).max(f32::MIN_POSITIVE);
            Ok(QuantParams::new(
                8,
                ChosenScheme::Symmetric,
                Granularity::Tensor,
                vec![BlockParams {
                    scale,
                    zero_point: 128,
                }],
                shape,
            )?)
        }
        Choice::RowBudget(e) => Ok(row_budget_params(
            "tensor",
            FloatSlice::F32(values),
            shape,
            e,
        )?),
        _ => Err("not a budget choice".into()),
    }
}

/// Quantizes one tensor; returns its dequantized values and its encoded size in bytes.
fn apply(
    name: &str,
    values: &[f32],
    shape: &[usize],
    choice: &Choice,
    raw_bytes: u64,
    calibration: Option<&Calibration>,
) -> Result<(Vec<f32>, u64), Error> {
    if matches!(choice, Choice::Keep) || shape.len() < 2 {
        return Ok((values.to_vec(), values.len() as u64 * raw_bytes));
    }
    let mut codes = vec![0u8; values.len()];
    let report: QuantReport = match choice {
        Choice::Config(config) => {
            quantize(name, FloatSlice::F32(values), shape, config, &mut codes)?
        }
        _ => {
            let params = budget_params(values, shape, choice)?;
            match calibration.and_then(|c| c.gram(name)) {
                Some(gram) if matches!(choice, Choice::RowBudget(_)) => quantize_calibrated(
                    name,
                    FloatSlice::F32(values),
                    shape,
                    &params,
                    gram,
                    &mut codes,
                )?,
                _ => {
                    quantize_with_params(name, FloatSlice::F32(values), shape, &params, &mut codes)?
                }
            }
        }
    };
    let mut restored = vec![0f32; values.len()];
    dequantize(
        &codes,
        &report.params,
        shape,
        FloatSliceMut::F32(&mut restored),
    )?;
    let blocks = report.params.blocks.len() as u64;
    let encoded = encode_quantized(name, &codes, shape, report.params, report.stats, 1 << 16)?;
    let mut codebook = Vec::new();
    encoded.codebook().to_bytes(&mut codebook);
    let bytes = encoded.payload().len() as u64
        + 8 * blocks
        + codebook.len() as u64
        + 6 * encoded.chunks().len() as u64
        + 120;
    Ok((restored, bytes))
}

struct Original {
    tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    /// Input Gram matrices for calibrated rounding of row grids (`--calibrate TEXT`).
    calibration: Option<Calibration>,
    /// Bytes per element of the checkpoint's own type (tensors kept exactly cost this).
    raw_bytes: u64,
}

fn quantized_weights(
    original: &Original,
    rule: &dyn Fn(&str) -> Choice,
) -> Result<(Weights, f64), Error> {
    let mut map = HashMap::new();
    let (mut bytes, mut params) = (0u64, 0u64);
    let mut classes: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (name, shape, values) in &original.tensors {
        let (restored, size) = apply(
            name,
            values,
            shape,
            &rule(name),
            original.raw_bytes,
            original.calibration.as_ref(),
        )?;
        bytes += size;
        params += values.len() as u64;
        let class = classes.entry(class_of(name)).or_default();
        class.0 += size;
        class.1 += values.len() as u64;
        map.insert(
            name.clone(),
            Tensor::from_vec(restored, shape.as_slice(), &Device::Cpu)?,
        );
    }
    if std::env::var_os("EXPLORE_DETAIL").is_some() {
        for (class, (size, count)) in classes.iter().filter(|c| (c.1).1 > 10_000) {
            let share = *count as f64 / params as f64 * 100.0;
            println!(
                "    {class:56} {:6.3} b/w  {share:5.1} % of weights",
                *size as f64 * 8.0 / *count as f64
            );
        }
    }
    Ok((
        Weights::from_tensors(map)?,
        bytes as f64 * 8.0 / params as f64,
    ))
}

fn class_of(name: &str) -> String {
    name.split('.')
        .filter(|part| part.parse::<u32>().is_err())
        .collect::<Vec<_>>()
        .join(".")
}

fn describe(score: &Score) -> String {
    match score {
        Score::Perplexity(r) => format!("ppl {:.4}", r.perplexity()),
        Score::Embedding(r) => format!("cos mean {:.5} min {:.5}", r.mean_cosine, r.min_cosine),
    }
}

fn main() -> Result<(), Error> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut take = |flag: &str| -> Option<String> {
        let at = args.iter().position(|a| a == flag)?;
        args.remove(at);
        Some(args.remove(at))
    };
    let tokens: Option<usize> = take("--tokens").map(|t| t.parse()).transpose()?;
    let lines: Option<usize> = take("--lines").map(|t| t.parse()).transpose()?;
    let calibrate = take("--calibrate");
    let sensitivity = take("--sensitivity")
        .map(|c| parse_choice(&c))
        .transpose()?;
    let [model, text, rules @ ..] = args.as_slice() else {
        return Err("usage: explore MODEL_DIR TEXT [options] RULES...".into());
    };
    let dir = ModelDir::open(model)?;
    let mut text = std::fs::read_to_string(text)?;
    if let Some(chars) = tokens.map(|t| t * 4) {
        // About four characters per token: enough to cut a quick sub-text.
        text.truncate(
            text.char_indices()
                .nth(chars)
                .map_or(text.len(), |(i, _)| i),
        );
    }
    let options = EvalOptions {
        max_lines: lines,
        ..EvalOptions::default()
    };
    let mut evaluator = Evaluator::new(dir, &text, options)?;
    let source = evaluator.model().load_weights()?;
    let calibration = calibrate
        .map(|path| -> Result<Calibration, Error> {
            let text = std::fs::read_to_string(path)?;
            Ok(Calibration::from_text(
                evaluator.model(),
                &source,
                &text,
                None,
            )?)
        })
        .transpose()?;
    let original = Original {
        tensors: source
            .names()
            .into_iter()
            .map(|name| {
                let tensor = source.get(name).expect("listed");
                let values = tensor.flatten_all()?.to_vec1::<f32>()?;
                Ok((name.to_owned(), tensor.dims().to_vec(), values))
            })
            .collect::<Result<_, Error>>()?,
        calibration,
        raw_bytes: if source.bits_per_weight() > 24.0 {
            4
        } else {
            2
        },
    };
    let start = Instant::now();
    let reference = evaluator.score(&source, &mut |_, _| {})?;
    println!(
        "original: {} ({} units, {:.1} s)",
        describe(&reference),
        evaluator.work(),
        start.elapsed().as_secs_f64()
    );
    if let Some(choice) = sensitivity {
        let classes: BTreeMap<String, ()> = original
            .tensors
            .iter()
            .filter(|t| t.1.len() >= 2)
            .map(|t| (class_of(&t.0), ()))
            .collect();
        for class in classes.keys() {
            let rule = |name: &str| {
                if class_of(name) == *class {
                    choice.clone()
                } else {
                    Choice::Keep
                }
            };
            let (weights, _) = quantized_weights(&original, &rule)?;
            let score = evaluator.score(&weights, &mut |_, _| {})?;
            println!(
                "{class:60} {} ({:+.4} %)",
                describe(&score),
                score.change_percent(&reference)
            );
        }
    }
    for text in rules {
        let start = Instant::now();
        let parsed = parse_rules(text)?;
        let rule = |name: &str| choose(&parsed, name).clone();
        let (weights, bits) = quantized_weights(&original, &rule)?;
        let score = evaluator.score(&weights, &mut |_, _| {})?;
        println!(
            "{text:50} {bits:.3} b/w  {} ({:+.4} %)  {:.1} s",
            describe(&score),
            score.change_percent(&reference),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
