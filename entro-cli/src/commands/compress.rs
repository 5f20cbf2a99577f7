//! `entro compress`: safetensors in, `.entro` out, one tensor at a time.

use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use entro_format::safetensors::{SafetensorsCheckpoint, SafetensorsTensor};
use entro_format::{Dtype, EntroWriter, FileMetadata, MetadataMap};
use entro_quant::{Granularity, QuantConfig, QuantReport, quantize};

use crate::args::CompressArgs;
use crate::commands::output::{check_output, refuse_overwriting_input};
use crate::encode::encode_tensor;
use crate::format::{human_bytes, human_count, plural};
use crate::interrupt;
use crate::open;
use crate::page_release;
use crate::tensor_data::float_data;
use crate::ui::Ui;

/// Relative RMS error above which `compress` warns about a tensor.
pub(crate) const WARN_REL_RMS: f64 = 0.10;
/// Warnings listed one by one before the rest are only counted (all with `-v`).
const WARNINGS_LISTED: usize = 5;

/// What happens to one tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Quantize,
    Keep(KeepReason),
}

/// Why a tensor is kept exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeepReason {
    /// 1-D or scalar (norms, biases).
    FewDimensions,
    /// Integer or boolean data.
    NotFloat,
    /// No elements.
    Empty,
    /// Matched a `--keep` pattern.
    Pattern(String),
}

/// What `compress` wrote, for the caller's summary (and the demo).
#[derive(Debug, Clone, Default)]
pub(crate) struct CompressSummary {
    pub(crate) tensors: usize,
    pub(crate) quantized_tensors: usize,
    pub(crate) weights: u64,
    pub(crate) quantized_weights: u64,
    pub(crate) input_bytes: u64,
    pub(crate) file_bytes: u64,
    /// Largest relative RMS error over the quantized tensors.
    pub(crate) worst_rel_rms: f64,
    /// Largest absolute error over the quantized tensors.
    pub(crate) max_abs_error: f64,
}

pub(crate) fn run(args: &CompressArgs, ui: &Ui) -> anyhow::Result<CompressSummary> {
    check_output(&args.output, args.force)?;
    let checkpoint = open::checkpoint(&args.input)?;
    refuse_overwriting_input(
        &args.output,
        checkpoint.shard_paths().chain(checkpoint.index_path()),
    )?;
    let plans = plan(&checkpoint, args, ui)?;
    if args.config.bits <= 4 && args.config.granularity == Granularity::Tensor {
        ui.warn(format!(
            "{}-bit codes with one scale per tensor break most real models; \
             --granularity group:64 keeps the error small at a slightly larger size",
            args.config.bits
        ));
    }

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .context("cannot start worker threads")?;
    let mut writer = EntroWriter::create(&args.output, metadata(&checkpoint, args))?;
    let bar = ui.bytes_bar(checkpoint.data_bytes(), "compress");
    let mut summary = CompressSummary {
        input_bytes: checkpoint.data_bytes(),
        ..CompressSummary::default()
    };
    let mut warnings = Warnings::default();
    for (tensor, plan) in checkpoint.tensors().iter().zip(&plans) {
        interrupt::check()?;
        bar.set_message(tensor.name().to_owned());
        let source = source_of(&checkpoint, tensor);
        let data = checkpoint.data(tensor)?;
        let elements = element_count(tensor);
        summary.tensors += 1;
        summary.weights += elements;
        match plan {
            Plan::Quantize => {
                let report =
                    compress_tensor(&mut writer, &checkpoint, tensor, args, &pool, &source, ui)?;
                summary.quantized_tensors += 1;
                summary.quantized_weights += elements;
                summary.worst_rel_rms = summary.worst_rel_rms.max(report.stats.rel_rms_error);
                summary.max_abs_error = summary.max_abs_error.max(report.stats.max_abs_error);
                warnings.check(ui, tensor.name(), &report, &args.config);
                ui.detail(format!(
                    "quantized {}: {} {}, entropy {:.3} b/w, rel RMS error {:.3}%",
                    tensor.name(),
                    report.params.scheme,
                    args.config.granularity,
                    report.stats.entropy_bits,
                    report.stats.rel_rms_error * 100.0
                ));
            }
            Plan::Keep(reason) => {
                writer
                    .add_raw(tensor.name(), tensor.shape(), tensor.dtype(), data)
                    .with_context(|| format!("{}: tensor `{}`", source, tensor.name()))?;
                page_release::release(data);
                ui.detail(format!(
                    "kept {} exactly ({})",
                    tensor.name(),
                    reason.describe()
                ));
            }
        }
        bar.inc(tensor.byte_len() as u64);
    }
    interrupt::check()?;
    let written = writer.finish()?;
    bar.finish_and_clear();
    warnings.finish(ui);
    summary.file_bytes = written.layout.file_len;
    ui.note(summary_line(&args.output, &summary));
    Ok(summary)
}

