//! `entro compress`: safetensors in, `.entro` out, one tensor at a time.

use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use entro_eval::ModelDir;
use entro_eval::calibrate::Calibration;
use entro_format::lossless::EncodeOptions;
use entro_format::safetensors::{SafetensorsCheckpoint, SafetensorsTensor};
use entro_format::{Dtype, EntroWriter, FileMetadata, MetadataMap};
use entro_quant::{Granularity, QuantReport, quantize};

use crate::args::{CompressArgs, LosslessChunks};
use crate::commands::output::{check_output, refuse_overwriting_input};
use crate::encode::encode_tensor;
use crate::format::{human_bytes, human_count, plural};
use crate::interrupt;
use crate::lossless_encode::encode_lossless_tensor;
use crate::open;
use crate::page_release;
use crate::tensor_data::float_data;
use crate::ui::Ui;

mod warnings;

use warnings::Warnings;

/// Relative RMS error above which `compress` warns about a tensor.
pub(crate) const WARN_REL_RMS: f64 = 0.10;

/// What happens to one tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Quantize,
    /// Coded bit-exactly (`--lossless`).
    Lossless,
    Keep(KeepReason),
}

/// Why a tensor is kept exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeepReason {
    /// 1-D or scalar (norms, biases).
    FewDimensions,
    /// Integer or boolean data.
    NotFloat,
    /// A float type lossless coding does not take (F64, 8-bit floats...).
    NotLosslessFloat,
    /// No elements.
    Empty,
    /// Matched a `--keep` pattern.
    Pattern(String),
    /// The `--preset` keeps it.
    Preset(&'static str),
}

