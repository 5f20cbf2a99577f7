//! Raw flags ([`crate::cli`]) turned into validated settings. Everything a
//! command receives from here is known to be usable; problems are
//! [`UsageError`]s (exit code 2).

use std::num::NonZeroUsize;
use std::path::PathBuf;

use entro_format::lossless;
use entro_huffman::{DEFAULT_CHUNK_CODES, MAX_CHUNK_CODES};
use entro_quant::{Granularity, QuantConfig, Scheme};
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::cli::{
    BenchDtypeFlag, BenchFlags, CompressFlags, DecompressFlags, DemoFlags, InspectFlags,
    OutputDtypeFlag, SchemeFlag, SynthFlags, VerifyFlags,
};
use crate::error::{UsageError, usage};

/// Smallest synthetic model the demo and `synth` accept.
const MIN_SYNTHETIC_PARAMS: u64 = 2_000_000;
/// Largest synthetic model (about 40 GB of BF16), to catch a mistyped count.
const MAX_SYNTHETIC_PARAMS: u64 = 20_000_000_000;
/// Most decode repetitions `bench` accepts.
const MAX_REPEAT: u32 = 1000;

/// `entro compress`.
#[derive(Debug)]
pub(crate) struct CompressArgs {
    pub(crate) input: PathBuf,
    pub(crate) output: PathBuf,
    pub(crate) config: QuantConfig,
    /// Per-tensor rules that replace `config` (`--preset`).
    pub(crate) preset: Option<&'static entro_eval::preset::Preset>,
    /// Text to calibrate the preset on (`--calibration`).
    pub(crate) calibration: Option<PathBuf>,
    pub(crate) keep: KeepRules,
    pub(crate) threads: usize,
    pub(crate) chunk_codes: usize,
    /// Store float tensors losslessly instead of quantizing them.
    pub(crate) lossless: Option<LosslessChunks>,
    /// `--smallest`: lossless tensors take their smallest coding, not their fastest to decode.
    pub(crate) lossless_smallest: bool,
    pub(crate) force: bool,
}

/// How `--lossless` cuts tensors into independently decodable chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LosslessChunks {
    /// [`LosslessChunks::DEFAULT_BYTES`] of elements per chunk.
    Default,
    /// `--chunk-elements N`.
    Elements(usize),
}

impl LosslessChunks {
    /// Raw bytes per chunk by default. Decoding a chunk writes its output and works in scratch
    /// space of about the same size; at 1 MiB both fit a core's L2 cache. Measured on all-MiniLM-L6-v2
    /// (F32, `entro bench --threads 2`), 256 Ki-element chunks decoded 1.8 times faster than
    /// 1 Mi-element ones (same file size within 0.03 %); on SmolLM2 (BF16) 512 Ki and 1 Mi
    /// elements decoded equally fast.
    pub(crate) const DEFAULT_BYTES: usize = 1 << 20;

    /// Elements per chunk for elements of `element_bytes` bytes.
    pub(crate) fn elements(self, element_bytes: usize) -> usize {
        match self {
            Self::Default => (Self::DEFAULT_BYTES / element_bytes.max(1))
                .clamp(1, lossless::DEFAULT_CHUNK_ELEMENTS),
            Self::Elements(elements) => elements,
        }
    }
}

/// Tensors to keep exactly, by name glob.
#[derive(Debug)]
pub(crate) struct KeepRules {
    patterns: Vec<String>,
    set: GlobSet,
}

impl KeepRules {
    pub(crate) fn new(patterns: Vec<String>) -> Result<Self, UsageError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in &patterns {
            let glob = Glob::new(pattern)
                .map_err(|err| usage!("invalid --keep pattern `{pattern}`: {err}"))?;
            builder.add(glob);
        }
        let set = builder
            .build()
            .map_err(|err| usage!("invalid --keep patterns: {err}"))?;
        Ok(Self { patterns, set })
    }

    /// Indices (into [`KeepRules::patterns`]) of the patterns `name` matches.
    pub(crate) fn matches(&self, name: &str) -> Vec<usize> {
        self.set.matches(name)
    }

    pub(crate) fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

