//! Quantization throughput against a memcpy of the same bytes, in one run.
//!
//! `cargo bench -p entro-quant --bench quantize`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use entro_quant::{FloatSlice, FloatSliceMut, Granularity, QuantConfig, dequantize, quantize};
use half::{bf16, f16};

/// 2048 x 2048 weights: 16 MiB of f32, more than the caches hold.
const ROWS: usize = 2048;
const COLS: usize = 2048;

/// Bell-shaped weights with a few outliers, from a fixed xorshift stream.
fn weights() -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..ROWS * COLS)
        .map(|i| {
            let bell = (0..4).map(|_| uniform()).sum::<f32>() - 2.0;
            if i % 10_007 == 0 {
                bell * 0.5
            } else {
                bell * 0.02
            }
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let values = weights();
    let bytes = (values.len() * 4) as u64;
    let shape = [ROWS, COLS];
    let mut codes = vec![0u8; values.len()];

    let mut group = c.benchmark_group("memcpy");
    group.throughput(Throughput::Bytes(bytes));
    let mut copy = vec![0.0f32; values.len()];
    group.bench_function("f32", |b| {
        b.iter(|| copy.copy_from_slice(black_box(&values)));
    });
    group.finish();

    let mut group = c.benchmark_group("quantize");
    group.throughput(Throughput::Bytes(bytes));
    let configs = [
        ("tensor-8", 8, Granularity::Tensor),
        ("tensor-4", 4, Granularity::Tensor),
        ("channel-8", 8, Granularity::Channel),
        ("group128-4", 4, Granularity::Group(128)),
        ("group32-4", 4, Granularity::Group(32)),
    ];
    for (label, bits, granularity) in configs {
        let config = QuantConfig {
            bits,
            granularity,
            ..QuantConfig::default()
        };
        group.bench_function(BenchmarkId::new("f32", label), |b| {
            b.iter(|| {
                quantize(
                    "w",
                    FloatSlice::F32(black_box(&values)),
                    &shape,
                    &config,
                    &mut codes,
                )
                .unwrap()
            });
        });
    }
    let config = QuantConfig::default();
    let clip = QuantConfig {
        clip: true,
        ..config
    };
    group.bench_function(BenchmarkId::new("f32", "tensor-8-clip"), |b| {
        b.iter(|| {
            quantize(
                "w",
                FloatSlice::F32(black_box(&values)),
                &shape,
                &clip,
                &mut codes,
            )
            .unwrap()
        });
    });
    // Half-precision inputs: same weights, half the bytes; throughput is still
    // counted in f32-equivalent bytes so the numbers compare per weight.
    let halves: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
    let brains: Vec<bf16> = values.iter().map(|&v| bf16::from_f32(v)).collect();
    group.bench_function(BenchmarkId::new("f16", "tensor-8"), |b| {
        b.iter(|| {
            quantize(
                "w",
                FloatSlice::F16(black_box(&halves)),
                &shape,
                &config,
                &mut codes,
            )
            .unwrap()
        });
    });
    group.bench_function(BenchmarkId::new("bf16", "tensor-8"), |b| {
        b.iter(|| {
            quantize(
                "w",
                FloatSlice::BF16(black_box(&brains)),
                &shape,
                &config,
                &mut codes,
            )
            .unwrap()
        });
    });
    group.finish();

    let mut group = c.benchmark_group("dequantize");
    group.throughput(Throughput::Bytes(bytes));
    let report = quantize("w", FloatSlice::F32(&values), &shape, &config, &mut codes).unwrap();
    let mut restored = vec![0.0f32; values.len()];
    group.bench_function("f32", |b| {
        b.iter(|| {
            dequantize(
                black_box(&codes),
                &report.params,
                &shape,
                FloatSliceMut::F32(&mut restored),
            )
            .unwrap()
        });
    });
    group.finish();
}

criterion_group! {
    name = quantize_benches;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(quantize_benches);
