//! Helpers shared by the integration tests: a minimal compress and decompress pipeline built on
//! the library crates (the `entro` binary does the same with more options), and the real SmolLM2
//! fixture when `../shared` is there.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::path::{Path, PathBuf};

use entro_decode::{DecodeOptions, Decoder, Target};
use entro_format::safetensors::{SafetensorsCheckpoint, SafetensorsWriter, TensorSpec};
use entro_format::{Dtype, EntroFile, EntroWriter, FileMetadata, encode_quantized};
use entro_quant::{FloatSlice, QuantConfig, quantize, should_quantize};

/// Quantizes every 2-D float tensor of the safetensors checkpoint `source` with `config`,
/// Huffman-codes it, and writes `.entro` to `destination`; other tensors are kept exactly.
pub(crate) fn compress(source: &Path, destination: &Path, config: &QuantConfig) {
    let checkpoint = SafetensorsCheckpoint::open(source).unwrap();
    let mut writer = EntroWriter::create(destination, FileMetadata::default()).unwrap();
    for tensor in checkpoint.tensors() {
        let bytes = checkpoint.data(tensor).unwrap();
        let float = tensor.dtype().is_quantizable_float();
        if !should_quantize(float, tensor.shape()) {
            writer
                .add_raw(tensor.name(), tensor.shape(), tensor.dtype(), bytes)
                .unwrap();
            continue;
        }
        let mut codes = vec![0u8; bytes.len() / (tensor.dtype().bits() as usize / 8)];
        let report = match tensor.dtype() {
            Dtype::BF16 => {
                let values: Vec<half::bf16> = bytes
                    .chunks_exact(2)
                    .map(|b| half::bf16::from_le_bytes([b[0], b[1]]))
                    .collect();
                quantize(
                    tensor.name(),
                    FloatSlice::BF16(&values),
                    tensor.shape(),
                    config,
                    &mut codes,
                )
            }
            Dtype::F32 => {
                let values: Vec<f32> = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                quantize(
                    tensor.name(),
                    FloatSlice::F32(&values),
                    tensor.shape(),
                    config,
                    &mut codes,
                )
            }
            other => panic!("the test checkpoints hold no {other} tensors"),
        }
        .unwrap();
        let encoded = encode_quantized(
            tensor.name(),
            &codes,
            tensor.shape(),
            report.params,
            report.stats,
            1 << 12,
        )
        .unwrap();
        writer
            .add_quantized(tensor.name(), tensor.shape(), tensor.dtype(), &encoded)
            .unwrap();
    }
    writer.finish().unwrap();
}

/// Decodes `.entro` back into a safetensors file in the original dtypes, as `entro decompress`
/// does.
pub(crate) fn decompress(source: &Path, destination: &Path) {
    let file = EntroFile::open(source).unwrap();
    let decoder = Decoder::new(DecodeOptions::default()).unwrap();
    let decoded = decoder.decode_model(&file, Target::Original).unwrap();
    let specs = decoded
        .iter()
        .map(|tensor| TensorSpec {
            name: tensor.name.clone(),
            dtype: tensor.original_dtype,
            shape: tensor.shape.clone(),
        })
        .collect();
    let mut writer = SafetensorsWriter::create(destination, specs, None).unwrap();
    for tensor in &decoded {
        writer
            .write_tensor(&tensor.name, &tensor.data.to_le_bytes())
            .unwrap();
    }
    writer.finish().unwrap();
}

/// Copies `config.json` and `tokenizer.json` (and the sentence-transformers settings, if any) of a
/// model folder into another.
pub(crate) fn copy_model_files(from: &Path, to: &Path) {
    for name in ["config.json", "tokenizer.json", "sentence_bert_config.json"] {
        if from.join(name).exists() {
            std::fs::copy(from.join(name), to.join(name)).unwrap();
        }
    }
}

/// The real SmolLM2-135M-Instruct as a model folder (decompressed once into the target directory),
/// or `None`, with the reason printed, when `../shared` is absent.
pub(crate) fn smollm2() -> Option<PathBuf> {
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/SmolLM2-135M-Instruct");
    let compressed = shared.join("model.safetensors.zst");
    if !compressed.exists() {
        eprintln!("skipped: {} is absent", compressed.display());
        return None;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("entro-fixtures/SmolLM2-135M-Instruct");
    std::fs::create_dir_all(&dir).unwrap();
    copy_model_files(&shared, &dir);
    let weights = dir.join("model.safetensors");
    if !weights.exists() {
        // Decompress under a name of our own and rename, so concurrent tests never see half a file.
        let partial = dir.join(format!("model.safetensors.{}.tmp", std::process::id()));
        let mut input = std::fs::File::open(&compressed).unwrap();
        let mut output = std::fs::File::create(&partial).unwrap();
        zstd::stream::copy_decode(&mut input, &mut output).unwrap();
        std::fs::rename(&partial, &weights).unwrap();
    }
    Some(dir)
}