impl CompressArgs {
    pub(crate) fn new(flags: CompressFlags) -> Result<Self, UsageError> {
        let bits = flags.bits;
        if !(entro_quant::MIN_BITS..=entro_quant::MAX_BITS).contains(&bits) {
            return Err(usage!(
                "--bits {bits} is not supported; use 8 or 4 (any of {}..={} works)",
                entro_quant::MIN_BITS,
                entro_quant::MAX_BITS
            ));
        }
        let granularity: Granularity = flags.granularity.parse().map_err(|_| {
            usage!(
                "invalid --granularity `{}`: expected tensor, channel or group:N with N >= 1",
                flags.granularity
            )
        })?;
        let chunk_codes = flags.chunk_codes.unwrap_or(DEFAULT_CHUNK_CODES);
        // Even, so that nibble-pair codebooks (4 bits and below) can use it too.
        if !(2..=MAX_CHUNK_CODES).contains(&chunk_codes) || !chunk_codes.is_multiple_of(2) {
            return Err(usage!(
                "--chunk-codes {chunk_codes} must be an even number in 2..={MAX_CHUNK_CODES}"
            ));
        }
        let lossless = match (flags.lossless, flags.chunk_elements) {
            (false, _) => None,
            (true, None) => Some(LosslessChunks::Default),
            (true, Some(chunk)) if (1..=lossless::MAX_CHUNK_ELEMENTS).contains(&chunk) => {
                Some(LosslessChunks::Elements(chunk))
            }
            (true, Some(chunk)) => {
                return Err(usage!(
                    "--chunk-elements {chunk} must be in 1..={}",
                    lossless::MAX_CHUNK_ELEMENTS
                ));
            }
        };
        Ok(Self {
            input: flags.input,
            output: flags.output,
            config: QuantConfig {
                bits,
                scheme: scheme(flags.scheme),
                granularity,
                clip: flags.clip,
            },
            preset: flags.preset.as_deref().map(preset).transpose()?,
            calibration: flags.calibration,
            keep: KeepRules::new(flags.keep)?,
            threads: threads(flags.threads)?,
            chunk_codes,
            lossless,
            lossless_smallest: flags.smallest,
            force: flags.force,
        })
    }
}

fn preset(name: &str) -> Result<&'static entro_eval::preset::Preset, UsageError> {
    entro_eval::preset::preset(name).ok_or_else(|| {
        let names: Vec<&str> = entro_eval::preset::PRESETS.iter().map(|p| p.name).collect();
        usage!("unknown --preset `{name}`; choose {}", names.join(" or "))
    })
}

fn scheme(flag: SchemeFlag) -> Scheme {
    match flag {
        SchemeFlag::Auto => Scheme::Auto,
        SchemeFlag::Unsigned => Scheme::Unsigned,
        SchemeFlag::Asymmetric => Scheme::Asymmetric,
        SchemeFlag::Symmetric => Scheme::Symmetric,
    }
}

