//! The check behind the `decode_parallel_independent` fuzz target: one tensor, written twice with
//! different chunk sizes, decodes to the same bits on one thread and on several, for codes and for
//! every float output, and those bits are `entro_quant::dequantize`'s.
//!
//! Input layout: `[bits, granularity, group, chunk_a, chunk_b, threads, rows, weights...]`, one
//! signed byte per weight (divided by 16, so every weight is finite).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use entro_decode::{DecodeOptions, Decoder, Target, TypedBuffer};
use entro_format::{Dtype, EntroFile, EntroWriter, FileMetadata, encode_quantized};
use entro_quant::{FloatSlice, FloatSliceMut, Granularity, QuantConfig, dequantize, quantize};
use half::{bf16, f16};

/// Bytes before the weights.
const HEADER: usize = 7;

/// Most weights one input may give (larger inputs are cut).
const MAX_WEIGHTS: usize = 1 << 14;

/// What an input led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Shorter than the header, or no whole row of weights.
    TooShort,
    /// Decoded and checked.
    Checked,
}

fn decoders() -> &'static [Decoder] {
    static DECODERS: OnceLock<Vec<Decoder>> = OnceLock::new();
    DECODERS.get_or_init(|| {
        (1..=4)
            .map(|threads| {
                Decoder::new(DecodeOptions {
                    threads,
                    verify_checksums: true,
                })
                .expect("a thread pool")
            })
            .collect()
    })
}

/// Writes one quantized tensor with `chunk_codes` codes per chunk and reads it back from memory.
fn write(
    codes: &[u8],
    report: &entro_quant::QuantReport,
    shape: &[usize],
    chunk: usize,
) -> EntroFile {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let encoded = encode_quantized(
        "t",
        codes,
        shape,
        report.params.clone(),
        report.stats,
        chunk,
    )
    .expect("codes from the quantizer can be coded");
    let path = std::env::temp_dir().join(format!(
        "entro-decode-fuzz-{}-{}.entro",
        std::process::id(),
        SERIAL.fetch_add(1, Ordering::Relaxed)
    ));
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).expect("create");
    writer
        .add_quantized("t", shape, Dtype::F32, &encoded)
        .expect("add");
    writer.finish().expect("finish");
    let bytes = std::fs::read(&path).expect("read back");
    std::fs::remove_file(&path).expect("remove the temporary file");
    EntroFile::from_bytes(bytes).expect("a valid file")
}

/// Runs the check on one input; panics if any decode differs.
pub(crate) fn decode_parallel_independent(data: &[u8]) -> Outcome {
    let Some((header, body)) = data.split_first_chunk::<HEADER>() else {
        return Outcome::TooShort;
    };
    let [bits, granularity, group, chunk_a, chunk_b, threads, rows] = *header;
    let bits = 2 + bits % 7;
    let granularity = match granularity % 3 {
        0 => Granularity::Tensor,
        1 => Granularity::Channel,
        _ => Granularity::Group(1 + u32::from(group % 32)),
    };
    // Nibble pairs (4 bits and below) need even chunks; wider codes may use any size.
    let chunk_size = |byte: u8| {
        let size = 1 + usize::from(byte);
        if bits <= 4 { 2 * size } else { size }
    };
    let (chunk_a, chunk_b) = (chunk_size(chunk_a), chunk_size(chunk_b));
    let threads = 2 + usize::from(threads % 3);
    let rows = 1 + usize::from(rows % 8);
    let len = body.len().min(MAX_WEIGHTS) / rows * rows;
    if len == 0 {
        return Outcome::TooShort;
    }
    let weights: Vec<f32> = body[..len]
        .iter()
        .map(|&b| f32::from(b.cast_signed()) / 16.0)
        .collect();
    let shape = [rows, len / rows];
    let config = QuantConfig {
        bits,
        granularity,
        ..QuantConfig::default()
    };
    let mut codes = vec![0u8; len];
    let report = quantize("t", FloatSlice::F32(&weights), &shape, &config, &mut codes)
        .expect("finite weights always quantize");
    let files = [
        write(&codes, &report, &shape, chunk_a),
        write(&codes, &report, &shape, chunk_b),
    ];

    let mut f32s = vec![0f32; len];
    let mut f16s = vec![f16::ZERO; len];
    let mut bf16s = vec![bf16::ZERO; len];
    let params = &report.params;
    dequantize(&codes, params, &shape, FloatSliceMut::F32(&mut f32s)).expect("dequantize");
    dequantize(&codes, params, &shape, FloatSliceMut::F16(&mut f16s)).expect("dequantize");
    dequantize(&codes, params, &shape, FloatSliceMut::BF16(&mut bf16s)).expect("dequantize");
    let expected = [
        (Target::Codes, TypedBuffer::Codes(codes)),
        (Target::F32, TypedBuffer::F32(f32s)),
        (Target::F16, TypedBuffer::F16(f16s)),
        (Target::BF16, TypedBuffer::BF16(bf16s)),
    ];
    let single = &decoders()[0];
    let parallel = &decoders()[threads - 1];
    for (target, want) in expected {
        let runs = [
            single.decode_model(&files[0], target),
            parallel.decode_model(&files[0], target),
            parallel.decode_model(&files[1], target),
            single.decode_model(&files[1], target),
        ];
        for (run, result) in runs.into_iter().enumerate() {
            let decoded = result.expect("a file just written decodes");
            let [tensor] = decoded.as_slice() else {
                panic!("one tensor expected")
            };
            assert!(
                tensor.data.to_le_bytes() == want.to_le_bytes(),
                "{target:?} run {run}: {threads} threads, chunks {chunk_a}/{chunk_b}"
            );
        }
    }
    Outcome::Checked
}