/// What `compress` wrote, for the caller's summary (and the demo).
#[derive(Debug, Clone, Default)]
pub(crate) struct CompressSummary {
    pub(crate) tensors: usize,
    pub(crate) quantized_tensors: usize,
    pub(crate) weights: u64,
    pub(crate) quantized_weights: u64,
    pub(crate) lossless_tensors: usize,
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
    let calibration = args
        .calibration
        .as_deref()
        .map(|text| calibrate(&args.input, text, ui))
        .transpose()?;
    let plans = plan(&checkpoint, args, calibration.is_some(), ui)?;
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
                let stored = compress_tensor(
                    &mut writer,
                    &checkpoint,
                    tensor,
                    (args, calibration.as_ref()),
                    &pool,
                    &source,
                    ui,
                )?;
                match stored {
                    Stored::Lossless {
                        quantized_bytes,
                        lossless_bytes,
                    } => {
                        summary.lossless_tensors += 1;
                        ui.detail(format!(
                            "stored {} losslessly: {:.3} bits/weight, {lossless_bytes} bytes \
                             against {quantized_bytes} quantized",
                            tensor.name(),
                            lossless_bytes as f64 * 8.0 / elements.max(1) as f64
                        ));
                    }
                    Stored::Quantized(report) => {
                        summary.quantized_tensors += 1;
                        summary.quantized_weights += elements;
                        summary.worst_rel_rms =
                            summary.worst_rel_rms.max(report.stats.rel_rms_error);
                        summary.max_abs_error =
                            summary.max_abs_error.max(report.stats.max_abs_error);
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
                }
            }
            Plan::Lossless => {
                let (name, dtype) = (tensor.name(), tensor.dtype());
                let element_bytes = dtype.float_layout().map_or(1, |l| l.element_bytes());
                let chunk = args
                    .lossless
                    .unwrap_or(LosslessChunks::Default)
                    .elements(element_bytes);
                let options = EncodeOptions::default().with_smallest_planes(args.lossless_smallest);
                let encoded = encode_lossless_tensor(name, dtype, data, chunk, &options, &pool)
                    .with_context(|| source.clone())?;
                page_release::release(data);
                writer
                    .add_lossless_encoded(name, tensor.shape(), dtype, &encoded)
                    .with_context(|| format!("{source}: tensor `{name}`"))?;
                summary.lossless_tensors += 1;
                ui.detail(format!(
                    "stored {name} losslessly: {:.3} bits/weight",
                    encoded.payload().len() as f64 * 8.0 / elements.max(1) as f64
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

/// The input Gram matrices of the linear layers of the model in `folder`, run over `text`.
fn calibrate(folder: &Path, text: &Path, ui: &Ui) -> anyhow::Result<Calibration> {
    let dir = ModelDir::open(folder).with_context(|| {
        format!(
            "--calibration runs the model: {} must be a model folder with config.json and tokenizer.json",
            folder.display()
        )
    })?;
    let contents = std::fs::read_to_string(text)
        .with_context(|| format!("cannot read the calibration text {}", text.display()))?;
    let weights = dir.load_weights()?;
    let calibration = Calibration::from_text(&dir, &weights, &contents, None)
        .with_context(|| format!("cannot calibrate on {}", text.display()))?;
    ui.note(format!(
        "calibrated {} linear layers on {}",
        calibration.len(),
        text.display()
    ));
    Ok(calibration)
}

/// How [`compress_tensor`] stored a tensor.
enum Stored {
    /// Quantized, as the report says.
    Quantized(Box<QuantReport>),
    /// Losslessly: a preset's quantization of it would have taken more bytes.
    Lossless {
        /// Bytes of the quantized coding that was set aside.
        quantized_bytes: usize,
        /// Bytes of the lossless coding.
        lossless_bytes: usize,
    },
}

/// Quantizes and encodes one tensor and hands it to the writer. Under a preset, a tensor whose
/// lossless coding is no larger than its quantized coding is stored losslessly instead (a
/// checkpoint dequantized from a block format, for one, can code its blocks exactly in fewer
/// bits than a preset's grids take).
fn compress_tensor(
    writer: &mut EntroWriter,
    checkpoint: &SafetensorsCheckpoint,
    tensor: &SafetensorsTensor,
    (args, calibration): (&CompressArgs, Option<&Calibration>),
    pool: &rayon::ThreadPool,
    source: &str,
    ui: &Ui,
) -> anyhow::Result<Stored> {
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
    let report = match args.preset {
        Some(preset) => preset.quantize(
            name,
            floats.as_slice(),
            tensor.shape(),
            calibration,
            &mut codes,
        ),
        None => quantize(
            name,
            floats.as_slice(),
            tensor.shape(),
            &args.config,
            &mut codes,
        ),
    }
    .map_err(|err| anyhow!("{source}: {err}"))?;
    drop(floats);
    let encoded = encode_tensor(
        name,
        &codes,
        tensor.shape(),
        report.clone(),
        args.chunk_codes,
        pool,
    )?;
    drop(codes);
    if args.preset.is_some()
        && let Some(layout) = tensor.dtype().float_layout()
    {
        let chunk = LosslessChunks::Default.elements(layout.element_bytes());
        // A preset is about size: every plane takes its smallest coding (on SmolLM2-135M, Huffman
        // codes for the 4-bit grid indices instead of packing them, 0.1 bits/weight less).
        let options = EncodeOptions::default().with_smallest_planes(true);
        let lossless = encode_lossless_tensor(name, tensor.dtype(), data, chunk, &options, pool)
            .with_context(|| source.to_owned())?;
        let quantized_bytes = encoded.file_bytes()?;
        let lossless_bytes = lossless.file_bytes()?;
        if lossless_bytes <= quantized_bytes {
            page_release::release(data);
            writer
                .add_lossless_encoded(name, tensor.shape(), tensor.dtype(), &lossless)
                .with_context(|| format!("{source}: tensor `{name}`"))?;
            return Ok(Stored::Lossless {
                quantized_bytes,
                lossless_bytes,
            });
        }
    }
    // The source bytes are not read again: let the kernel drop their pages now.
    page_release::release(data);
    writer
        .add_quantized(name, tensor.shape(), tensor.dtype(), &encoded)
        .with_context(|| format!("{source}: tensor `{name}`"))?;
    Ok(Stored::Quantized(Box::new(report)))
}

/// Decides every tensor's fate before any work, so that an unsupported tensor
/// fails the run at once.
fn plan(
    checkpoint: &SafetensorsCheckpoint,
    args: &CompressArgs,
    calibrated: bool,
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
        } else if args.lossless.is_some() {
            if dtype.float_layout().is_none() {
                Plan::Keep(KeepReason::NotLosslessFloat)
            } else if tensor.byte_len() == 0 {
                Plan::Keep(KeepReason::Empty)
            } else {
                Plan::Lossless
            }
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
        } else if let Some(preset) = args.preset.filter(|p| p.keeps(tensor.name(), calibrated)) {
            Plan::Keep(KeepReason::Preset(preset.name))
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
            Self::NotLosslessFloat => "not F32, F16 or BF16".to_owned(),
            Self::Empty => "no elements".to_owned(),
            Self::Pattern(pattern) => format!("--keep '{pattern}'"),
            Self::Preset(name) => format!("--preset {name}"),
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
    if let Some(chunks) = args.lossless {
        entro.insert("mode", "lossless");
        match chunks {
            LosslessChunks::Default => {
                entro.insert("chunk_bytes", LosslessChunks::DEFAULT_BYTES.to_string());
            }
            LosslessChunks::Elements(elements) => {
                entro.insert("chunk_elements", elements.to_string());
            }
        }
        if args.lossless_smallest {
            entro.insert("planes", "smallest");
        }
    } else {
        entro.insert("bits", config.bits.to_string());
        entro.insert("scheme", config.scheme.to_string());
        entro.insert("granularity", config.granularity.to_string());
        entro.insert("clip", config.clip.to_string());
        entro.insert("chunk_codes", args.chunk_codes.to_string());
        if let Some(preset) = &args.preset {
            entro.insert("preset", preset.name);
        }
        if let Some(text) = args.calibration.as_deref().and_then(Path::file_name) {
            entro.insert("calibration", text.to_string_lossy());
        }
    }
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

fn summary_line(output: &Path, s: &CompressSummary) -> String {
    let bits_per_weight = if s.weights == 0 {
        0.0
    } else {
        s.file_bytes as f64 * 8.0 / s.weights as f64
    };
    let coded = if s.lossless_tensors > 0 {
        format!("{} lossless", s.lossless_tensors)
    } else {
        format!("{} quantized", s.quantized_tensors)
    };
    format!(
        "wrote {}: {} ({coded}), {} weights, {} ({:.3} bits/weight, {:.2}x smaller than the input)",
        output.display(),
        plural(s.tensors, "tensor"),
        human_count(s.weights),
        human_bytes(s.file_bytes),
        bits_per_weight,
        s.input_bytes as f64 / (s.file_bytes.max(1)) as f64
    )
}
