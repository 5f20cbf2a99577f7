//! Header and index overhead: everything that is not payload (preamble,
//! padding, records, codebooks, chunk tables, footer) must stay below 0.1 % of
//! the file, on the real SmolLM2-135M checkpoint quantized at 8 bits.

mod fixture;

use std::path::Path;

use entro_format::safetensors::SafetensorsCheckpoint;
use entro_format::synthetic::{SyntheticModel, write_safetensors};
use entro_format::{Dtype, EntroFile, EntroWriter, FileMetadata, WriteSummary, encode_quantized};
use entro_huffman::DEFAULT_CHUNK_CODES;
use entro_quant::{FloatSlice, QuantConfig, quantize, should_quantize};
use half::{bf16, f16};

/// Little-endian element bytes to the float types entro-quant takes.
fn quantize_bytes(
    name: &str,
    dtype: Dtype,
    bytes: &[u8],
    shape: &[usize],
    codes: &mut [u8],
) -> entro_quant::QuantReport {
    let config = QuantConfig::default();
    let pairs = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]));
    match dtype {
        Dtype::BF16 => {
            let values: Vec<bf16> = pairs.map(bf16::from_bits).collect();
            quantize(name, FloatSlice::BF16(&values), shape, &config, codes).unwrap()
        }
        Dtype::F16 => {
            let values: Vec<f16> = pairs.map(f16::from_bits).collect();
            quantize(name, FloatSlice::F16(&values), shape, &config, codes).unwrap()
        }
        Dtype::F32 => {
            let values: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|q| f32::from_le_bytes([q[0], q[1], q[2], q[3]]))
                .collect();
            quantize(name, FloatSlice::F32(&values), shape, &config, codes).unwrap()
        }
        other => panic!("{name}: {other} is not a float type"),
    }
}

/// The compression pipeline at the paper's settings: 8 bits, per tensor,
/// default chunk size; 1-D and non-float tensors kept exactly.
fn compress(checkpoint: &SafetensorsCheckpoint, target: &Path) -> WriteSummary {
    let metadata = FileMetadata {
        checkpoint: checkpoint.metadata().cloned(),
        entro: [("quantization", "8 bits, auto scheme, per tensor")]
            .into_iter()
            .collect(),
    };
    let mut writer = EntroWriter::create(target, metadata).unwrap();
    for tensor in checkpoint.tensors() {
        let data = checkpoint.data(tensor).unwrap();
        if should_quantize(tensor.dtype().is_quantizable_float(), tensor.shape()) {
            let mut codes = vec![0u8; tensor.shape().iter().product()];
            let report = quantize_bytes(
                tensor.name(),
                tensor.dtype(),
                data,
                tensor.shape(),
                &mut codes,
            );
            let encoded = encode_quantized(
                tensor.name(),
                &codes,
                tensor.shape(),
                report.params,
                report.stats,
                DEFAULT_CHUNK_CODES,
            )
            .unwrap();
            writer
                .add_quantized(tensor.name(), tensor.shape(), tensor.dtype(), &encoded)
                .unwrap();
        } else {
            writer
                .add_raw(tensor.name(), tensor.shape(), tensor.dtype(), data)
                .unwrap();
        }
    }
    writer.finish().unwrap()
}

/// Compresses, reopens, checks the byte accounting and returns the overhead
/// as a fraction of the file and in bytes.
fn overhead_of(checkpoint: &SafetensorsCheckpoint, label: &str) -> (f64, u64) {
    let folder = tempfile::tempdir().unwrap();
    let target = folder.path().join("model.entro");
    let summary = compress(checkpoint, &target);
    let file = EntroFile::open(&target).unwrap();
    let layout = file.layout();
    assert_eq!(layout, summary.layout);
    assert_eq!(layout.file_len, std::fs::metadata(&target).unwrap().len());
    let payloads: u64 = file.tensors().iter().map(|t| t.payload_len()).sum();
    assert_eq!(layout.payload_bytes, payloads);
    let fixed = (entro_format::PREAMBLE_LEN + entro_format::FOOTER_LEN) as u64;
    assert_eq!(
        layout.overhead_bytes(),
        fixed + layout.padding_bytes + layout.header_len
    );
    // Order and metadata survive.
    let names: Vec<&str> = file.tensors().iter().map(|t| t.name()).collect();
    let source: Vec<&str> = checkpoint.tensors().iter().map(|t| t.name()).collect();
    assert_eq!(names, source);
    assert_eq!(file.metadata().checkpoint.as_ref(), checkpoint.metadata());
    file.verify_all().unwrap();
    let fraction = layout.overhead_bytes() as f64 / layout.file_len as f64;
    println!(
        "{label}: {} tensors, file {} bytes ({:.3} of the safetensors data), overhead {} bytes = {:.4} % \
         (header {}, padding {}, preamble+footer {fixed})",
        file.tensors().len(),
        layout.file_len,
        layout.file_len as f64 / checkpoint.data_bytes() as f64,
        layout.overhead_bytes(),
        fraction * 100.0,
        layout.header_len,
        layout.padding_bytes,
    );
    (fraction, layout.overhead_bytes())
}

/// The synthetic model covers the same pipeline. Its coded tensors are about
/// ten times smaller than SmolLM2's (fewer, narrower layers whose outliers
/// leave ~2.6 bits per weight), so the fixed per-tensor cost weighs more and
/// the 0.1 % figure is asserted on the real checkpoint only; here the bound
/// is per tensor and per chunk, the shape of the overhead.
#[test]
fn overhead_on_a_synthetic_llama_is_bounded_per_tensor_and_chunk() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("model.safetensors");
    // SmolLM2-135M's widths, fewer layers and a smaller vocabulary.
    let model = SyntheticModel {
        hidden: 576,
        intermediate: 1536,
        layers: 4,
        vocab: 16_384,
        kv_fraction: 3,
        seed: 11,
    };
    write_safetensors(&model, &path).unwrap();
    let checkpoint = SafetensorsCheckpoint::open(&path).unwrap();
    let (fraction, overhead) = overhead_of(&checkpoint, "synthetic");
    let tensors = checkpoint.tensors().len() as u64;
    let names: u64 = checkpoint
        .tensors()
        .iter()
        .map(|t| t.name().len() as u64)
        .sum();
    let chunks: u64 = checkpoint
        .tensors()
        .iter()
        .map(|t| (t.shape().iter().product::<usize>() as u64).div_ceil(DEFAULT_CHUNK_CODES as u64))
        .sum();
    // Preamble, footer and header counts; per tensor: padding (< 64), name, at
    // most ~100 bytes of fields and statistics, 8 per block (one here) and 133
    // of codebook; per chunk: at most 9 bytes.
    let bound = 128 + names + tensors * (64 + 112 + 8 + 133) + chunks * 9;
    assert!(
        overhead <= bound,
        "overhead {overhead} bytes over the bound {bound}"
    );
    assert!(fraction < 2e-3, "overhead {:.4} %", fraction * 100.0);
}

#[test]
fn overhead_on_smollm2_is_below_a_thousandth() {
    let Some(path) = fixture::smollm2() else {
        return;
    };
    let checkpoint = SafetensorsCheckpoint::open(&path).unwrap();
    let (fraction, _) = overhead_of(&checkpoint, "SmolLM2-135M-Instruct");
    assert!(fraction < 1e-3, "overhead {:.4} %", fraction * 100.0);
}
