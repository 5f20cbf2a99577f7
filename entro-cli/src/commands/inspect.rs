//! `entro inspect`: what is in a `.entro` file, tensor by tensor, read from the
//! header alone (the statistics were recorded at compression time).

use std::io::Write;
use std::path::Path;

use entro_format::{EntroFile, TensorEncoding, TensorEntry};
use entro_huffman::Alphabet;
use entro_quant::ChosenScheme;
use serde::Serialize;

use crate::args::InspectArgs;
use crate::open;

mod render;

use render::render;

/// The whole report; `--json` prints exactly this.
#[derive(Debug, Serialize)]
pub(crate) struct FileReport {
    pub(crate) file: String,
    /// entro's notes: the settings the file was made with.
    pub(crate) settings: std::collections::BTreeMap<String, String>,
    pub(crate) tensors: Vec<TensorReport>,
    pub(crate) total: Totals,
}

/// One tensor. The `*_bits` fields are per weight.
#[derive(Debug, Serialize)]
pub(crate) struct TensorReport {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: String,
    /// `quantized`, `lossless` or `raw`.
    pub(crate) encoding: &'static str,
    /// Code width for quantized tensors, the dtype's width for lossless and raw ones.
    pub(crate) bits: u32,
    /// `unsigned`, `asymmetric` or `symmetric`; `null` for raw tensors.
    pub(crate) scheme: Option<&'static str>,
    /// Unsigned tensors that were all non-positive, stored by magnitude.
    pub(crate) negated: bool,
    pub(crate) granularity: Option<String>,
    pub(crate) blocks: Option<usize>,
    /// Scale and zero point when the tensor has one block (the paper's per-tensor method).
    pub(crate) scale: Option<f32>,
    pub(crate) zero_point: Option<i32>,
    /// Order-0 entropy of the codes, bits per weight.
    pub(crate) entropy_bits: Option<f64>,
    /// Payload bits per weight (Huffman chunks, lossless chunks, or the raw bytes).
    pub(crate) coded_bits: f64,
    pub(crate) weights: u64,
    /// Where the payload starts in the file, and its length.
    pub(crate) payload_offset: u64,
    pub(crate) payload_bytes: u64,
    pub(crate) chunks: Option<usize>,
    /// `bytes` or `nibble_pairs`.
    pub(crate) alphabet: Option<&'static str>,
    pub(crate) min: Option<f32>,
    pub(crate) max: Option<f32>,
    /// sqrt(sum of squared errors / sum of squared weights).
    pub(crate) rel_rms_error: Option<f64>,
    pub(crate) max_abs_error: Option<f64>,
    /// `null` when the tensor is reconstructed exactly.
    pub(crate) snr_db: Option<f64>,
}

/// Whole-file figures. Ratios are `baseline bytes / file bytes`, where the
/// baseline stores every weight at 16, 8 or 4 bits.
#[derive(Debug, Serialize)]
pub(crate) struct Totals {
    pub(crate) tensors: usize,
    pub(crate) quantized_tensors: usize,
    pub(crate) weights: u64,
    pub(crate) quantized_weights: u64,
    /// Tensors stored bit-exactly by lossless coding, and their weights.
    pub(crate) lossless_tensors: usize,
    pub(crate) lossless_weights: u64,
    /// Payload bits per weight over the lossless tensors only.
    pub(crate) lossless_bits_per_weight: f64,
    /// Bytes of all tensor payloads.
    pub(crate) compressed_bytes: u64,
    /// The whole file: payloads, header, codebooks, chunk tables, padding.
    pub(crate) file_bytes: u64,
    /// Bytes of the tensors in their original dtypes.
    pub(crate) original_bytes: u64,
    /// `file_bytes * 8 / weights`.
    pub(crate) bits_per_weight: f64,
    /// Payload bits per weight over the quantized tensors only.
    pub(crate) quantized_bits_per_weight: f64,
    /// Weighted mean of the quantized tensors' code entropy.
    pub(crate) entropy_bits: f64,
    pub(crate) ratio_vs_original: f64,
    pub(crate) ratio_vs_fp16: f64,
    pub(crate) ratio_vs_uint8: f64,
    pub(crate) ratio_vs_uint4: f64,
    /// Largest relative RMS error over the quantized tensors.
    pub(crate) worst_rel_rms_error: f64,
    pub(crate) max_abs_error: f64,
}