/// `--threads`, defaulting to every available core.
fn threads(flag: Option<usize>) -> Result<usize, UsageError> {
    match flag {
        Some(0) => Err(usage!("--threads must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(default_threads()),
    }
}

pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Element type of decompressed tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputDtype {
    /// Each tensor's dtype in the source checkpoint.
    Original,
    F32,
    F16,
    BF16,
}

/// `entro decompress`.
#[derive(Debug)]
pub(crate) struct DecompressArgs {
    pub(crate) input: PathBuf,
    pub(crate) output: PathBuf,
    pub(crate) dtype: OutputDtype,
    pub(crate) threads: usize,
    pub(crate) force: bool,
}

impl DecompressArgs {
    pub(crate) fn new(flags: DecompressFlags) -> Result<Self, UsageError> {
        Ok(Self {
            input: flags.input,
            output: flags.output,
            dtype: match flags.dtype {
                OutputDtypeFlag::Original => OutputDtype::Original,
                OutputDtypeFlag::F32 => OutputDtype::F32,
                OutputDtypeFlag::F16 => OutputDtype::F16,
                OutputDtypeFlag::Bf16 => OutputDtype::BF16,
            },
            threads: threads(flags.threads)?,
            force: flags.force,
        })
    }
}

/// `entro inspect`.
#[derive(Debug)]
pub(crate) struct InspectArgs {
    pub(crate) file: PathBuf,
    pub(crate) json: bool,
}

impl InspectArgs {
    pub(crate) fn new(flags: InspectFlags) -> Self {
        Self {
            file: flags.file,
            json: flags.json,
        }
    }
}

/// `entro verify`.
#[derive(Debug)]
pub(crate) struct VerifyArgs {
    pub(crate) file: PathBuf,
    pub(crate) threads: usize,
}

impl VerifyArgs {
    pub(crate) fn new(flags: VerifyFlags) -> Result<Self, UsageError> {
        Ok(Self {
            file: flags.file,
            threads: threads(flags.threads)?,
        })
    }
}

/// What `bench` decodes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BenchTarget {
    Codes,
    F32,
    F16,
    BF16,
    /// Every tensor's own dtype (what `decompress` writes).
    Original,
    /// Codes if the file has quantized tensors, else the original dtypes.
    Auto,
}

impl BenchTarget {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Codes => "codes",
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::BF16 => "bf16",
            Self::Original => "original",
            Self::Auto => "auto",
        }
    }
}

/// `entro bench`.
#[derive(Debug)]
pub(crate) struct BenchArgs {
    pub(crate) file: PathBuf,
    pub(crate) threads: usize,
    pub(crate) repeat: u32,
    pub(crate) target: BenchTarget,
    pub(crate) checksums: bool,
    pub(crate) json: bool,
}

impl BenchArgs {
    pub(crate) fn new(flags: BenchFlags) -> Result<Self, UsageError> {
        if !(1..=MAX_REPEAT).contains(&flags.repeat) {
            return Err(usage!("--repeat must be in 1..={MAX_REPEAT}"));
        }
        Ok(Self {
            file: flags.file,
            threads: threads(flags.threads)?,
            repeat: flags.repeat,
            target: match flags.dtype {
                None => BenchTarget::Auto,
                Some(BenchDtypeFlag::Codes) => BenchTarget::Codes,
                Some(BenchDtypeFlag::F32) => BenchTarget::F32,
                Some(BenchDtypeFlag::F16) => BenchTarget::F16,
                Some(BenchDtypeFlag::Bf16) => BenchTarget::BF16,
                Some(BenchDtypeFlag::Original) => BenchTarget::Original,
            },
            checksums: !flags.no_checksums,
            json: flags.json,
        })
    }
}

/// `entro demo`.
#[derive(Debug)]
pub(crate) struct DemoArgs {
    pub(crate) params: u64,
    pub(crate) threads: usize,
    pub(crate) workdir: Option<PathBuf>,
}

impl DemoArgs {
    pub(crate) fn new(flags: DemoFlags) -> Result<Self, UsageError> {
        Ok(Self {
            params: synthetic_params(flags.params)?,
            threads: threads(flags.threads)?,
            workdir: flags.workdir,
        })
    }
}

/// `entro synth`.
#[derive(Debug)]
pub(crate) struct SynthArgs {
    pub(crate) params: u64,
    pub(crate) seed: u64,
    pub(crate) output: PathBuf,
    pub(crate) force: bool,
}

impl SynthArgs {
    pub(crate) fn new(flags: SynthFlags) -> Result<Self, UsageError> {
        Ok(Self {
            params: synthetic_params(flags.params)?,
            seed: flags.seed,
            output: flags.output,
            force: flags.force,
        })
    }
}

fn synthetic_params(params: u64) -> Result<u64, UsageError> {
    if (MIN_SYNTHETIC_PARAMS..=MAX_SYNTHETIC_PARAMS).contains(&params) {
        Ok(params)
    } else {
        Err(usage!(
            "--params {params} is outside {MIN_SYNTHETIC_PARAMS}..={MAX_SYNTHETIC_PARAMS}"
        ))
    }
}

#[cfg(test)]
mod tests;
