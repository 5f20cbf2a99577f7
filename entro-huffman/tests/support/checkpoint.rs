//! Test and benchmark fixture: per-tensor code streams of the real SmolLM2-135M checkpoint.
//!
//! entro-huffman is a leaf crate, so this does its own small per-tensor min-max quantization
//! (unsigned when all weights share a sign, else asymmetric with a zero point; `2^bits` levels; one
//! code per weight) of every float tensor with two or more dimensions. The checkpoint is
//! decompressed once into the target directory. Where `../shared` is missing, [`load`] falls back to
//! a synthetic stream with a similar histogram and says so.

#![allow(
    dead_code,
    reason = "each test, bench and example uses a different part of this module"
)]

use std::path::{Path, PathBuf};

/// Codes of one quantized tensor.
pub(crate) struct QuantizedTensor {
    /// Tensor name (or a synthetic label).
    pub(crate) name: String,
    /// One code per weight.
    pub(crate) codes: Vec<u8>,
}

/// Where the tensors came from.
pub(crate) enum Source {
    /// The real checkpoint.
    Checkpoint(PathBuf),
    /// The synthetic stand-in; the string says why.
    Synthetic(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Checkpoint(path) => write!(f, "real checkpoint {}", path.display()),
            Self::Synthetic(why) => write!(f, "SYNTHETIC stream with a similar histogram ({why})"),
        }
    }
}

const MODEL: &str = "SmolLM2-135M-Instruct";

/// The compressed checkpoint in `../shared`, if present.
pub(crate) fn checkpoint_zst() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/models")
        .join(MODEL)
        .join("model.safetensors.zst");
    path.is_file().then_some(path)
}

/// The cargo target directory of the running test, bench or example.
pub(crate) fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // <target>/<profile>/deps/<exe> or <target>/<profile>/examples/<exe>.
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Directory for cached fixture files.
pub(crate) fn fixture_dir() -> PathBuf {
    target_dir().join("entro-fixtures").join(MODEL)
}

/// Quantized tensors of the real checkpoint at `bits` bits, or `None` (with the reason) without
/// `../shared`.
pub(crate) fn load_checkpoint(bits: u8) -> Result<(Vec<QuantizedTensor>, PathBuf), String> {
    let zst = checkpoint_zst().ok_or("../shared/models is missing")?;
    let dir = fixture_dir();
    let path = dir.join("model.safetensors");
    if !path.is_file() {
        std::fs::create_dir_all(&dir).map_err(|err| format!("create {}: {err}", dir.display()))?;
        // Decompress to a unique temporary name, then rename, so concurrent runs never see half a file.
        let tmp = dir.join(format!("model.safetensors.{}.tmp", std::process::id()));
        let input =
            std::fs::File::open(&zst).map_err(|err| format!("open {}: {err}", zst.display()))?;
        let mut output = std::fs::File::create(&tmp)
            .map_err(|err| format!("create {}: {err}", tmp.display()))?;
        zstd::stream::copy_decode(input, &mut output)
            .map_err(|err| format!("decompress: {err}"))?;
        std::fs::rename(&tmp, &path).map_err(|err| format!("rename: {err}"))?;
    }
    let bytes = std::fs::read(&path).map_err(|err| format!("read {}: {err}", path.display()))?;
    let tensors = safetensors::SafeTensors::deserialize(&bytes).map_err(|err| err.to_string())?;
    let mut named = tensors.tensors();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (name, view) in named {
        if view.dtype() != safetensors::Dtype::BF16 || view.shape().len() < 2 {
            continue;
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(2)
            .map(|pair| f32::from_bits(u32::from(u16::from_le_bytes([pair[0], pair[1]])) << 16))
            .collect();
        out.push(QuantizedTensor {
            name,
            codes: quantize_min_max(&values, bits),
        });
    }
    Ok((out, path))
}

/// Per-tensor min-max quantization to `2^bits` levels.
pub(crate) fn quantize_min_max(values: &[f32], bits: u8) -> Vec<u8> {
    let top = ((1u32 << bits) - 1) as f32;
    let (min, max) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if values.is_empty() || min == max {
        return vec![0; values.len()];
    }
    let (scale, zero) = if min * max >= 0.0 {
        // One sign: unsigned codes from 0 (a negative scale for all-non-positive tensors).
        let extreme = if max > 0.0 { max } else { min };
        (extreme / top, 0.0)
    } else {
        let scale = (max - min) / top;
        (scale, (-min / scale).round())
    };
    values
        .iter()
        .map(|&v| clamped_code(f64::from(((v / scale).round() + zero).clamp(0.0, top))))
        .collect()
}

/// A code already rounded and clamped to `0..=255`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "callers clamp to 0..=255 first"
)]
fn clamped_code(value: f64) -> u8 {
    value as u8
}