pub(crate) fn run(args: &InspectArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let file = open::entro_file(&args.file)?;
    let report = report(&file, &args.file);
    if args.json {
        serde_json::to_writer(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        out.write_all(render(&report).as_bytes())?;
    }
    Ok(())
}

pub(crate) fn report(file: &EntroFile, path: &Path) -> FileReport {
    let tensors: Vec<TensorReport> = file.tensors().iter().map(tensor_report).collect();
    let layout = file.layout();
    let weights: u64 = tensors.iter().map(|t| t.weights).sum();
    let quantized: Vec<&TensorReport> = tensors
        .iter()
        .filter(|t| t.encoding == "quantized")
        .collect();
    let quantized_weights: u64 = quantized.iter().map(|t| t.weights).sum();
    let quantized_payload: u64 = quantized.iter().map(|t| t.payload_bytes).sum();
    let lossless: Vec<&TensorReport> = tensors
        .iter()
        .filter(|t| t.encoding == "lossless")
        .collect();
    let lossless_weights: u64 = lossless.iter().map(|t| t.weights).sum();
    let lossless_payload: u64 = lossless.iter().map(|t| t.payload_bytes).sum();
    let entropy_sum: f64 = quantized
        .iter()
        .map(|t| t.entropy_bits.unwrap_or(0.0) * t.weights as f64)
        .sum();
    let original_bytes = file
        .tensors()
        .iter()
        .map(|t| t.original_byte_len().unwrap_or(0))
        .sum();
    let file_bytes = layout.file_len;
    let per = |numerator: f64, denominator: u64| {
        if denominator == 0 {
            0.0
        } else {
            numerator / denominator as f64
        }
    };
    let total = Totals {
        tensors: tensors.len(),
        quantized_tensors: quantized.len(),
        weights,
        quantized_weights,
        lossless_tensors: lossless.len(),
        lossless_weights,
        lossless_bits_per_weight: per(lossless_payload as f64 * 8.0, lossless_weights),
        compressed_bytes: layout.payload_bytes,
        file_bytes,
        original_bytes,
        bits_per_weight: per(file_bytes as f64 * 8.0, weights),
        quantized_bits_per_weight: per(quantized_payload as f64 * 8.0, quantized_weights),
        entropy_bits: per(entropy_sum, quantized_weights),
        ratio_vs_original: per(original_bytes as f64, file_bytes),
        ratio_vs_fp16: per(weights as f64 * 2.0, file_bytes),
        ratio_vs_uint8: per(weights as f64, file_bytes),
        ratio_vs_uint4: per(weights as f64 * 0.5, file_bytes),
        worst_rel_rms_error: quantized
            .iter()
            .filter_map(|t| t.rel_rms_error)
            .fold(0.0, f64::max),
        max_abs_error: quantized
            .iter()
            .filter_map(|t| t.max_abs_error)
            .fold(0.0, f64::max),
    };
    FileReport {
        file: path.display().to_string(),
        settings: file
            .metadata()
            .entro
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        tensors,
        total,
    }
}

fn tensor_report(entry: &TensorEntry) -> TensorReport {
    let weights = entry.elements();
    let coded_bits = if weights == 0 {
        0.0
    } else {
        entry.payload_len() as f64 * 8.0 / weights as f64
    };
    let mut report = TensorReport {
        name: entry.name().to_owned(),
        shape: entry.shape().to_vec(),
        dtype: entry.dtype().to_string(),
        encoding: entry.encoding().name(),
        bits: entry.dtype().bits(),
        scheme: None,
        negated: false,
        granularity: None,
        blocks: None,
        scale: None,
        zero_point: None,
        entropy_bits: None,
        coded_bits,
        weights,
        payload_offset: entry.payload_offset(),
        payload_bytes: entry.payload_len(),
        chunks: None,
        alphabet: None,
        min: None,
        max: None,
        rel_rms_error: None,
        max_abs_error: None,
        snr_db: None,
    };
    if let TensorEncoding::Quantized(q) = entry.encoding() {
        let params = q.params();
        let stats = q.stats();
        report.bits = u32::from(params.bits);
        report.scheme = Some(scheme_name(params.scheme));
        report.negated = matches!(params.scheme, ChosenScheme::Unsigned { negated: true });
        report.granularity = Some(params.granularity.to_string());
        report.blocks = Some(params.blocks.len());
        if let [single] = params.blocks.as_slice() {
            report.scale = Some(single.scale);
            report.zero_point = Some(single.zero_point);
        }
        report.entropy_bits = Some(stats.entropy_bits);
        report.chunks = Some(q.chunks().len());
        report.alphabet = Some(match q.codebook().alphabet() {
            Alphabet::Bytes => "bytes",
            Alphabet::NibblePairs => "nibble_pairs",
        });
        report.min = Some(stats.min);
        report.max = Some(stats.max);
        report.rel_rms_error = Some(stats.rel_rms_error);
        report.max_abs_error = Some(stats.max_abs_error);
        report.snr_db = stats.snr_db.is_finite().then_some(stats.snr_db);
    } else {
        report.chunks = entry.lossless().map(|lossless| lossless.chunks().len());
        report.rel_rms_error = Some(0.0);
        report.max_abs_error = Some(0.0);
    }
    report
}

fn scheme_name(scheme: ChosenScheme) -> &'static str {
    match scheme {
        ChosenScheme::Unsigned { .. } => "unsigned",
        ChosenScheme::Asymmetric => "asymmetric",
        ChosenScheme::Symmetric => "symmetric",
    }
}
