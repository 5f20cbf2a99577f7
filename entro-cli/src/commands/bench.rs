//! `entro bench`: whole-model decode throughput, median of K runs.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::anyhow;
use entro_decode::{DecodeOptions, DecodedTensor, Decoder, Target};
use serde::Serialize;

use crate::args::{BenchArgs, BenchTarget};
use crate::format::{human_count, human_rate};
use crate::interrupt;
use crate::open;
use crate::ui::Ui;

/// One benchmark's result; `--json` prints exactly this.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BenchResult {
    pub(crate) file: String,
    pub(crate) threads: usize,
    /// `codes`, `f32`, `f16`, `bf16` or `original` (each tensor's own dtype).
    pub(crate) dtype: &'static str,
    pub(crate) repeat: u32,
    pub(crate) checksums: bool,
    /// Weights decoded per run (for `codes`, the quantized tensors only).
    pub(crate) weights: u64,
    /// Bytes written to memory per run.
    pub(crate) output_bytes: u64,
    /// Bytes of the `.entro` file.
    pub(crate) file_bytes: u64,
    /// Median wall time of one whole-model decode.
    pub(crate) seconds: f64,
    pub(crate) weights_per_second: f64,
    pub(crate) output_bytes_per_second: f64,
    pub(crate) min_seconds: f64,
    pub(crate) max_seconds: f64,
    /// Every timed run, in order.
    pub(crate) runs: Vec<f64>,
}

pub(crate) fn run(args: &BenchArgs, ui: &Ui, out: &mut dyn Write) -> anyhow::Result<()> {
    let result = measure(
        &args.file,
        args.threads,
        args.target,
        args.repeat,
        args.checksums,
        ui,
    )?;
    if args.json {
        serde_json::to_writer(&mut *out, &result)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{}: decoded {} weights to {} on {} thread{}: median {:.4} s over {} runs \
             ({}weights/s, {:.2} GB/s written; min {:.4} s, max {:.4} s)",
            result.file,
            human_count(result.weights),
            result.dtype,
            result.threads,
            if result.threads == 1 { "" } else { "s" },
            result.seconds,
            result.repeat,
            human_rate(result.weights_per_second),
            result.output_bytes_per_second / 1e9,
            result.min_seconds,
            result.max_seconds,
        )?;
    }
    Ok(())
}

/// Decodes the whole file `repeat` times into buffers allocated once (after
/// one untimed warm-up run that also faults the file in) and reports the median.
pub(crate) fn measure(
    path: &Path,
    threads: usize,
    target: BenchTarget,
    repeat: u32,
    checksums: bool,
    ui: &Ui,
) -> anyhow::Result<BenchResult> {
    let source = path.display().to_string();
    let file = open::entro_file(path)?;
    let decoder = Decoder::new(DecodeOptions {
        threads,
        verify_checksums: checksums,
    })?;
    let target = match target {
        // Codes where every coded tensor has them; a file with lossless tensors (a lossless
        // file, or a preset's that stored some tensors losslessly) decodes to its own dtypes.
        BenchTarget::Auto
            if file.tensors().iter().any(|t| t.quantized().is_some())
                && file.tensors().iter().all(|t| t.lossless().is_none()) =>
        {
            BenchTarget::Codes
        }
        BenchTarget::Auto => BenchTarget::Original,
        chosen => chosen,
    };
    let decode_target = match target {
        BenchTarget::Codes | BenchTarget::Auto => Target::Codes,
        BenchTarget::F32 => Target::F32,
        BenchTarget::F16 => Target::F16,
        BenchTarget::BF16 => Target::BF16,
        BenchTarget::Original => Target::Original,
    };
    let mut buffers = Vec::new();
    for (index, entry) in file.tensors().iter().enumerate() {
        let allocated = DecodedTensor::allocate(index, entry, decode_target)
            .map_err(|err| anyhow!("{source}: {err}"))?;
        buffers.extend(allocated);
    }
    let weights: u64 = buffers
        .iter()
        .map(|b| file.tensors()[b.index].elements())
        .sum();
    let output_bytes: u64 = buffers.iter().map(|b| b.data.byte_len() as u64).sum();
    let bar = ui.count_bar(u64::from(repeat) + 1, "bench");
    let mut runs = Vec::with_capacity(repeat as usize);
    for run in 0..=repeat {
        interrupt::check()?;
        let start = Instant::now();
        decoder
            .decode_buffers(&file, &mut buffers)
            .map_err(|err| anyhow!("{source}: {err}"))?;
        let seconds = start.elapsed().as_secs_f64();
        if run > 0 {
            runs.push(seconds);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = median(&sorted);
    let per_second = |amount: u64| {
        if median > 0.0 {
            amount as f64 / median
        } else {
            0.0
        }
    };
    Ok(BenchResult {
        file: source,
        threads: decoder.threads(),
        dtype: target.name(),
        repeat,
        checksums,
        weights,
        output_bytes,
        file_bytes: file.layout().file_len,
        seconds: median,
        weights_per_second: per_second(weights),
        output_bytes_per_second: per_second(output_bytes),
        min_seconds: sorted.first().copied().unwrap_or(0.0),
        max_seconds: sorted.last().copied().unwrap_or(0.0),
        runs,
    })
}

/// Median of sorted values (mean of the middle two for an even count).
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[1.0, 2.0, 10.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), 3.0);
    }
}