/// Quantizes and encodes one tensor and hands it to the writer; returns the quantization report.
fn compress_tensor(
    writer: &mut EntroWriter,
    checkpoint: &SafetensorsCheckpoint,
    tensor: &SafetensorsTensor,
    args: &CompressArgs,
    pool: &rayon::ThreadPool,
    source: &str,
    ui: &Ui,
) -> anyhow::Result<QuantReport> {
    let name = tensor.name();
    let data = checkpoint.data(tensor)?;
    let floats = float_data(data, tensor.dtype())
        .ok_or_else(|| anyhow!("{source}: tensor `{name}` is not F32, F16 or BF16 data"))?;
    if floats.is_copy() {
        ui.detail(format!(
            "tensor `{name}` is not aligned in the file; reading a copy"
        ));
    }
    let mut codes = vec![0u8; floats.as_slice().len()];
    let report = quantize(
        name,
        floats.as_slice(),
        tensor.shape(),
        &args.config,
        &mut codes,
    )
    .map_err(|err| anyhow!("{source}: {err}"))?;
    drop(floats);
    // The source bytes are not read again: let the kernel drop their pages now,
    // before the payload is allocated.
    page_release::release(data);
    let encoded = encode_tensor(name, &codes, report.clone(), args.chunk_codes, pool)?;
    drop(codes);
    writer
        .add_quantized(name, tensor.shape(), tensor.dtype(), &encoded)
        .with_context(|| format!("{source}: tensor `{name}`"))?;
    Ok(report)
}

/// Decides every tensor's fate before any work, so that an unsupported tensor
/// fails the run at once.
fn plan(
    checkpoint: &SafetensorsCheckpoint,
    args: &CompressArgs,
    ui: &Ui,
) -> anyhow::Result<Vec<Plan>> {
    let mut pattern_used = vec![false; args.keep.patterns().len()];
    let mut plans = Vec::with_capacity(checkpoint.tensors().len());
    for tensor in checkpoint.tensors() {
        let matched = args.keep.matches(tensor.name());
        for &index in &matched {
            if let Some(used) = pattern_used.get_mut(index) {
                *used = true;
            }
        }
        let dtype = tensor.dtype();
        let plan = if let Some(&first) = matched.first() {
            Plan::Keep(KeepReason::Pattern(args.keep.patterns()[first].clone()))
        } else if !is_float(dtype) {
            Plan::Keep(KeepReason::NotFloat)
        } else if !entro_quant::should_quantize(true, tensor.shape()) {
            Plan::Keep(KeepReason::FewDimensions)
        } else if !dtype.is_quantizable_float() {
            bail!(
                "{}: tensor `{}` has dtype {dtype}, which entro cannot quantize \
                 (it quantizes F32, F16 and BF16); keep it exactly with --keep '{}'",
                source_of(checkpoint, tensor),
                tensor.name(),
                tensor.name()
            );
        } else if tensor.byte_len() == 0 {
            Plan::Keep(KeepReason::Empty)
        } else {
            Plan::Quantize
        };
        plans.push(plan);
    }
    for (pattern, used) in args.keep.patterns().iter().zip(pattern_used) {
        if !used {
            ui.warn(format!("--keep '{pattern}' matches no tensor"));
        }
    }
    Ok(plans)
}

/// Floating-point dtypes, quantizable or not.
fn is_float(dtype: Dtype) -> bool {
    !matches!(
        dtype,
        Dtype::Bool
            | Dtype::U8
            | Dtype::I8
            | Dtype::I16
            | Dtype::U16
            | Dtype::I32
            | Dtype::U32
            | Dtype::I64
            | Dtype::U64
    )
}

