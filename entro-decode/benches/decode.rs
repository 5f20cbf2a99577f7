//! Decode throughput.
//!
//! - `smollm2_codes_1t`: the real SmolLM2-135M checkpoint (8-bit, one scale per tensor), decoded to
//!   `u8` codes on one thread (with and without checksums, and the bare Huffman decoder), against
//!   zstd -3 and -19 decompressing the same concatenated code bytes; also fused to f16 and f32.
//!   Throughput counts one byte per weight for all of them.
//! - `synthetic_100m`: a synthetic llama-shaped checkpoint of about 100 M weights, decoded on 1 and 2
//!   threads to codes and, fused, to f16, bf16 and f32.
//! - `memcpy`: `copy_from_slice` of a buffer larger than the last-level cache, the physical limit.
//!
//! Elsewhere throughput is in bytes of output (one byte per weight for codes, two for f16 and bf16,
//! four for f32). Every decode writes into buffers allocated once, as `entro bench` does.

mod support;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use entro_decode::{DecodeOptions, DecodedTensor, Decoder, Target, TypedBuffer};
use entro_format::EntroFile;
use entro_huffman::DecodeTable;
use rayon::prelude::*;

/// Large enough to defeat any last-level cache this runs on (480 MiB on the development machine).
const MEMCPY_BYTES: usize = 1 << 30;

fn decoder(threads: usize, verify_checksums: bool) -> Decoder {
    Decoder::new(DecodeOptions {
        threads,
        verify_checksums,
    })
    .expect("a thread pool")
}

/// Buffers for every tensor `target` keeps, decoded once (which also faults their pages in).
fn buffers(decoder: &Decoder, file: &EntroFile, target: Target) -> Vec<DecodedTensor> {
    let mut buffers = decoder
        .decode_model(file, target)
        .expect("the fixture decodes");
    decoder
        .decode_buffers(file, &mut buffers)
        .expect("decodes again");
    buffers
}

fn output_bytes(buffers: &[DecodedTensor]) -> u64 {
    buffers.iter().map(|t| t.data.byte_len() as u64).sum()
}

fn smollm2(c: &mut Criterion) {
    let Some(path) = support::smollm2_entro() else {
        return;
    };
    let file = EntroFile::open(&path).expect("open the fixture");
    let unchecked = decoder(1, false);
    let checked = decoder(1, true);
    let mut codes = buffers(&unchecked, &file, Target::Codes);
    let stream: Vec<u8> = codes
        .iter()
        .flat_map(|t| match &t.data {
            TypedBuffer::Codes(codes) => codes.clone(),
            _ => Vec::new(),
        })
        .collect();
    let zstd3 = support::zstd_compressed(&path, &stream, 3);
    let zstd19 = support::zstd_compressed(&path, &stream, 19);
    let entro_bytes: u64 = file
        .tensors()
        .iter()
        .filter(|e| e.quantized().is_some())
        .map(|e| e.payload_len())
        .sum();
    println!(
        "SmolLM2 codes: {} bytes; entro payload {} ({:.3}), zstd-3 {} ({:.3}), zstd-19 {} ({:.3})",
        stream.len(),
        entro_bytes,
        entro_bytes as f64 / stream.len() as f64,
        zstd3.len(),
        zstd3.len() as f64 / stream.len() as f64,
        zstd19.len(),
        zstd19.len() as f64 / stream.len() as f64,
    );

    let mut group = c.benchmark_group("smollm2_codes_1t");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("entro", |b| {
        b.iter(|| {
            unchecked
                .decode_buffers(&file, &mut codes)
                .expect("decodes")
        });
    });
    group.bench_function("entro_crc", |b| {
        b.iter(|| checked.decode_buffers(&file, &mut codes).expect("decodes"));
    });
    // Fused dequantization; throughput stays in weights (one "byte" per weight) for comparison.
    for target in [Target::F16, Target::F32] {
        let mut floats = buffers(&unchecked, &file, target);
        let name = format!("entro_{target:?}").to_lowercase();
        group.bench_function(name, |b| {
            b.iter(|| {
                unchecked
                    .decode_buffers(&file, &mut floats)
                    .expect("decodes")
            });
        });
    }
    // The Huffman decoder alone, chunk after chunk with prepared tables: what the scheduler adds.
    let tables: Vec<_> = file
        .tensors()
        .iter()
        .filter_map(|entry| Some((entry, DecodeTable::new(entry.quantized()?.codebook()))))
        .collect();
    group.bench_function("tables_only", |b| {
        b.iter(|| {
            file.tensors()
                .iter()
                .filter_map(|entry| Some(DecodeTable::new(entry.quantized()?.codebook())))
                .count()
        });
    });
    let mut out = vec![0u8; stream.len()];
    group.bench_function("huffman_only", |b| {
        b.iter(|| {
            let mut at = 0;
            for (entry, table) in &tables {
                let chunks = entry.quantized().expect("quantized").chunks();
                for (index, info) in chunks.iter().enumerate() {
                    let bytes = file.chunk_bytes(entry, index).expect("chunk");
                    let end = at + info.codes as usize;
                    table
                        .decode_chunk(index, bytes, &mut out[at..end])
                        .expect("decodes");
                    at = end;
                }
            }
        });
    });
    let mut zstd = zstd::bulk::Decompressor::new().expect("a zstd context");
    for (name, compressed) in [("zstd3", &zstd3), ("zstd19", &zstd19)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let n = zstd
                    .decompress_to_buffer(compressed, &mut out)
                    .expect("zstd decodes");
                assert_eq!(n, stream.len());
            });
        });
    }
    group.finish();
}

fn synthetic(c: &mut Criterion) {
    let path = support::synthetic_entro(100_000_000);
    let file = EntroFile::open(&path).expect("open the fixture");
    let mut group = c.benchmark_group("synthetic_100m");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    for target in [Target::Codes, Target::F16, Target::BF16, Target::F32] {
        let name = format!("{target:?}").to_lowercase();
        for threads in [1, 2] {
            let decoder = decoder(threads, true);
            let mut outputs = buffers(&decoder, &file, target);
            group.throughput(Throughput::Bytes(output_bytes(&outputs)));
            group.bench_function(BenchmarkId::new(&name, threads), |b| {
                b.iter(|| {
                    decoder
                        .decode_buffers(&file, &mut outputs)
                        .expect("decodes")
                });
            });
        }
    }
    group.finish();
}

fn memcpy(c: &mut Criterion) {
    let source = vec![0x5au8; MEMCPY_BYTES];
    let mut destination = vec![0u8; MEMCPY_BYTES];
    destination.copy_from_slice(&source);
    let mut group = c.benchmark_group("memcpy");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Bytes(MEMCPY_BYTES as u64));
    group.bench_function("1t", |b| b.iter(|| destination.copy_from_slice(&source)));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool");
    group.bench_function("2t", |b| {
        b.iter(|| {
            pool.install(|| {
                destination
                    .par_chunks_mut(1 << 20)
                    .zip(source.par_chunks(1 << 20))
                    .for_each(|(to, from)| to.copy_from_slice(from));
            });
        });
    });
    group.finish();
}

criterion_group!(benches, smollm2, synthetic, memcpy);
criterion_main!(benches);
