//! Quantization throughput against a memcpy of the same bytes, in one run.
//!
//! `cargo bench -p entro-quant --bench quantize`
//!
//! Every benchmark runs twice: with criterion's wall-clock timer (groups
//! `memcpy`, `quantize`, `dequantize`) and with the thread's CPU time (the same
//! names with a `cpu-` prefix). On a machine shared with other work the thread
//! is often descheduled; CPU time leaves that out, so it is the better "per
//! core" figure there, and the two agree on a quiet machine.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
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

/// CPU time of the calling thread.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only to `now`, a valid timespec that outlives the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Criterion measurement by thread CPU time (see the module docs).
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }

    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanoseconds
    }
}

/// Formats nanosecond values like criterion's wall-clock formatter.
struct Nanoseconds;

impl ValueFormatter for Nanoseconds {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical {
            t if t < 1e3 => (1.0, "ns"),
            t if t < 1e6 => (1e-3, "µs"),
            t if t < 1e9 => (1e-6, "ms"),
            _ => (1e-9, "s"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iteration = match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Elements(n) => n,
            Throughput::Bits(n) => n / 8,
            _ => 1,
        } as f64;
        let (divisor, unit) = match per_iteration * 1e9 / typical {
            r if r < 1024.0 * 1024.0 => (1024.0, "KiB/s"),
            r if r < 1024.0 * 1024.0 * 1024.0 => (1024.0 * 1024.0, "MiB/s"),
            _ => (1024.0 * 1024.0 * 1024.0, "GiB/s"),
        };
        values
            .iter_mut()
            .for_each(|v| *v = per_iteration * 1e9 / *v / divisor);
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn register<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let values = weights();
    let bytes = (values.len() * 4) as u64;
    let shape = [ROWS, COLS];
    let mut codes = vec![0u8; values.len()];

    let mut group = c.benchmark_group(format!("{prefix}memcpy"));
    group.throughput(Throughput::Bytes(bytes));
    let mut copy = vec![0.0f32; values.len()];
    group.bench_function("f32", |b| {
        b.iter(|| copy.copy_from_slice(black_box(&values)));
    });
    group.finish();
    black_box(&copy);

    let mut group = c.benchmark_group(format!("{prefix}quantize"));
    group.throughput(Throughput::Bytes(bytes));
    let configs = [
        ("tensor-8", 8, Granularity::Tensor, false),
        ("tensor-4", 4, Granularity::Tensor, false),
        ("channel-8", 8, Granularity::Channel, false),
        ("group128-4", 4, Granularity::Group(128), false),
        ("group32-4", 4, Granularity::Group(32), false),
        ("tensor-8-clip", 8, Granularity::Tensor, true),
    ];
    for (label, bits, granularity, clip) in configs {
        let config = QuantConfig {
            bits,
            granularity,
            clip,
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
    // Half-precision inputs: same weights, half the bytes; throughput is still
    // counted in f32-equivalent bytes so the numbers compare per weight.
    let config = QuantConfig::default();
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

    let mut group = c.benchmark_group(format!("{prefix}dequantize"));
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

fn wall_clock(c: &mut Criterion<WallTime>) {
    register(c, "");
}

fn cpu_time(c: &mut Criterion<ThreadCpuTime>) {
    register(c, "cpu-");
}

criterion_group! {
    name = wall_clock_benches;
    config = Criterion::default().sample_size(30);
    targets = wall_clock
}
criterion_group! {
    name = cpu_time_benches;
    config = Criterion::default().with_measurement(ThreadCpuTime).sample_size(30);
    targets = cpu_time
}
criterion_main!(wall_clock_benches, cpu_time_benches);
