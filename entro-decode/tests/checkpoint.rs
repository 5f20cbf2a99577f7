//! Whole checkpoints: the real SmolLM2-135M from `../shared` (skipped with a printed reason when
//! absent) and a small synthetic llama that always runs the same checks.
//!
//! Each is compressed the way `entro compress` does by default (8-bit, one scale per tensor, 1-D
//! tensors kept exactly), then decoded on two threads, whole and layer by layer, and compared with a
//! plain one-chunk-at-a-time decode and with `entro_quant`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use entro_decode::{Target, TypedBuffer};
use entro_format::safetensors::SafetensorsCheckpoint;
use entro_format::synthetic::{SyntheticModel, write_safetensors};
use entro_format::{Dtype, EntroFile, EntroWriter, FileMetadata, TensorEntry, encode_quantized};
use entro_huffman::{DEFAULT_CHUNK_CODES, DecodeTable};
use entro_quant::{FloatSlice, FloatSliceMut, QuantConfig, dequantize, quantize, should_quantize};
use half::{bf16, f16};

const SMOLLM2: &str = "SmolLM2-135M-Instruct";

/// `<target>/entro-fixtures`, from the path of this test binary (`<target>/<profile>/deps/<bin>`).
fn fixtures() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe
        .ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    target.join("entro-fixtures")
}

/// Creates `path` with `make(temporary path)` unless it exists, renaming into place so that
/// concurrent test binaries never read a partial file.
fn once(path: &Path, make: impl FnOnce(&Path)) -> PathBuf {
    if !path.is_file() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("fixture folder");
        let temp = path.with_extension(format!("tmp-{}", std::process::id()));
        make(&temp);
        std::fs::rename(&temp, path).expect("move the fixture into place");
    }
    path.to_path_buf()
}

