//! The frontier as a hand-written SVG: one panel per model, bits/weight across, quality loss up a
//! log scale (perplexity change for SmolLM2, 1 - mean cosine for MiniLM).

use std::fmt::Write as _;

use super::table::{TARGETS, pareto};
use super::{LLAMA_CPP, Metric, ModelResult, Point};

const PANEL_WIDTH: f64 = 520.0;
const PANEL_HEIGHT: f64 = 380.0;
const MARGIN: f64 = 60.0;
/// Bits per weight across the panel, whole numbers.
const X_BITS: (u32, u32) = (1, 9);
const X_RANGE: (f64, f64) = (X_BITS.0 as f64, X_BITS.1 as f64);
/// Powers of ten up the loss axis: 1e-5 .. 10.
const Y_POWERS: (i32, i32) = (-5, 1);
const Y_RANGE: (f64, f64) = (Y_POWERS.0 as f64, Y_POWERS.1 as f64);

/// Quality loss, positive and growing as the model gets worse: relative perplexity increase
/// (`ppl / original - 1`) or `1 - mean cosine`.
fn loss(metric: Metric, point: &Point) -> f64 {
    match metric {
        Metric::Perplexity => point.change_percent / 100.0,
        Metric::Cosine => 1.0 - point.score,
    }
}

pub(crate) fn svg(results: &[ModelResult]) -> String {
    let width = MARGIN + results.len().max(1) as f64 * (PANEL_WIDTH + MARGIN);
    let height = PANEL_HEIGHT + 2.5 * MARGIN;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (index, result) in results.iter().enumerate() {
        let left = MARGIN + index as f64 * (PANEL_WIDTH + MARGIN);
        panel(&mut out, result, left, MARGIN);
    }
    let legend_y = height - 18.0;
    let _ = writeln!(
        out,
        r##"<text x="{MARGIN}" y="{legend_y}">grey: every setting; red squares: the paper's per-tensor 8/4-bit points; green diamonds: presets; blue line: Pareto frontier; dashed: llama.cpp sizes; orange boxes: the targets</text>"##
    );
    out.push_str("</svg>\n");
    out
}

fn panel(out: &mut String, result: &ModelResult, left: f64, top: f64) {
    let x = |bits: f64| left + (bits - X_RANGE.0) / (X_RANGE.1 - X_RANGE.0) * PANEL_WIDTH;
    let y = |loss: f64| {
        let log = loss.max(1e-5).log10().clamp(Y_RANGE.0, Y_RANGE.1);
        top + (Y_RANGE.1 - log) / (Y_RANGE.1 - Y_RANGE.0) * PANEL_HEIGHT
    };
    let (bottom, right) = (top + PANEL_HEIGHT, left + PANEL_WIDTH);
    let what = match result.metric {
        Metric::Perplexity => "relative perplexity increase",
        Metric::Cosine => "1 - mean cosine similarity",
    };
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="{}" font-size="14" font-weight="bold">{} ({what}, log scale)</text>"#,
        top - 20.0,
        result.name
    );
    let _ = writeln!(
        out,
        r#"<rect x="{left}" y="{top}" width="{PANEL_WIDTH}" height="{PANEL_HEIGHT}" fill="none" stroke="black"/>"#
    );
    for bits in X_BITS.0..=X_BITS.1 {
        let px = x(f64::from(bits));
        let _ = writeln!(
            out,
            r##"<line x1="{px}" y1="{top}" x2="{px}" y2="{bottom}" stroke="#eee"/><text x="{px}" y="{}" text-anchor="middle">{bits}</text>"##,
            bottom + 14.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">bits per weight (whole file)</text>"#,
        left + PANEL_WIDTH / 2.0,
        bottom + 30.0
    );
    for exponent in Y_POWERS.0..=Y_POWERS.1 {
        let py = y(10f64.powi(exponent));
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{py}" x2="{right}" y2="{py}" stroke="#eee"/><text x="{}" y="{}" text-anchor="end">1e{exponent}</text>"##,
            left - 4.0,
            py + 4.0
        );
    }
    for (index, (bits, change, cosine)) in TARGETS.iter().enumerate() {
        let limit = match result.metric {
            Metric::Perplexity => change / 100.0,
            Metric::Cosine => 1.0 - cosine,
        };
        let (x0, y0) = (x(X_RANGE.0), y(limit));
        let _ = writeln!(
            out,
            r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="none" stroke="orange" stroke-dasharray="6 3"/><text x="{}" y="{}" fill="darkorange">target {}</text>"##,
            x(*bits) - x0,
            bottom - y0,
            x(*bits) - 52.0,
            y0 - 4.0,
            index + 1
        );
    }
    for (format, bits) in LLAMA_CPP {
        let px = x(*bits);
        let _ = writeln!(
            out,
            r##"<line x1="{px}" y1="{top}" x2="{px}" y2="{bottom}" stroke="#888" stroke-dasharray="3 3"/><text x="{px}" y="{}" transform="rotate(-90 {px} {})" fill="#666">llama.cpp {format}</text>"##,
            top + 70.0,
            top + 70.0
        );
    }
    let front: Vec<String> = pareto(result)
        .iter()
        .filter(|p| (X_RANGE.0..=X_RANGE.1).contains(&p.bits_per_weight))
        .map(|p| {
            format!(
                "{:.1},{:.1}",
                x(p.bits_per_weight),
                y(loss(result.metric, p))
            )
        })
        .collect();
    let _ = writeln!(
        out,
        r#"<polyline points="{}" fill="none" stroke="steelblue" stroke-width="2"/>"#,
        front.join(" ")
    );
    for point in &result.points {
        if !(X_RANGE.0..=X_RANGE.1).contains(&point.bits_per_weight) {
            continue;
        }
        let (px, py) = (x(point.bits_per_weight), y(loss(result.metric, point)));
        let shape = if point.setting.preset {
            format!(
                r#"<path d="M{px} {} l6 6 l-6 6 l-6 -6 z" fill="green"/>"#,
                py - 6.0
            )
        } else if point.setting.paper {
            format!(
                r#"<rect x="{}" y="{}" width="9" height="9" fill="crimson"/>"#,
                px - 4.5,
                py - 4.5
            )
        } else {
            format!(r##"<circle cx="{px}" cy="{py}" r="3.5" fill="#999"/>"##)
        };
        let _ = writeln!(
            out,
            "{shape}<title>{}: {:.3} bits/weight, {:.4} ({:+.2} %)</title>",
            point.setting.label, point.bits_per_weight, point.score, point.change_percent
        );
        if point.setting.preset || point.setting.paper {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{}">{}</text>"#,
                px + 7.0,
                py + 4.0,
                point.setting.label
            );
        }
    }
}
