//! Single-thread lossless decode against zstd -3 decompressing the same raw bytes, same run.
//!
//! Each model's float tensors are encoded once in chunks of `DEFAULT_CHUNK_ELEMENTS`; zstd -3
//! compresses the same bytes in frames of the same size (one per chunk), so both decode the same
//! number of independent pieces. Throughput counts raw output bytes. After criterion, a
//! round-robin summary (every round runs each variant once, so changing load on a shared machine
//! hits both alike) prints medians of wall and thread CPU time and their ratio.
//!
//! `cargo bench -p entro-format --bench lossless` (models: see `support/models.rs`; without them
//! it measures synthetic BF16 and F32 weights and says so).

#[path = "support/models.rs"]
mod models;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use entro_format::lossless::{DEFAULT_CHUNK_ELEMENTS, FloatLayout, decode_chunk, encode_chunk};

/// One chunk's worth of raw bytes, encoded both ways.
struct Piece {
    layout: FloatLayout,
    chunk: Vec<u8>,
    frame: Vec<u8>,
    raw_len: usize,
}

/// One data set, encoded both ways.
struct Fixture {
    name: String,
    pieces: Vec<Piece>,
    raw_bytes: usize,
    entro_bytes: usize,
    zstd_bytes: usize,
}

impl Fixture {
    fn new(name: String, tensors: &[(FloatLayout, &[u8])]) -> Self {
        let mut pieces = Vec::new();
        for &(layout, bytes) in tensors {
            for piece in bytes.chunks(DEFAULT_CHUNK_ELEMENTS * layout.element_bytes()) {
                let mut chunk = Vec::new();
                encode_chunk(layout, piece, &mut chunk).expect("encodes");
                let frame = zstd::bulk::compress(piece, 3).expect("zstd compresses");
                pieces.push(Piece {
                    layout,
                    chunk,
                    frame,
                    raw_len: piece.len(),
                });
            }
        }
        let sum = |size: fn(&Piece) -> usize| pieces.iter().map(size).sum::<usize>();
        Self {
            name,
            raw_bytes: sum(|piece| piece.raw_len),
            entro_bytes: sum(|piece| piece.chunk.len()),
            zstd_bytes: sum(|piece| piece.frame.len()),
            pieces,
        }
    }

    fn decode_entro(&self, out: &mut [u8]) {
        let mut at = 0;
        for piece in &self.pieces {
            let out = &mut out[at..at + piece.raw_len];
            decode_chunk(piece.layout, &piece.chunk, out).expect("decodes");
            at += piece.raw_len;
        }
    }

    fn decode_zstd(&self, decompressor: &mut zstd::bulk::Decompressor<'_>, out: &mut [u8]) {
        let mut at = 0;
        for piece in &self.pieces {
            let written = decompressor
                .decompress_to_buffer(&piece.frame, &mut out[at..at + piece.raw_len])
                .expect("zstd decompresses");
            assert_eq!(written, piece.raw_len);
            at += piece.raw_len;
        }
    }
}

fn fixtures() -> Vec<Fixture> {
    let models = models::available();
    let mut fixtures: Vec<Fixture> = models
        .iter()
        .map(|model| {
            let tensors: Vec<(FloatLayout, &[u8])> = model
                .float_tensors()
                .into_iter()
                .map(|(_, layout, bytes)| (layout, bytes))
                .collect();
            Fixture::new(model.name.to_owned(), &tensors)
        })
        .collect();
    if fixtures.is_empty() {
        println!("no real model found: measuring synthetic weights instead");
        let bf16 = synthetic(FloatLayout::BF16, 1 << 23);
        let f32 = synthetic(FloatLayout::F32, 1 << 22);
        fixtures.push(Fixture::new(
            "synthetic BF16".into(),
            &[(FloatLayout::BF16, &bf16)],
        ));
        fixtures.push(Fixture::new(
            "synthetic F32".into(),
            &[(FloatLayout::F32, &f32)],
        ));
    }
    fixtures
}

