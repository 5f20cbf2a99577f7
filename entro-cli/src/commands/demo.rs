//! `entro demo`: the whole pipeline on a generated llama-shaped checkpoint,
//! with nothing to download. Compress at 8 and 4 bits per tensor (the paper's
//! method) and at 4 bits in groups of 32, then decompress, verify, check the
//! error against the source independently, time decoding, and print a table.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use entro_decode::{DecodeOptions, Decoder};
use entro_format::synthetic::{SyntheticModel, write_safetensors};
use entro_quant::{FloatSlice, Granularity, QuantConfig};

use crate::args::{BenchTarget, CompressArgs, DecompressArgs, DemoArgs, KeepRules, OutputDtype};
use crate::commands::{bench, compress, decompress, inspect};
use crate::format::{Align, Table, human_bytes, human_count, human_rate};
use crate::open;
use crate::tensor_data::float_data;
use crate::ui::{Ui, Verbosity};

/// Timed decode runs per configuration and thread count.
const BENCH_REPEAT: u32 = 3;
/// Seed of the demo's weights, so every run shows the same model.
const SEED: u64 = 0;

/// One compression setting the demo shows.
struct Setting {
    label: &'static str,
    file: &'static str,
    config: QuantConfig,
}

fn settings() -> [Setting; 3] {
    let tensor = |bits| QuantConfig {
        bits,
        ..QuantConfig::default()
    };
    [
        Setting {
            label: "8-bit per tensor (paper)",
            file: "model-8bit.entro",
            config: tensor(8),
        },
        Setting {
            label: "4-bit per tensor (paper)",
            file: "model-4bit.entro",
            config: tensor(4),
        },
        Setting {
            label: "4-bit group:32",
            file: "model-4bit-g32.entro",
            config: QuantConfig {
                granularity: Granularity::Group(32),
                ..tensor(4)
            },
        },
    ]
}

/// What the demo measured for one setting.
struct Row {
    label: &'static str,
    bits_per_weight: f64,
    file_bytes: u64,
    ratio_fp16: f64,
    ratio_uint8: f64,
    ratio_uint4: f64,
    decode_one: f64,
    decode_many: f64,
    rel_rms: f64,
    max_abs: f64,
}

