//! Single-threaded decode throughput on the per-tensor code stream of a real checkpoint, side by side
//! with zstd (levels 3 and 19) decompressing the same bytes.
//!
//! `cargo bench -p entro-huffman --bench decode`
//!
//! Throughput is counted in codes (one byte per weight) for every contender, also for the fused
//! `f32` mapping, which writes four bytes per weight. The entro-huffman timings include reading every
//! tensor's codebook and building its decode table. Every contender is timed twice: by wall clock
//! (`decode_8bit`, ...) and by the thread's CPU time (`cpu-decode_8bit`, ...), which leaves out the
//! time the thread spends descheduled on a machine shared with other work. After criterion's output
//! a summary prints the medians, the ratios against the faster zstd level, and the sizes.

#[path = "../tests/support/checkpoint.rs"]
mod checkpoint;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use checkpoint::{INDEX_BYTES_PER_CHUNK, QuantizedTensor, Source, load};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput};
use entro_huffman::{
    ChunkInfo, Codebook, DEFAULT_CHUNK_CODES, DEFAULT_MAX_CODE_LENGTH, DecodeTable, DecodeTable16,
    encode,
};

/// One tensor as a container would hold it.
struct EncodedTensor {
    codebook: Vec<u8>,
    chunks: Vec<ChunkInfo>,
    data: Vec<u8>,
}

struct Fixture {
    bits: u8,
    source: Source,
    raw: Vec<u8>,
    tensors: Vec<EncodedTensor>,
    zstd: Vec<(i32, Vec<u8>)>,
}

impl Fixture {
    fn new(bits: u8) -> Self {
        let (quantized, source) = load(bits);
        let raw: Vec<u8> = quantized
            .iter()
            .flat_map(|t| t.codes.iter().copied())
            .collect();
        let tensors = quantized
            .iter()
            .map(|tensor| encode_tensor(tensor, bits))
            .collect();
        let tag = match source {
            Source::Checkpoint(_) => "checkpoint",
            Source::Synthetic(_) => "synthetic",
        };
        let zstd =
            [3, 19].map(|level| (level, zstd_frame(&raw, level, &format!("{tag}-{bits}bit"))));
        Self {
            bits,
            source,
            raw,
            tensors,
            zstd: zstd.into(),
        }
    }

    fn huffman_bytes(&self) -> usize {
        self.tensors
            .iter()
            .map(|t| {
                t.codebook.len()
                    + t.data.len()
                    + t.chunks.len() * usize::try_from(INDEX_BYTES_PER_CHUNK).unwrap()
            })
            .sum()
    }
}

fn encode_tensor(tensor: &QuantizedTensor, bits: u8) -> EncodedTensor {
    let codebook = Codebook::build_best(&tensor.codes, bits, DEFAULT_MAX_CODE_LENGTH).unwrap();
    let mut data = Vec::new();
    let chunks = encode(&tensor.codes, &codebook, DEFAULT_CHUNK_CODES, &mut data).unwrap();
    let mut book = Vec::new();
    codebook.to_bytes(&mut book);
    EncodedTensor {
        codebook: book,
        chunks,
        data,
    }
}

/// Compresses `raw` at `level`, cached in the fixture directory (level 19 takes a minute).
fn zstd_frame(raw: &[u8], level: i32, tag: &str) -> Vec<u8> {
    let dir = checkpoint::fixture_dir();
    let path = dir.join(format!("codes-{tag}.zst{level}"));
    if let Ok(frame) = std::fs::read(&path)
        && zstd::bulk::decompress(&frame, raw.len()).is_ok_and(|back| back == raw)
    {
        return frame;
    }
    eprintln!(
        "compressing {} MB with zstd -{level} (cached in {})",
        raw.len() >> 20,
        path.display()
    );
    let frame = zstd::bulk::compress(raw, level).unwrap();
    let _ = std::fs::create_dir_all(&dir);
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    if std::fs::write(&tmp, &frame).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
    frame
}

fn decode_all(tensors: &[EncodedTensor], out: &mut [u8]) {
    let mut at = 0;
    for tensor in tensors {
        let (codebook, _) = Codebook::from_bytes(&tensor.codebook).unwrap();
        let table = DecodeTable::new(&codebook);
        for (index, info) in tensor.chunks.iter().enumerate() {
            let start = usize::try_from(info.offset).unwrap();
            let bytes = &tensor.data[start..start + info.len as usize];
            let end = at + info.codes as usize;
            table.decode_chunk(index, bytes, &mut out[at..end]).unwrap();
            at = end;
        }
    }
}

fn decode_all_f32(tensors: &[EncodedTensor], out: &mut [f32]) {
    let mut at = 0;
    for tensor in tensors {
        let (codebook, _) = Codebook::from_bytes(&tensor.codebook).unwrap();
        let table = DecodeTable::new(&codebook);
        // A dequantization table as a per-tensor scale and zero point would give.
        let lut: [f32; 256] = std::array::from_fn(|code| (code as f32 - 7.0) * 0.0125);
        for (index, info) in tensor.chunks.iter().enumerate() {
            let start = usize::try_from(info.offset).unwrap();
            let bytes = &tensor.data[start..start + info.len as usize];
            let end = at + info.codes as usize;
            table
                .decode_chunk_mapped(index, bytes, &lut, &mut out[at..end])
                .unwrap();
            at = end;
        }
    }
}

/// Stand-ins for the `f16` bit patterns of dequantized weights (speed does not depend on them).
fn f16_values() -> [u16; 256] {
    std::array::from_fn(|code| 0x3c00 ^ u16::try_from(code).unwrap().wrapping_mul(0x9e37))
}