impl KeepReason {
    fn describe(&self) -> String {
        match self {
            Self::FewDimensions => "fewer than 2 dimensions".to_owned(),
            Self::NotFloat => "not floating point".to_owned(),
            Self::Empty => "no elements".to_owned(),
            Self::Pattern(pattern) => format!("--keep '{pattern}'"),
        }
    }
}

/// The file holding `tensor`, for error messages.
fn source_of(checkpoint: &SafetensorsCheckpoint, tensor: &SafetensorsTensor) -> String {
    checkpoint.shard_paths().nth(tensor.shard()).map_or_else(
        || "<checkpoint>".to_owned(),
        |path| path.display().to_string(),
    )
}

fn element_count(tensor: &SafetensorsTensor) -> u64 {
    tensor.shape().iter().map(|&d| d as u64).product()
}

/// The source checkpoint's metadata, plus the settings used, so that
/// `inspect` can show how a file was made.
fn metadata(checkpoint: &SafetensorsCheckpoint, args: &CompressArgs) -> FileMetadata {
    let config = &args.config;
    let mut entro = MetadataMap::new();
    entro.insert("tool", concat!("entro ", env!("CARGO_PKG_VERSION")));
    entro.insert("bits", config.bits.to_string());
    entro.insert("scheme", config.scheme.to_string());
    entro.insert("granularity", config.granularity.to_string());
    entro.insert("clip", config.clip.to_string());
    entro.insert("chunk_codes", args.chunk_codes.to_string());
    if !args.keep.patterns().is_empty() {
        entro.insert("keep", args.keep.patterns().join(" "));
    }
    if let Some(name) = Path::new(&args.input).file_name() {
        entro.insert("source", name.to_string_lossy());
    }
    FileMetadata {
        checkpoint: checkpoint.metadata().cloned(),
        entro,
    }
}

/// The high-error warnings of one run: the first few in full, then a count.
#[derive(Debug, Default)]
struct Warnings {
    count: usize,
}

impl Warnings {
    fn check(&mut self, ui: &Ui, name: &str, report: &QuantReport, config: &QuantConfig) {
        let error = report.stats.rel_rms_error;
        if error <= WARN_REL_RMS {
            return;
        }
        self.count += 1;
        if self.count <= WARNINGS_LISTED || ui.verbosity() >= crate::ui::Verbosity::Verbose {
            ui.warn(format!(
                "tensor `{name}`: relative RMS error {:.1}% (above {:.0}%) at {} bits, granularity {}; {}",
                error * 100.0,
                WARN_REL_RMS * 100.0,
                config.bits,
                config.granularity,
                finer_suggestion(config)
            ));
        }
    }

    fn finish(&self, ui: &Ui) {
        if self.count > WARNINGS_LISTED && ui.verbosity() < crate::ui::Verbosity::Verbose {
            let more = self.count - WARNINGS_LISTED;
            ui.warn(format!(
                "{more} more {} above {:.0}% relative RMS error (`entro inspect` lists every tensor's error, `-v` warns about each)",
                if more == 1 { "tensor is" } else { "tensors are" },
                WARN_REL_RMS * 100.0
            ));
        }
    }
}

/// What to try next for a tensor whose error is too large.
fn finer_suggestion(config: &QuantConfig) -> String {
    match config.granularity {
        Granularity::Tensor => "try --granularity channel or --granularity group:64".to_owned(),
        Granularity::Channel => "try --granularity group:64".to_owned(),
        Granularity::Group(group) if group > 16 => {
            format!("try --granularity group:{}", (group / 2).max(16))
        }
        Granularity::Group(_) if config.bits < 8 => "try more --bits".to_owned(),
        Granularity::Group(_) => "try --keep for this tensor".to_owned(),
    }
}

fn summary_line(output: &Path, s: &CompressSummary) -> String {
    let bits_per_weight = if s.weights == 0 {
        0.0
    } else {
        s.file_bytes as f64 * 8.0 / s.weights as f64
    };
    format!(
        "wrote {}: {} ({} quantized), {} weights, {} ({:.3} bits/weight, {:.2}x smaller than the input)",
        output.display(),
        plural(s.tensors, "tensor"),
        s.quantized_tensors,
        human_count(s.weights),
        human_bytes(s.file_bytes),
        bits_per_weight,
        s.input_bytes as f64 / (s.file_bytes.max(1)) as f64
    )
}
