//! Benchmark fixtures, made once into `<target>/entro-fixtures/`: the real SmolLM2 checkpoint and a
//! synthetic llama-shaped one, each compressed to `.entro` (8-bit, one scale per tensor), plus the
//! zstd-compressed code streams the real one is compared against.

use std::path::{Path, PathBuf};

use entro_format::safetensors::SafetensorsCheckpoint;
use entro_format::synthetic::{SyntheticModel, write_safetensors};
use entro_format::{Dtype, EntroWriter, FileMetadata, encode_quantized};
use entro_huffman::DEFAULT_CHUNK_CODES;
use entro_quant::{FloatSlice, QuantConfig, quantize, should_quantize};
use half::{bf16, f16};

const SMOLLM2: &str = "SmolLM2-135M-Instruct";

/// `<target>/entro-fixtures`, next to the folder this benchmark binary was built in.
pub(crate) fn fixtures() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark binary's path");
    let target = exe
        .ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    target.join("entro-fixtures")
}

/// Runs `make(temp)` to create `path` unless it exists; `make` writes a temporary name that is
/// renamed into place, so a concurrent run never sees half a file.
fn once(path: &Path, make: impl FnOnce(&Path)) -> PathBuf {
    if !path.is_file() {
        std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("fixture folder");
        let temp = path.with_extension(format!("tmp-{}", std::process::id()));
        make(&temp);
        std::fs::rename(&temp, path).expect("move the fixture into place");
    }
    path.to_path_buf()
}

/// The real SmolLM2-135M checkpoint as `.entro`, or `None` (with a printed reason) without `../shared`.
pub(crate) fn smollm2_entro() -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/models")
        .join(SMOLLM2)
        .join("model.safetensors.zst");
    if !source.is_file() {
        println!(
            "skipped the SmolLM2 benchmarks: {} is absent (no ../shared checkout)",
            source.display()
        );
        return None;
    }
    let folder = fixtures().join(SMOLLM2);
    let safetensors = once(&folder.join("model.safetensors"), |temp| {
        let input = std::fs::File::open(&source).expect("open the compressed checkpoint");
        let mut output = std::fs::File::create(temp).expect("create the fixture");
        zstd::stream::copy_decode(input, &mut output).expect("decompress the checkpoint");
    });
    Some(once(&folder.join(entro_name()), |temp| {
        compress(&safetensors, temp)
    }))
}

/// The cached `.entro` file's name: a new format version makes new fixtures.
fn entro_name() -> String {
    format!("model-8bit-v{}.entro", entro_format::FORMAT_VERSION)
}

/// A synthetic llama-shaped checkpoint of about `params` weights as `.entro`.
pub(crate) fn synthetic_entro(params: u64) -> PathBuf {
    let folder = fixtures().join(format!("synthetic-{params}"));
    let safetensors = once(&folder.join("model.safetensors"), |temp| {
        write_safetensors(&SyntheticModel::with_params(params, 42), temp)
            .expect("write the synthetic model");
    });
    once(&folder.join(entro_name()), |temp| {
        compress(&safetensors, temp)
    })
}

/// `codes` compressed by zstd at `level`, cached beside the `.entro` file.
pub(crate) fn zstd_compressed(entro: &Path, codes: &[u8], level: i32) -> Vec<u8> {
    let path = once(&entro.with_extension(format!("codes.zst{level}")), |temp| {
        let compressed = zstd::bulk::compress(codes, level).expect("zstd compression");
        std::fs::write(temp, compressed).expect("write the zstd fixture");
    });
    std::fs::read(path).expect("read the zstd fixture")
}

/// Quantizes every float tensor of 2+ dimensions to 8 bits with one scale (the paper's method),
/// Huffman-codes it in chunks of the default size, and keeps the rest exactly.
fn compress(safetensors: &Path, output: &Path) {
    let checkpoint = SafetensorsCheckpoint::open(safetensors).expect("open the checkpoint");
    let mut writer =
        EntroWriter::create(output, FileMetadata::default()).expect("create the .entro file");
    let config = QuantConfig::default();
    for tensor in checkpoint.tensors() {
        let bytes = checkpoint.data(tensor).expect("tensor bytes");
        let (name, shape, dtype) = (tensor.name(), tensor.shape(), tensor.dtype());
        if !should_quantize(dtype.is_quantizable_float(), shape) {
            writer
                .add_raw(name, shape, dtype, bytes)
                .expect("add a raw tensor");
            continue;
        }
        let (f32s, f16s, bf16s): (Vec<f32>, Vec<f16>, Vec<bf16>);
        let input = match dtype {
            Dtype::F32 => {
                f32s = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                FloatSlice::F32(&f32s)
            }
            Dtype::F16 => {
                f16s = bytes
                    .chunks_exact(2)
                    .map(|b| f16::from_le_bytes([b[0], b[1]]))
                    .collect();
                FloatSlice::F16(&f16s)
            }
            _ => {
                bf16s = bytes
                    .chunks_exact(2)
                    .map(|b| bf16::from_le_bytes([b[0], b[1]]))
                    .collect();
                FloatSlice::BF16(&bf16s)
            }
        };
        let mut codes = vec![0u8; input.len()];
        let report = quantize(name, input, shape, &config, &mut codes).expect("quantize");
        let encoded = encode_quantized(
            name,
            &codes,
            shape,
            report.params,
            report.stats,
            DEFAULT_CHUNK_CODES,
        )
        .expect("Huffman-code");
        writer
            .add_quantized(name, shape, dtype, &encoded)
            .expect("add a quantized tensor");
    }
    writer.finish().expect("finish the .entro file");
}