pub(crate) fn run(args: &DemoArgs, ui: &Ui, out: &mut dyn Write) -> anyhow::Result<()> {
    let started = Instant::now();
    let temp;
    let dir: PathBuf = match &args.workdir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("entro-demo-")
                .tempdir()
                .context("cannot create a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let source = dir.join("model.safetensors");
    let model = synthetic_model(args.params, SEED);
    let params = model.param_count();
    ui.note(format!(
        "generating a synthetic llama checkpoint: {} layers, {} parameters (BF16, heavy-tailed with outliers)",
        model.layers,
        human_count(params)
    ));
    write_safetensors(&model, &source)?;
    // Inner steps run quietly; the demo reports their results itself.
    let quiet = Ui::new(Verbosity::Quiet);
    let mut rows = Vec::new();
    for setting in settings() {
        ui.note(format!(
            "{}: compress, decompress, verify, compare, bench",
            setting.label
        ));
        rows.push(run_setting(&setting, &source, &dir, args.threads, &quiet)?);
    }
    write_report(out, params, &source, &rows, args.threads)?;
    writeln!(
        out,
        "\nfinished in {:.1} s; files in {}",
        started.elapsed().as_secs_f64(),
        if args.workdir.is_some() {
            dir.display().to_string()
        } else {
            "a temporary folder, now removed".to_owned()
        }
    )?;
    Ok(())
}

/// The demo's model: [`SyntheticModel::with_params`], or for sizes below its
/// smallest (one layer plus a 32k-token embedding, about 31 M parameters) a
/// narrower llama with a smaller vocabulary, so that quick runs stay quick.
pub(crate) fn synthetic_model(params: u64, seed: u64) -> SyntheticModel {
    let standard = SyntheticModel::with_params(params, seed);
    if standard.param_count() <= params {
        return standard;
    }
    let mut small = SyntheticModel {
        hidden: 256,
        intermediate: 704,
        layers: 1,
        vocab: 4096,
        kv_fraction: 4,
        seed,
    };
    let one_layer = small.param_count();
    small.layers = 2;
    let per_layer = small.param_count() - one_layer;
    let extra = params.saturating_sub(one_layer) / per_layer.max(1);
    small.layers = 1 + usize::try_from(extra).unwrap_or(0);
    small
}

fn run_setting(
    setting: &Setting,
    source: &Path,
    dir: &Path,
    threads: usize,
    quiet: &Ui,
) -> anyhow::Result<Row> {
    let compressed = dir.join(setting.file);
    compress::run(
        &CompressArgs {
            input: source.to_path_buf(),
            output: compressed.clone(),
            config: setting.config,
            preset: None,
            calibration: None,
            keep: KeepRules::new(Vec::new())?,
            threads,
            chunk_codes: entro_huffman::DEFAULT_CHUNK_CODES,
            lossless: None,
            lossless_smallest: false,
            force: true,
        },
        quiet,
    )?;
    let restored = dir.join(setting.file.replace(".entro", ".restored.safetensors"));
    decompress::run(
        &DecompressArgs {
            input: compressed.clone(),
            output: restored.clone(),
            dtype: OutputDtype::Original,
            threads,
            force: true,
        },
        quiet,
    )?;
    let file = open::entro_file(&compressed)?;
    let verified = Decoder::new(DecodeOptions {
        threads,
        verify_checksums: true,
    })?
    .verify(&file);
    if let Some(problem) = verified.failures.first() {
        bail!("{}: verification failed: {problem}", compressed.display());
    }
    let (rel_rms, max_abs) = compare(source, &restored)?;
    std::fs::remove_file(&restored).ok();
    let totals = inspect::report(&file, &compressed).total;
    let throughput = |threads| -> anyhow::Result<f64> {
        let result = bench::measure(
            &compressed,
            threads,
            BenchTarget::Codes,
            BENCH_REPEAT,
            true,
            quiet,
        )?;
        Ok(result.weights_per_second)
    };
    Ok(Row {
        label: setting.label,
        bits_per_weight: totals.bits_per_weight,
        file_bytes: totals.file_bytes,
        ratio_fp16: totals.ratio_vs_fp16,
        ratio_uint8: totals.ratio_vs_uint8,
        ratio_uint4: totals.ratio_vs_uint4,
        decode_one: throughput(1)?,
        decode_many: if threads > 1 {
            throughput(threads)?
        } else {
            0.0
        },
        rel_rms,
        max_abs,
    })
}

/// Relative RMS error and largest absolute error of `restored` against `source`,
/// computed from the two safetensors files alone (not from the recorded statistics).
fn compare(source: &Path, restored: &Path) -> anyhow::Result<(f64, f64)> {
    let original = open::checkpoint(source)?;
    let decoded = open::checkpoint(restored)?;
    let (mut squared_error, mut squared_weight, mut max_abs) = (0.0f64, 0.0f64, 0.0f64);
    for tensor in original.tensors() {
        let Some(other) = decoded.tensor(tensor.name()) else {
            bail!(
                "{}: tensor `{}` is missing",
                restored.display(),
                tensor.name()
            );
        };
        let (Some(a), Some(b)) = (
            float_data(original.data(tensor)?, tensor.dtype()),
            float_data(decoded.data(other)?, other.dtype()),
        ) else {
            continue;
        };
        let (a, b) = (a.as_slice(), b.as_slice());
        if a.len() != b.len() {
            bail!(
                "{}: tensor `{}` changed length",
                restored.display(),
                tensor.name()
            );
        }
        for i in 0..a.len() {
            let (x, y) = (f64::from(value(a, i)), f64::from(value(b, i)));
            let error = (x - y).abs();
            squared_error += error * error;
            squared_weight += x * x;
            max_abs = max_abs.max(error);
        }
    }
    let rel_rms = if squared_weight > 0.0 {
        (squared_error / squared_weight).sqrt()
    } else {
        0.0
    };
    Ok((rel_rms, max_abs))
}

fn value(slice: FloatSlice<'_>, index: usize) -> f32 {
    slice.get(index).unwrap_or(0.0)
}

fn write_report(
    out: &mut dyn Write,
    params: u64,
    source: &Path,
    rows: &[Row],
    threads: usize,
) -> anyhow::Result<()> {
    let source_bytes = std::fs::metadata(source).map_or(params * 2, |m| m.len());
    let many = format!("decode {threads} threads");
    let mut columns = vec![
        ("method", Align::Left),
        ("bits/weight", Align::Right),
        ("size", Align::Right),
        ("vs fp16", Align::Right),
        ("vs uint8", Align::Right),
        ("vs uint4", Align::Right),
        ("decode 1 thread", Align::Right),
    ];
    if threads > 1 {
        columns.push((many.as_str(), Align::Right));
    }
    columns.extend([
        ("rel RMS error", Align::Right),
        ("max |error|", Align::Right),
    ]);
    let mut table = Table::new(&columns);
    let mut source_row = vec![
        "BF16 source".to_owned(),
        format!("{:.3}", source_bytes as f64 * 8.0 / params as f64),
        human_bytes(source_bytes),
        format!("{:.2}x", params as f64 * 2.0 / source_bytes as f64),
        format!("{:.2}x", params as f64 / source_bytes as f64),
        format!("{:.2}x", params as f64 * 0.5 / source_bytes as f64),
        "-".to_owned(),
    ];
    if threads > 1 {
        source_row.push("-".to_owned());
    }
    source_row.extend(["0".to_owned(), "0".to_owned()]);
    table.push(source_row);
    for row in rows {
        let mut cells = vec![
            row.label.to_owned(),
            format!("{:.3}", row.bits_per_weight),
            human_bytes(row.file_bytes),
            format!("{:.2}x", row.ratio_fp16),
            format!("{:.2}x", row.ratio_uint8),
            format!("{:.2}x", row.ratio_uint4),
            format!("{}w/s", human_rate(row.decode_one)),
        ];
        if threads > 1 {
            cells.push(format!("{}w/s", human_rate(row.decode_many)));
        }
        cells.extend([
            format!("{:.2}%", row.rel_rms * 100.0),
            format!("{:.3e}", row.max_abs),
        ]);
        table.push(cells);
    }
    writeln!(
        out,
        "\nentro demo: synthetic llama checkpoint, {} parameters, {}\n",
        human_count(params),
        human_bytes(source_bytes)
    )?;
    out.write_all(table.render().as_bytes())?;
    writeln!(
        out,
        "\nvs X = (bytes if every weight took X's bits) / (bytes of the file); above 1 is smaller.\n\
         decode = whole-model Huffman decoding to u8 codes with checksums, median of {BENCH_REPEAT} runs.\n\
         errors are measured between the source and the decompressed safetensors, over every tensor.\n\
         per-tensor 4-bit has one scale for a whole matrix: the outliers stretch it and most weights\n\
         collapse onto a few codes (hence the tiny size and the large error). groups of 32 weights\n\
         each get their own scale and zero point, which brings the error down at the cost of\n\
         parameters per group (64 bits raw, entropy-coded in the file)."
    )?;
    Ok(())
}
