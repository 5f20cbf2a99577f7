//! Reading `entro eval --json`, and the frontier as a Markdown table and as JSON.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::{LLAMA_CPP, Metric, ModelResult, Point, SETTINGS, Setting};

/// The two targets: (bits/weight at most, perplexity change at most in percent, mean
/// cosine at least), to hold on both models with one setting.
pub(crate) const TARGETS: [(f64, f64, f64); 2] = [(6.0, 0.5, 0.9995), (4.5, 2.0, 0.99)];

/// Turns `entro eval --json` output into points (its results come in the order of `files`, after
/// the original).
pub(crate) fn parse(
    name: &'static str,
    metric: Metric,
    json: &serde_json::Value,
    files: &[(Setting, PathBuf)],
    refused: Vec<(Setting, String)>,
) -> Result<ModelResult> {
    let results = json["results"]
        .as_array()
        .context("no results in entro eval's output")?;
    if results.len() != files.len() + 1 {
        bail!(
            "entro eval scored {} checkpoints, expected {}",
            results.len(),
            files.len() + 1
        );
    }
    let number = |row: &serde_json::Value, key: &str| -> Result<f64> {
        row[key]
            .as_f64()
            .with_context(|| format!("entro eval's output lacks `{key}`"))
    };
    let original = &results[0];
    let mut points = Vec::with_capacity(files.len());
    for ((setting, _), row) in files.iter().zip(&results[1..]) {
        points.push(Point {
            setting: *setting,
            bits_per_weight: number(row, "bits_per_weight")?,
            score: number(row, "score")?,
            min_cosine: row["min_cosine"].as_f64(),
            change_percent: number(row, "change_percent")?,
        });
    }
    Ok(ModelResult {
        name,
        metric,
        original_bits: number(original, "bits_per_weight")?,
        original_score: number(original, "score")?,
        scored: json["scored"].as_u64().unwrap_or(0),
        points,
        refused,
    })
}

/// Whether `point` meets target `index` for its model's metric.
pub(crate) fn meets(metric: Metric, point: &Point, index: usize) -> bool {
    let (bits, change, cosine) = TARGETS[index];
    point.bits_per_weight <= bits
        && match metric {
            Metric::Perplexity => point.change_percent <= change,
            Metric::Cosine => point.score >= cosine,
        }
}

/// Points no other point beats on both size and quality.
pub(crate) fn pareto(result: &ModelResult) -> Vec<&Point> {
    let better = |a: &Point, b: &Point| match result.metric {
        Metric::Perplexity => a.score <= b.score,
        Metric::Cosine => a.score >= b.score,
    };
    let mut front: Vec<&Point> = result
        .points
        .iter()
        .filter(|p| {
            !result.points.iter().any(|q| {
                q.bits_per_weight <= p.bits_per_weight
                    && better(q, p)
                    && (q.bits_per_weight < p.bits_per_weight || q.score != p.score)
            })
        })
        .collect();
    front.sort_by(|a, b| a.bits_per_weight.total_cmp(&b.bits_per_weight));
    front
}