/// A synthetic stand-in: per-tensor discretized Gaussians whose entropy matches the real checkpoint
/// (about 5.35 bits per code at 8 bits, 1.42 at 4 bits).
pub(crate) fn synthetic(bits: u8, tensors: usize, codes_per_tensor: usize) -> Vec<QuantizedTensor> {
    let (center, sigma) = if bits >= 8 { (128.0, 9.6) } else { (8.0, 0.47) };
    let top = ((1u32 << bits) - 1) as f64;
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..tensors)
        .map(|index| {
            let codes = (0..codes_per_tensor)
                .map(|_| {
                    // Box-Muller.
                    let gauss = (-2.0 * uniform().ln()).sqrt()
                        * (2.0 * std::f64::consts::PI * uniform()).cos();
                    clamped_code((center + sigma * gauss).round().clamp(0.0, top))
                })
                .collect();
            QuantizedTensor {
                name: format!("synthetic.{index}"),
                codes,
            }
        })
        .collect()
}

/// The real checkpoint's tensors, or the synthetic stand-in with a printed notice.
pub(crate) fn load(bits: u8) -> (Vec<QuantizedTensor>, Source) {
    match load_checkpoint(bits) {
        Ok((tensors, path)) => (tensors, Source::Checkpoint(path)),
        Err(why) => {
            eprintln!("NOTE: using a synthetic stream instead of the real checkpoint: {why}");
            (synthetic(bits, 32, 1 << 20), Source::Synthetic(why))
        }
    }
}

/// Order-0 entropy of a code stream in bits per code.
pub(crate) fn entropy_bits(codes: &[u8]) -> f64 {
    let mut counts = [0u64; 256];
    for &code in codes {
        counts[usize::from(code)] += 1;
    }
    let total = codes.len() as f64;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = count as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// Which alphabets the size measurement may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AlphabetChoice {
    /// [`entro_huffman::Codebook::build_best`]: nibble pairs where they are smaller.
    Best,
    /// Plain per-code Huffman.
    BytesOnly,
}

/// Container index bytes charged per chunk (offset, length, code count, checksum).
pub(crate) const INDEX_BYTES_PER_CHUNK: u64 = 16;

/// Coded size of a checkpoint against its entropy.
#[derive(Debug, Default)]
pub(crate) struct SizeReport {
    /// Weights (codes) coded.
    pub(crate) weights: u64,
    /// Sum over tensors of `len * order-0 entropy`, in bytes.
    pub(crate) entropy_bytes: f64,
    /// Chunk bytes written by the encoder (headers included).
    pub(crate) chunk_bytes: u64,
    /// Serialized codebooks.
    pub(crate) codebook_bytes: u64,
    /// Chunks, each charged [`INDEX_BYTES_PER_CHUNK`].
    pub(crate) chunks: u64,
    /// Tensors that chose nibble pairs.
    pub(crate) pair_tensors: usize,
    /// Tensors measured.
    pub(crate) tensors: usize,
}

impl SizeReport {
    /// Everything a container stores for the codes.
    pub(crate) fn total_bytes(&self) -> u64 {
        self.chunk_bytes + self.codebook_bytes + self.chunks * INDEX_BYTES_PER_CHUNK
    }

    /// Total coded size over the entropy bound.
    pub(crate) fn ratio(&self) -> f64 {
        self.total_bytes() as f64 / self.entropy_bytes
    }

    /// Bits per weight, everything included.
    pub(crate) fn bits_per_weight(&self) -> f64 {
        self.total_bytes() as f64 * 8.0 / self.weights as f64
    }
}

/// Encodes every tensor with its own codebook, checks it decodes back, and adds up the sizes.
pub(crate) fn measure_sizes(
    tensors: &[QuantizedTensor],
    bits: u8,
    max_len: u8,
    chunk_codes: usize,
    choice: AlphabetChoice,
) -> SizeReport {
    use entro_huffman::{Alphabet, Codebook, DecodeTable, encode};
    let mut report = SizeReport {
        tensors: tensors.len(),
        ..SizeReport::default()
    };
    let mut data = Vec::new();
    let mut book = Vec::new();
    let mut out = Vec::new();
    for tensor in tensors {
        let codebook = match choice {
            AlphabetChoice::Best => Codebook::build_best(&tensor.codes, bits, max_len),
            AlphabetChoice::BytesOnly => Codebook::build(&tensor.codes, Alphabet::Bytes, max_len),
        }
        .expect("codebook");
        data.clear();
        let chunks = encode(&tensor.codes, &codebook, chunk_codes, &mut data).expect("encode");
        book.clear();
        codebook.to_bytes(&mut book);
        out.clear();
        out.resize(tensor.codes.len(), 0);
        DecodeTable::new(&codebook)
            .decode_chunks(&data, &chunks, &mut out)
            .expect("decode");
        assert!(out == tensor.codes, "{} does not decode back", tensor.name);
        report.weights += tensor.codes.len() as u64;
        report.entropy_bytes += entropy_bits(&tensor.codes) * tensor.codes.len() as f64 / 8.0;
        report.chunk_bytes += data.len() as u64;
        report.codebook_bytes += book.len() as u64;
        report.chunks += chunks.len() as u64;
        report.pair_tensors += usize::from(codebook.alphabet() == Alphabet::NibblePairs);
    }
    report
}
