//! Raw command-line flags, as clap parses them. `args` turns them into
//! validated settings; nothing here is trusted yet.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Compress LLM checkpoints: per-tensor quantization, canonical Huffman
/// coding, and parallel decoding (EntroLLM).
#[derive(Debug, Parser)]
#[command(name = "entro", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print more detail (per-tensor lines).
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Quantize and entropy-code a safetensors checkpoint into a .entro file.
    Compress(CompressFlags),
    /// Decode a .entro file back into a safetensors file.
    Decompress(DecompressFlags),
    /// Show per-tensor encoding, entropy, coded size and error.
    Inspect(InspectFlags),
    /// Check every checksum and decode every chunk; exit 0 only if intact.
    Verify(VerifyFlags),
    /// Measure whole-model decode throughput.
    Bench(BenchFlags),
    /// Run the whole pipeline on a built-in synthetic llama-shaped model.
    Demo(DemoFlags),
    /// Write the demo's synthetic llama-shaped checkpoint (BF16 safetensors).
    Synth(SynthFlags),
    /// Score the original model and compressed versions: perplexity (llama) or embedding fidelity (bert).
    Eval(crate::commands::eval::EvalFlags),
}

#[derive(Debug, Args)]
pub(crate) struct CompressFlags {
    /// A .safetensors file, a model.safetensors.index.json, or a folder holding either.
    pub(crate) input: PathBuf,
    /// The .entro file to write.
    #[arg(short, long)]
    pub(crate) output: PathBuf,
    /// Bits per code: 8 or 4 (anything in 2..=8 works).
    #[arg(long, default_value_t = 8)]
    pub(crate) bits: u8,
    /// Quantization scheme; `auto` is the paper's per-tensor choice.
    #[arg(long, value_enum, default_value_t = SchemeFlag::Auto)]
    pub(crate) scheme: SchemeFlag,
    /// `tensor` (the paper's), `channel`, or `group:<N>`.
    #[arg(long, default_value = "tensor")]
    pub(crate) granularity: String,
    /// Clip each block's range to minimise the mean squared error.
    #[arg(long)]
    pub(crate) clip: bool,
    /// A per-tensor setting tuned on real models: `fidelity` (about 4.9-6.2 bits/weight) or
    /// `compact` (about 4.2-4.5); replaces --bits, --scheme, --granularity and --clip. A tensor
    /// whose lossless coding is no larger than the preset's quantization is stored losslessly.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["bits", "scheme", "granularity", "clip"])]
    pub(crate) preset: Option<String>,
    /// Calibrate the preset on this text (one sequence per line): run the model over it and round
    /// each linear layer's weights so that its outputs change least (GPTQ). INPUT must be a model
    /// folder with config.json and tokenizer.json (a llama- or BERT-family model).
    #[arg(long, value_name = "TEXT", requires = "preset")]
    pub(crate) calibration: Option<PathBuf>,
    /// Keep tensors whose names match this glob exactly as they are (repeatable).
    #[arg(long = "keep", value_name = "GLOB")]
    pub(crate) keep: Vec<String>,
    /// Worker threads (default: all available cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Codes per independently decodable chunk.
    #[arg(long, value_name = "N")]
    pub(crate) chunk_codes: Option<usize>,
    /// Store every F32, F16 and BF16 tensor bit-exactly (lossless coding) instead of quantizing.
    #[arg(
        long,
        conflicts_with_all = ["bits", "scheme", "granularity", "clip", "chunk_codes", "preset"]
    )]
    pub(crate) lossless: bool,
    /// Elements per independently decodable chunk of a lossless tensor (default: 1 MiB of
    /// elements, 262144 F32 or 524288 F16/BF16).
    #[arg(long, value_name = "N", requires = "lossless")]
    pub(crate) chunk_elements: Option<usize>,
    /// With --lossless: the smallest file, not the fastest to decode. Every part of a tensor that
    /// an entropy code makes smaller at all is entropy-coded, with optimal code lengths
    /// (SmolLM2-135M: 5.20 instead of 5.43 bits/weight; all-MiniLM-L6-v2: 26.100 instead of
    /// 26.122). Decoding is 1.5 to 1.7 times slower.
    #[arg(long, requires = "lossless")]
    pub(crate) smallest: bool,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemeFlag {
    Auto,
    Unsigned,
    Asymmetric,
    Symmetric,
}

#[derive(Debug, Args)]
pub(crate) struct DecompressFlags {
    /// The .entro file to read.
    pub(crate) input: PathBuf,
    /// The .safetensors file to write.
    #[arg(short, long)]
    pub(crate) output: PathBuf,
    /// Element type of the dequantized tensors.
    #[arg(long, value_enum, default_value_t = OutputDtypeFlag::Original)]
    pub(crate) dtype: OutputDtypeFlag,
    /// Worker threads (default: all available cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputDtypeFlag {
    Original,
    F32,
    F16,
    Bf16,
}

#[derive(Debug, Args)]
pub(crate) struct InspectFlags {
    /// The .entro file to describe.
    pub(crate) file: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyFlags {
    /// The .entro file to check.
    pub(crate) file: PathBuf,
    /// Worker threads (default: all available cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchFlags {
    /// The .entro file to decode.
    pub(crate) file: PathBuf,
    /// Worker threads (default: all available cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// How many times to decode the whole model; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub(crate) repeat: u32,
    /// Decode to u8 codes, dequantize into a float type, or decode every tensor to its original
    /// dtype (default: codes when the file has quantized tensors and no lossless ones, else
    /// original).
    #[arg(long, value_enum)]
    pub(crate) dtype: Option<BenchDtypeFlag>,
    /// Skip the chunk checksums, to time the Huffman decoder alone.
    #[arg(long)]
    pub(crate) no_checksums: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchDtypeFlag {
    Codes,
    F32,
    F16,
    Bf16,
    Original,
}

#[derive(Debug, Args)]
pub(crate) struct DemoFlags {
    /// Approximate parameter count of the synthetic model.
    #[arg(long, default_value_t = 100_000_000)]
    pub(crate) params: u64,
    /// Worker threads for the multi-threaded figures (default: all cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Where to keep the generated files (default: a temporary folder, removed afterwards).
    #[arg(long)]
    pub(crate) workdir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SynthFlags {
    /// Approximate parameter count.
    #[arg(long, default_value_t = 100_000_000)]
    pub(crate) params: u64,
    /// Seed of the pseudo-random weights (the demo uses 0).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// The .safetensors file to write.
    #[arg(short, long)]
    pub(crate) output: PathBuf,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    pub(crate) force: bool,
}