pub(crate) fn markdown(results: &[ModelResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Rate-distortion frontier\n");
    let _ = writeln!(
        out,
        "Made by `cargo xtask frontier`. Bits/weight = whole `.entro` file bytes x 8 / parameters \
         (codes, codebooks, block parameters, chunk tables, tensors kept exactly, header). \
         Every file is entropy-coded. **paper** marks the paper's per-tensor 8- and 4-bit points, \
         **preset** the `entro compress --preset` settings, **frontier** the Pareto-optimal points.\n"
    );
    for result in results {
        let front = pareto(result);
        let on_front = |p: &Point| front.iter().any(|f| std::ptr::eq(*f, p));
        let (what, unit) = match result.metric {
            Metric::Perplexity => ("perplexity", format!("{} tokens", result.scored)),
            Metric::Cosine => ("mean cosine", format!("{} lines", result.scored)),
        };
        let _ = writeln!(
            out,
            "## {} ({what} over {unit}; original {:.3} bits/weight, {what} {:.4})\n",
            result.name, result.original_bits, result.original_score
        );
        let extra = if result.metric == Metric::Cosine {
            " min cosine |"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| setting | bits/weight | {what} | change |{extra} notes |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|{}---|",
            if extra.is_empty() { "" } else { "---:|" }
        );
        for point in &result.points {
            let mut notes = Vec::new();
            if point.setting.paper {
                notes.push("**paper**");
            }
            if point.setting.preset {
                notes.push("**preset**");
            }
            if on_front(point) {
                notes.push("frontier");
            }
            let min = point
                .min_cosine
                .map(|m| format!(" {m:.5} |"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {:.3} | {:.4} | {:+.2} % |{min} {} |",
                point.setting.label,
                point.bits_per_weight,
                point.score,
                point.change_percent,
                notes.join(", ")
            );
        }
        for (format, bits) in LLAMA_CPP {
            let blank = if extra.is_empty() { "" } else { " |" };
            let _ = writeln!(
                out,
                "| llama.cpp {format} | {bits:.2} | | |{blank} size only, not measured here |"
            );
        }
        for (setting, reason) in &result.refused {
            let _ = writeln!(out, "\n`{}`: not applicable ({reason})", setting.label);
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Targets (one setting, both models)\n");
    for (index, (bits, change, cosine)) in TARGETS.iter().enumerate() {
        let both: Vec<&str> = SETTINGS
            .iter()
            .filter(|setting| {
                results.iter().all(|result| {
                    result
                        .points
                        .iter()
                        .any(|p| p.setting.label == setting.label && meets(result.metric, p, index))
                })
            })
            .map(|setting| setting.label)
            .collect();
        let _ = writeln!(
            out,
            "- at most {bits} bits/weight, perplexity within {change} %, mean cosine at least {cosine}: {}",
            if both.is_empty() {
                "**not met** by any setting".to_owned()
            } else {
                format!("met by {}", both.join(", "))
            }
        );
        for result in results {
            let best = result
                .points
                .iter()
                .filter(|p| p.bits_per_weight <= *bits)
                .max_by(|a, b| match result.metric {
                    Metric::Perplexity => b.score.total_cmp(&a.score),
                    Metric::Cosine => a.score.total_cmp(&b.score),
                });
            if let Some(best) = best {
                let _ = writeln!(
                    out,
                    "  - {}: best within {bits} bits/weight is {} at {:.3} bits/weight, {:.4} ({:+.2} %)",
                    result.name,
                    best.setting.label,
                    best.bits_per_weight,
                    best.score,
                    best.change_percent
                );
            }
        }
    }
    out
}

pub(crate) fn json(results: &[ModelResult]) -> String {
    let models: Vec<serde_json::Value> = results
        .iter()
        .map(|result| {
            serde_json::json!({
                "model": result.name,
                "metric": match result.metric { Metric::Perplexity => "perplexity", Metric::Cosine => "mean_cosine" },
                "original_bits_per_weight": result.original_bits,
                "original_score": result.original_score,
                "scored": result.scored,
                "points": result.points.iter().map(|p| serde_json::json!({
                    "setting": p.setting.label,
                    "flags": p.setting.flags,
                    "bits_per_weight": p.bits_per_weight,
                    "score": p.score,
                    "min_cosine": p.min_cosine,
                    "change_percent": p.change_percent,
                })).collect::<Vec<_>>(),
                "refused": result.refused.iter().map(|(s, r)| serde_json::json!({"setting": s.label, "reason": r})).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&models).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(label: &'static str, bits_per_weight: f64, score: f64, change_percent: f64) -> Point {
        Point {
            setting: super::super::setting(label, &[]),
            bits_per_weight,
            score,
            min_cosine: None,
            change_percent,
        }
    }

    fn result(metric: Metric, points: Vec<Point>) -> ModelResult {
        ModelResult {
            name: "m",
            metric,
            original_bits: 16.0,
            original_score: 10.0,
            scored: 100,
            points,
            refused: Vec::new(),
        }
    }

    #[test]
    fn pareto_keeps_only_undominated_points() {
        let perplexity = result(
            Metric::Perplexity,
            vec![
                point("a", 8.0, 10.1, 1.0),
                point("b", 6.0, 10.5, 5.0),
                point("c", 7.0, 10.6, 6.0),
                point("d", 4.0, 30.0, 200.0),
            ],
        );
        let labels: Vec<_> = pareto(&perplexity)
            .iter()
            .map(|p| p.setting.label)
            .collect();
        assert_eq!(labels, ["d", "b", "a"]);
        let cosine = result(
            Metric::Cosine,
            vec![point("a", 8.0, 0.999, -0.1), point("b", 9.0, 0.99, -1.0)],
        );
        let labels: Vec<_> = pareto(&cosine).iter().map(|p| p.setting.label).collect();
        assert_eq!(labels, ["a"]);
    }

    #[test]
    fn targets_need_both_size_and_quality() {
        assert!(meets(Metric::Perplexity, &point("a", 5.9, 10.0, 0.4), 0));
        assert!(!meets(Metric::Perplexity, &point("a", 6.1, 10.0, 0.4), 0));
        assert!(!meets(Metric::Perplexity, &point("a", 5.0, 10.0, 0.6), 0));
        assert!(meets(Metric::Cosine, &point("a", 4.4, 0.995, -0.5), 1));
        assert!(!meets(Metric::Cosine, &point("a", 4.4, 0.985, -1.5), 1));
    }
}