/// Decodes to 16-bit values, through the code table and a mapping pass (`direct == false`) or
/// through a [`DecodeTable16`] whose entries hold the values.
fn decode_all_f16(tensors: &[EncodedTensor], out: &mut [u16], direct: bool) {
    let values = f16_values();
    let mut at = 0;
    for tensor in tensors {
        let (codebook, _) = Codebook::from_bytes(&tensor.codebook).unwrap();
        let (table, wide) = if direct {
            (None, Some(DecodeTable16::new(&codebook, &values)))
        } else {
            (Some(DecodeTable::new(&codebook)), None)
        };
        for (index, info) in tensor.chunks.iter().enumerate() {
            let start = usize::try_from(info.offset).unwrap();
            let bytes = &tensor.data[start..start + info.len as usize];
            let end = at + info.codes as usize;
            let out = &mut out[at..end];
            match (&table, &wide) {
                (_, Some(wide)) => wide.decode_chunk(index, bytes, out).unwrap(),
                (Some(table), None) => table
                    .decode_chunk_mapped(index, bytes, &values, out)
                    .unwrap(),
                (None, None) => unreachable!("one table is built"),
            }
            at = end;
        }
    }
}

fn bench_stream<M: Measurement>(c: &mut Criterion<M>, prefix: &str, fixture: &Fixture) {
    let total = fixture.raw.len();
    let mut out = vec![0u8; total];
    decode_all(&fixture.tensors, &mut out);
    assert!(
        out == fixture.raw,
        "entro-huffman must decode the stream back"
    );
    let mut out_f32 = vec![0f32; total];
    let mut out_f16 = vec![0u16; total];
    let mut check_f16 = vec![0u16; total];
    decode_all_f16(&fixture.tensors, &mut out_f16, false);
    decode_all_f16(&fixture.tensors, &mut check_f16, true);
    assert!(out_f16 == check_f16, "both f16 paths must agree");

    let mut group = c.benchmark_group(format!("{prefix}decode_{}bit", fixture.bits));
    group.throughput(Throughput::Bytes(total as u64));
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("entro-huffman", |b| {
        b.iter(|| decode_all(black_box(&fixture.tensors), &mut out))
    });
    group.bench_function("entro-huffman-f32", |b| {
        b.iter(|| decode_all_f32(black_box(&fixture.tensors), &mut out_f32))
    });
    group.bench_function("entro-huffman-f16-mapping-pass", |b| {
        b.iter(|| decode_all_f16(black_box(&fixture.tensors), &mut out_f16, false))
    });
    group.bench_function("entro-huffman-f16-direct", |b| {
        b.iter(|| decode_all_f16(black_box(&fixture.tensors), &mut out_f16, true))
    });
    let mut decompressor = zstd::bulk::Decompressor::new().unwrap();
    for (level, frame) in &fixture.zstd {
        group.bench_with_input(BenchmarkId::new("zstd", level), frame, |b, frame| {
            b.iter(|| {
                decompressor
                    .decompress_to_buffer(black_box(frame), &mut out)
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// Median time in nanoseconds from criterion's `estimates.json`.
fn median_ns(group: &str, bench: &str) -> Option<f64> {
    let path = checkpoint::target_dir()
        .join("criterion")
        .join(group)
        .join(bench)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(Path::new(&path)).ok()?;
    let rest = &text[text.find("\"median\"")?..];
    let rest = &rest[rest.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

fn summary(prefix: &str, fixture: &Fixture) {
    let group = format!("{prefix}decode_{}bit", fixture.bits);
    let mb = fixture.raw.len() as f64 / 1e6;
    println!(
        "\n== {group}: {} codes, {}",
        fixture.raw.len(),
        fixture.source
    );
    let rows = [
        (
            "entro-huffman",
            "entro-huffman".to_string(),
            fixture.huffman_bytes(),
        ),
        (
            "entro-huffman-f32",
            "entro-huffman-f32".to_string(),
            fixture.huffman_bytes(),
        ),
        ("zstd/3", "zstd/3".to_string(), fixture.zstd[0].1.len()),
        ("zstd/19", "zstd/19".to_string(), fixture.zstd[1].1.len()),
    ];
    let medians: Vec<Option<f64>> = rows
        .iter()
        .map(|(_, dir, _)| median_ns(&group, dir))
        .collect();
    let fastest_zstd = medians[2..]
        .iter()
        .flatten()
        .copied()
        .fold(f64::INFINITY, f64::min);
    for ((name, _, size), median) in rows.iter().zip(&medians) {
        let Some(ns) = median else {
            println!("   {name:<18} (not measured in this run)");
            continue;
        };
        println!(
            "   {name:<18} median {:>8.2} ms = {:>7.0} MB/s of codes ({:.2} x the faster zstd); \
             size {size} B = {:.3} bits/weight",
            ns / 1e6,
            mb / (ns / 1e9),
            fastest_zstd / ns,
            *size as f64 * 8.0 / fixture.raw.len() as f64,
        );
    }
}

/// CPU time of the calling thread.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec, which is valid and outlives the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Criterion measurement by the thread's CPU time.
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
        WallTime.formatter()
    }
}

fn main() {
    let fixtures: Vec<Fixture> = [8u8, 4].into_iter().map(Fixture::new).collect();
    let mut wall = Criterion::default().configure_from_args();
    let mut cpu = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .configure_from_args();
    for fixture in &fixtures {
        bench_stream(&mut wall, "", fixture);
        bench_stream(&mut cpu, "cpu-", fixture);
    }
    wall.final_summary();
    for prefix in ["", "cpu-"] {
        for fixture in &fixtures {
            summary(prefix, fixture);
        }
    }
}