/// Roughly normal weights (deviation 0.02) from a fixed generator.
fn synthetic(layout: FloatLayout, count: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let mut bytes = Vec::with_capacity(count * layout.element_bytes());
    for _ in 0..count {
        let value = (uniform() + uniform() + uniform() + uniform()) * 0.034;
        match layout {
            FloatLayout::F32 => bytes.extend_from_slice(&value.to_le_bytes()),
            FloatLayout::BF16 => {
                bytes.extend_from_slice(&half::bf16::from_f32(value).to_bits().to_le_bytes());
            }
            FloatLayout::F16 => {
                bytes.extend_from_slice(&half::f16::from_f32(value).to_bits().to_le_bytes());
            }
        }
    }
    bytes
}

/// CPU time of the calling thread, where Linux reports it.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(stat.split_whitespace().next()?.parse::<u64>().ok()? as f64 / 1e9)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn summary(fixtures: &[Fixture], rounds: usize) {
    println!("\nround-robin summary, {rounds} rounds, one thread, medians:");
    for fixture in fixtures {
        let mut out = vec![0u8; fixture.raw_bytes];
        let mut decompressor = zstd::bulk::Decompressor::new().expect("a zstd context");
        // [entro wall, entro cpu, zstd wall, zstd cpu]
        let mut times: [Vec<f64>; 4] = Default::default();
        for _ in 0..rounds {
            for variant in 0..2 {
                let (wall, cpu) = (Instant::now(), thread_cpu_seconds());
                if variant == 0 {
                    fixture.decode_entro(&mut out);
                } else {
                    fixture.decode_zstd(&mut decompressor, &mut out);
                }
                times[2 * variant].push(wall.elapsed().as_secs_f64());
                if let (Some(start), Some(end)) = (cpu, thread_cpu_seconds()) {
                    times[2 * variant + 1].push(end - start);
                }
            }
        }
        let [entro_wall, entro_cpu, zstd_wall, zstd_cpu] = times.map(|mut t| median(&mut t));
        let rate = |seconds: f64| fixture.raw_bytes as f64 / seconds / 1e6;
        println!(
            "  {}: raw {} B, entro {} B ({:.3} of raw), zstd -3 {} B ({:.3})",
            fixture.name,
            fixture.raw_bytes,
            fixture.entro_bytes,
            fixture.entro_bytes as f64 / fixture.raw_bytes as f64,
            fixture.zstd_bytes,
            fixture.zstd_bytes as f64 / fixture.raw_bytes as f64,
        );
        println!(
            "    wall: entro {:.0} MB/s, zstd -3 {:.0} MB/s, ratio {:.2}; thread cpu: entro {:.0} \
             MB/s, zstd -3 {:.0} MB/s, ratio {:.2}",
            rate(entro_wall),
            rate(zstd_wall),
            zstd_wall / entro_wall,
            rate(entro_cpu),
            rate(zstd_cpu),
            zstd_cpu / entro_cpu,
        );
    }
}

fn main() {
    let fixtures = fixtures();
    let mut criterion = Criterion::default().sample_size(10).configure_from_args();
    for fixture in &fixtures {
        let mut group = criterion.benchmark_group(format!("lossless decode {}", fixture.name));
        group.throughput(Throughput::Bytes(fixture.raw_bytes as u64));
        let mut out = vec![0u8; fixture.raw_bytes];
        group.bench_function("entro, 1 thread", |b| {
            b.iter(|| fixture.decode_entro(black_box(&mut out)));
        });
        let mut decompressor = zstd::bulk::Decompressor::new().expect("a zstd context");
        group.bench_function("zstd -3, 1 thread", |b| {
            b.iter(|| fixture.decode_zstd(&mut decompressor, black_box(&mut out)));
        });
        group.finish();
    }
    criterion.final_summary();
    let rounds = std::env::var("ENTRO_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(9);
    summary(&fixtures, rounds);
}
