//! The text table `inspect` prints (without `--json`).

use super::{FileReport, Totals};
use crate::format::{Align, Table, human_bytes, human_count};

/// A ratio row: the file against every weight stored at `bits` bits.
fn baseline(total: &Totals, bits: u64) -> String {
    let ratio = match bits {
        16 => total.ratio_vs_fp16,
        8 => total.ratio_vs_uint8,
        _ => total.ratio_vs_uint4,
    };
    format!(
        "{ratio:.2}x  ({} at {bits} bits/weight)",
        human_bytes(total.weights * bits / 8)
    )
}

pub(super) fn render(report: &FileReport) -> String {
    let mut table = Table::new(&[
        ("tensor", Align::Left),
        ("shape", Align::Left),
        ("dtype", Align::Left),
        ("encoding", Align::Left),
        ("bits", Align::Right),
        ("scheme", Align::Left),
        ("entropy", Align::Right),
        ("coded", Align::Right),
        ("rel RMS %", Align::Right),
        ("max |err|", Align::Right),
        ("SNR dB", Align::Right),
    ]);
    let dash = || "-".to_owned();
    for t in &report.tensors {
        let shape = t
            .shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("x");
        let scheme = match (t.scheme, t.negated) {
            (Some(s), true) => format!("{s} (neg)"),
            (Some(s), false) => s.to_owned(),
            (None, _) => dash(),
        };
        let quantized = t.encoding == "quantized";
        table.push(vec![
            t.name.clone(),
            if shape.is_empty() {
                "scalar".to_owned()
            } else {
                shape
            },
            t.dtype.clone(),
            t.encoding.to_owned(),
            t.bits.to_string(),
            scheme,
            t.entropy_bits.map_or_else(dash, |h| format!("{h:.3}")),
            format!("{:.3}", t.coded_bits),
            if quantized {
                t.rel_rms_error
                    .map_or_else(dash, |e| format!("{:.3}", e * 100.0))
            } else {
                "exact".to_owned()
            },
            if quantized {
                t.max_abs_error.map_or_else(dash, |e| format!("{e:.3e}"))
            } else {
                dash()
            },
            match (quantized, t.snr_db) {
                (true, Some(snr)) => format!("{snr:.1}"),
                (true, None) => "inf".to_owned(),
                (false, _) => dash(),
            },
        ]);
    }
    let total = &report.total;
    let settings = report
        .settings
        .iter()
        .filter(|(key, _)| key.as_str() != "tool")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = format!("{}  ({settings})\n\n", report.file);
    out.push_str(&table.render());
    out.push_str(
        "\nentropy and coded are bits per weight; coded counts the payload only (Huffman or lossless chunks, or raw bytes)\n\n",
    );
    let mut totals = Table::new(&[("total", Align::Left), ("", Align::Left)]);
    let rows = [
        (
            "weights",
            if total.lossless_tensors > 0 {
                format!(
                    "{} ({} in {} lossless tensors, {} kept exactly)",
                    human_count(total.weights),
                    human_count(total.lossless_weights),
                    total.lossless_tensors,
                    human_count(total.weights - total.lossless_weights - total.quantized_weights)
                )
            } else {
                format!(
                    "{} ({} in {} quantized tensors, {} kept exactly)",
                    human_count(total.weights),
                    human_count(total.quantized_weights),
                    total.quantized_tensors,
                    human_count(total.weights - total.quantized_weights)
                )
            },
        ),
        (
            "file",
            format!(
                "{} ({} bytes; payloads {}, the rest is header, codebooks and chunk tables)",
                human_bytes(total.file_bytes),
                total.file_bytes,
                human_bytes(total.compressed_bytes)
            ),
        ),
        (
            "bits/weight",
            if total.lossless_tensors > 0 {
                format!(
                    "{:.3} over the whole file; {:.3} coded over the lossless weights",
                    total.bits_per_weight, total.lossless_bits_per_weight
                )
            } else {
                format!(
                    "{:.3} over the whole file; {:.3} coded and {:.3} entropy over the quantized weights",
                    total.bits_per_weight, total.quantized_bits_per_weight, total.entropy_bits
                )
            },
        ),
        (
            "vs original",
            format!(
                "{:.2}x  ({} in the source dtypes)",
                total.ratio_vs_original,
                human_bytes(total.original_bytes)
            ),
        ),
        ("vs fp16", baseline(total, 16)),
        ("vs uint8", baseline(total, 8)),
        ("vs uint4", baseline(total, 4)),
        (
            "worst error",
            format!(
                "{:.3}% relative RMS, {:.3e} absolute",
                total.worst_rel_rms_error * 100.0,
                total.max_abs_error
            ),
        ),
    ];
    for (name, value) in rows {
        totals.push(vec![name.to_owned(), value]);
    }
    // Skip the header row of the totals table: its column names are empty.
    out.extend(
        totals
            .render()
            .lines()
            .skip(1)
            .map(|line| format!("{line}\n")),
    );
    out
}