fn bf16_values(bytes: &[u8]) -> Vec<bf16> {
    bytes
        .chunks_exact(2)
        .map(|b| bf16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Compresses a BF16 safetensors checkpoint as `entro compress` does by default.
fn compress(safetensors: &Path, output: &Path) {
    let checkpoint = SafetensorsCheckpoint::open(safetensors).expect("open the checkpoint");
    let mut writer = EntroWriter::create(output, FileMetadata::default()).expect("create");
    for tensor in checkpoint.tensors() {
        let bytes = checkpoint.data(tensor).expect("tensor bytes");
        let (name, shape, dtype) = (tensor.name(), tensor.shape(), tensor.dtype());
        if !should_quantize(dtype.is_quantizable_float(), shape) {
            writer.add_raw(name, shape, dtype, bytes).expect("add raw");
            continue;
        }
        assert_eq!(dtype, Dtype::BF16, "the test checkpoints are BF16");
        let values = bf16_values(bytes);
        let mut codes = vec![0u8; values.len()];
        let report = quantize(
            name,
            FloatSlice::BF16(&values),
            shape,
            &QuantConfig::default(),
            &mut codes,
        )
        .expect("quantize");
        let encoded = encode_quantized(
            name,
            &codes,
            shape,
            report.params,
            report.stats,
            DEFAULT_CHUNK_CODES,
        )
        .expect("encode");
        writer
            .add_quantized(name, shape, dtype, &encoded)
            .expect("add quantized");
    }
    writer.finish().expect("finish");
}

/// The codes of `entry`, one chunk after the other with the Huffman decoder alone.
fn plain_codes(file: &EntroFile, entry: &TensorEntry) -> Vec<u8> {
    let quantized = entry.quantized().expect("quantized");
    let table = DecodeTable::new(quantized.codebook());
    let mut codes = vec![0u8; usize::try_from(entry.elements()).expect("fits")];
    for (index, info) in quantized.chunks().iter().enumerate() {
        file.verify_chunk(entry, index).expect("intact");
        let start = usize::try_from(info.first_code).expect("fits");
        let out = &mut codes[start..start + info.codes as usize];
        table
            .decode_chunk(index, file.chunk_bytes(entry, index).expect("chunk"), out)
            .expect("decodes");
    }
    codes
}

/// The checks, on the `.entro` file at `path` made from the checkpoint at `source`.
fn check(source: &Path, path: &Path, expected_groups: usize) {
    let file = Arc::new(EntroFile::open(path).expect("open"));
    let decoder = &common::decoders()[1];
    let codes = decoder
        .decode_model(&file, Target::Codes)
        .expect("decodes to codes");
    let quantized: Vec<&TensorEntry> = file
        .tensors()
        .iter()
        .filter(|e| e.quantized().is_some())
        .collect();
    assert_eq!(codes.len(), quantized.len());
    for (decoded, entry) in codes.iter().zip(&quantized) {
        assert_eq!(decoded.name, entry.name());
        assert!(
            decoded.data == TypedBuffer::Codes(plain_codes(&file, entry)),
            "{}",
            entry.name()
        );
    }

    // The first quantized tensor's codes are the quantizer's, and its floats are dequantize's.
    let checkpoint = SafetensorsCheckpoint::open(source).expect("open the checkpoint");
    let first = quantized[0];
    let values = bf16_values(
        checkpoint
            .data(checkpoint.tensor(first.name()).expect("listed"))
            .expect("data"),
    );
    let mut fresh = vec![0u8; values.len()];
    let config = QuantConfig::default();
    quantize(
        first.name(),
        FloatSlice::BF16(&values),
        first.shape(),
        &config,
        &mut fresh,
    )
    .expect("quantize");
    assert!(codes[0].data == TypedBuffer::Codes(fresh.clone()));
    let params = first.quantized().expect("quantized").params();
    let mut want = vec![bf16::ZERO; fresh.len()];
    dequantize(
        &fresh,
        params,
        first.shape(),
        FloatSliceMut::BF16(&mut want),
    )
    .expect("dequantize");
    let mut got = vec![bf16::ZERO; fresh.len()];
    decoder
        .decode_tensor(&file, first, entro_decode::Output::BF16(&mut got))
        .expect("decodes");
    assert!(
        got.iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );

    // Layer by layer in f16: every block is one group, and each tensor matches dequantize.
    let layers = decoder
        .layers(Arc::clone(&file), Target::F16)
        .expect("starts");
    assert_eq!(layers.groups().len(), expected_groups);
    let mut seen = 0;
    for layer in layers {
        for tensor in layer.expect("decodes").tensors {
            seen += 1;
            let entry = &file.tensors()[tensor.index];
            let TypedBuffer::F16(values) = &tensor.data else {
                panic!("f16 expected")
            };
            let Some(quantized) = entry.quantized() else {
                continue;
            };
            let mut want = vec![f16::ZERO; values.len()];
            let codes = plain_codes(&file, entry);
            dequantize(
                &codes,
                quantized.params(),
                entry.shape(),
                FloatSliceMut::F16(&mut want),
            )
            .expect("dequantize");
            assert!(
                values
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{}",
                entry.name()
            );
        }
    }
    assert_eq!(seen, file.tensors().len());
    assert!(decoder.verify(&file).is_ok());
}

#[test]
fn synthetic_llama_checkpoint() {
    let model = SyntheticModel {
        hidden: 64,
        intermediate: 160,
        layers: 3,
        vocab: 1000,
        kv_fraction: 4,
        seed: 11,
    };
    let dir = tempfile::tempdir().expect("temp");
    let source = dir.path().join("model.safetensors");
    write_safetensors(&model, &source).expect("write");
    let path = dir.path().join("model.entro");
    compress(&source, &path);
    // The embedding, three blocks and the final norm.
    check(&source, &path, 5);
}

#[test]
fn smollm2_checkpoint() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/models")
        .join(SMOLLM2);
    let compressed = source.join("model.safetensors.zst");
    if std::env::var_os("ENTRO_SKIP_REAL_CHECKPOINT").is_some() {
        // Set by .ci/run for the aarch64 tests, where qemu would take many minutes on it.
        println!("skipped: ENTRO_SKIP_REAL_CHECKPOINT is set");
        return;
    }
    if !compressed.is_file() {
        println!(
            "skipped: {} is absent (no ../shared checkout)",
            compressed.display()
        );
        return;
    }
    let folder = fixtures().join(SMOLLM2);
    let safetensors = once(&folder.join("model.safetensors"), |temp| {
        let input = std::fs::File::open(&compressed).expect("open the compressed checkpoint");
        let mut output = std::fs::File::create(temp).expect("create the fixture");
        zstd::stream::copy_decode(input, &mut output).expect("decompress");
    });
    let path = once(
        &folder.join(format!(
            "decode-test-8bit-v{}.entro",
            entro_format::FORMAT_VERSION
        )),
        |temp| compress(&safetensors, temp),
    );
    // The embedding, 30 blocks and the final norm (the head is tied to the embedding).
    check(&safetensors, &path, 32);
}
