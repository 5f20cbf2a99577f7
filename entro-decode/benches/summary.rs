//! The decode figures of the issue as medians and ratios, measured round-robin.
//!
//! Every round runs each variant once, so a change in machine load (the development machine is
//! shared) hits all variants alike instead of whichever criterion happened to be measuring. Prints
//! the median wall time per variant, the median CPU time of the process where Linux reports it
//! (`/proc/self/task/*/schedstat`), and the ratios the issue asks for. Same fixtures as `decode`.
//!
//! `cargo bench -p entro-decode --bench summary -- [ROUNDS]` (default 15).

mod support;

use std::time::Instant;

use entro_decode::{DecodeOptions, DecodedTensor, Decoder, Target, TypedBuffer};
use entro_format::EntroFile;
use entro_huffman::DecodeTable;
use rayon::prelude::*;

/// Larger than the development machine's 480 MiB last-level cache.
const MEMCPY_BYTES: usize = 1 << 30;

/// One measured operation.
struct Variant<'a> {
    name: String,
    /// Weights (or bytes for memcpy) per run.
    units: u64,
    run: Box<dyn FnMut() + 'a>,
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

/// CPU time of the whole process in seconds (all threads), if the kernel reports it.
fn cpu_seconds() -> Option<f64> {
    let mut total: u64 = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total as f64 / 1e9)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn decoder(threads: usize, verify_checksums: bool) -> Decoder {
    Decoder::new(DecodeOptions {
        threads,
        verify_checksums,
    })
    .expect("a thread pool")
}

fn decode_variant<'a>(
    name: &str,
    file: &'a EntroFile,
    decoder: &'a Decoder,
    target: Target,
) -> Variant<'a> {
    let threads = decoder.threads();
    let mut buffers: Vec<DecodedTensor> = decoder.decode_model(file, target).expect("decodes");
    let units = buffers
        .iter()
        .filter(|t| file.tensors()[t.index].quantized().is_some())
        .map(|t| file.tensors()[t.index].elements())
        .sum();
    Variant {
        name: format!("{name} {target:?} {threads}t"),
        units,
        run: Box::new(move || decoder.decode_buffers(file, &mut buffers).expect("decodes")),
        wall: Vec::new(),
        cpu: Vec::new(),
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(15);
    let smollm2 =
        support::smollm2_entro().map(|path| (EntroFile::open(&path).expect("open"), path));
    let synthetic = EntroFile::open(support::synthetic_entro(100_000_000)).expect("open");
    // One pool per thread count, as an application has. With a pool per variant, 2 threads
    // measured 1.5 x one on codes instead of 1.9 x: the idle workers of the other pools took
    // turns on the cores.
    let checked = [decoder(1, true), decoder(2, true)];
    let mut zstd_inputs = None;
    if let Some((file, path)) = &smollm2 {
        let codes = decoder(1, false)
            .decode_model(file, Target::Codes)
            .expect("decodes");
        let stream: Vec<u8> = codes
            .iter()
            .flat_map(|t| match &t.data {
                TypedBuffer::Codes(codes) => codes.clone(),
                _ => Vec::new(),
            })
            .collect();
        let zstd3 = support::zstd_compressed(path, &stream, 3);
        let zstd19 = support::zstd_compressed(path, &stream, 19);
        zstd_inputs = Some((stream.len(), zstd3, zstd19));
    }
    let source = vec![0x5au8; MEMCPY_BYTES];
    let mut variants: Vec<Variant<'_>> = Vec::new();
    if let (Some((file, _)), Some((len, zstd3, zstd19))) = (&smollm2, &zstd_inputs) {
        let unchecked = decoder(1, false);
        let mut buffers = unchecked
            .decode_model(file, Target::Codes)
            .expect("decodes");
        variants.push(Variant {
            name: "smollm2 Codes 1t no-crc".into(),
            units: *len as u64,
            run: Box::new(move || {
                unchecked
                    .decode_buffers(file, &mut buffers)
                    .expect("decodes")
            }),
            wall: Vec::new(),
            cpu: Vec::new(),
        });
        variants.push(decode_variant("smollm2", file, &checked[0], Target::Codes));
        variants.push(decode_variant("smollm2", file, &checked[0], Target::F16));
        variants.push(decode_variant("smollm2", file, &checked[1], Target::Codes));
        let tables: Vec<_> = file
            .tensors()
            .iter()
            .filter_map(|entry| Some((entry, DecodeTable::new(entry.quantized()?.codebook()))))
            .collect();
        let mut out = vec![0u8; *len];
        variants.push(Variant {
            name: "smollm2 huffman-only 1t".into(),
            units: *len as u64,
            run: Box::new(move || {
                let mut at = 0;
                for (entry, table) in &tables {
                    for (index, info) in entry
                        .quantized()
                        .expect("quantized")
                        .chunks()
                        .iter()
                        .enumerate()
                    {
                        let end = at + info.codes as usize;
                        let bytes = file.chunk_bytes(entry, index).expect("chunk");
                        table
                            .decode_chunk(index, bytes, &mut out[at..end])
                            .expect("decodes");
                        at = end;
                    }
                }
            }),
            wall: Vec::new(),
            cpu: Vec::new(),
        });
        for (level, compressed) in [(3, zstd3), (19, zstd19)] {
            let mut out = vec![0u8; *len];
            let mut context = zstd::bulk::Decompressor::new().expect("zstd");
            variants.push(Variant {
                name: format!("smollm2 zstd-{level} 1t"),
                units: *len as u64,
                run: Box::new(move || {
                    context
                        .decompress_to_buffer(compressed, &mut out)
                        .expect("zstd decodes");
                }),
                wall: Vec::new(),
                cpu: Vec::new(),
            });
        }
    }
    for target in [Target::Codes, Target::F16, Target::BF16, Target::F32] {
        for decoder in &checked {
            variants.push(decode_variant("synthetic", &synthetic, decoder, target));
        }
    }
    for threads in [1, 2] {
        let mut destination = vec![0u8; MEMCPY_BYTES];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let source = &source;
        variants.push(Variant {
            name: format!("memcpy 1GiB {threads}t"),
            units: MEMCPY_BYTES as u64,
            run: Box::new(move || {
                pool.install(|| {
                    destination
                        .par_chunks_mut(MEMCPY_BYTES / threads)
                        .zip(source.par_chunks(MEMCPY_BYTES / threads))
                        .for_each(|(to, from)| to.copy_from_slice(from));
                });
            }),
            wall: Vec::new(),
            cpu: Vec::new(),
        });
    }

    for variant in &mut variants {
        (variant.run)(); // warm up: page faults, caches, lazily built state
    }
    for _ in 0..rounds {
        for variant in &mut variants {
            let (cpu_start, start) = (cpu_seconds(), Instant::now());
            (variant.run)();
            variant.wall.push(start.elapsed().as_secs_f64());
            if let (Some(before), Some(after)) = (cpu_start, cpu_seconds()) {
                variant.cpu.push(after - before);
            }
        }
    }

    println!("{rounds} rounds; medians (units: weights, bytes for memcpy)");
    println!(
        "{:<32} {:>10} {:>10} {:>12}",
        "variant", "wall ms", "cpu ms", "M units/s"
    );
    let mut wall = std::collections::HashMap::new();
    for variant in &variants {
        let (w, c) = (median(&variant.wall), median(&variant.cpu));
        println!(
            "{:<32} {:>10.1} {:>10.1} {:>12.0}",
            variant.name,
            w * 1e3,
            c * 1e3,
            variant.units as f64 / w / 1e6
        );
        wall.insert(variant.name.clone(), (w, c, variant.units as f64));
    }
    let rate = |name: &str| wall.get(name).map(|(w, _, units)| units / w);
    let cpu_rate = |name: &str| wall.get(name).map(|(_, c, units)| units / c);
    let ratio = |label: &str, a: Option<f64>, b: Option<f64>| {
        if let (Some(a), Some(b)) = (a, b) {
            println!("{label:<58} {:.3}", a / b);
        }
    };
    println!("ratios (wall medians; cpu-time medians in brackets where given)");
    let best_zstd = |f: &dyn Fn(&str) -> Option<f64>| {
        Some(f("smollm2 zstd-3 1t")?.max(f("smollm2 zstd-19 1t")?))
    };
    ratio(
        "smollm2 codes 1t (crc on) / faster zstd",
        rate("smollm2 Codes 1t"),
        best_zstd(&rate),
    );
    ratio(
        "  [cpu]",
        cpu_rate("smollm2 Codes 1t"),
        best_zstd(&cpu_rate),
    );
    ratio(
        "smollm2 codes 1t (crc off) / faster zstd",
        rate("smollm2 Codes 1t no-crc"),
        best_zstd(&rate),
    );
    ratio(
        "smollm2 f16 / codes, weights/s, 1t",
        rate("smollm2 F16 1t"),
        rate("smollm2 Codes 1t"),
    );
    ratio(
        "  [cpu]",
        cpu_rate("smollm2 F16 1t"),
        cpu_rate("smollm2 Codes 1t"),
    );
    ratio(
        "smollm2 codes 2t / 1t",
        rate("smollm2 Codes 2t"),
        rate("smollm2 Codes 1t"),
    );
    ratio(
        "synthetic codes 2t / 1t",
        rate("synthetic Codes 2t"),
        rate("synthetic Codes 1t"),
    );
    ratio(
        "synthetic f16 2t / 1t",
        rate("synthetic F16 2t"),
        rate("synthetic F16 1t"),
    );
    ratio(
        "synthetic f16 / codes, weights/s, 1t",
        rate("synthetic F16 1t"),
        rate("synthetic Codes 1t"),
    );
    ratio(
        "  [cpu]",
        cpu_rate("synthetic F16 1t"),
        cpu_rate("synthetic Codes 1t"),
    );
    ratio(
        "synthetic f16 / codes, weights/s, 2t",
        rate("synthetic F16 2t"),
        rate("synthetic Codes 2t"),
    );
    let bytes_per_s = |name: &str, per_unit: f64| rate(name).map(|r| r * per_unit);
    ratio(
        "smollm2 codes 1t output bytes/s / memcpy 1t",
        bytes_per_s("smollm2 Codes 1t", 1.0),
        rate("memcpy 1GiB 1t"),
    );
    ratio(
        "synthetic codes 2t output bytes/s / memcpy 2t",
        bytes_per_s("synthetic Codes 2t", 1.0),
        rate("memcpy 1GiB 2t"),
    );
    ratio(
        "synthetic f16 2t output bytes/s / memcpy 2t",
        bytes_per_s("synthetic F16 2t", 2.0),
        rate("memcpy 1GiB 2t"),
    );
    ratio(
        "synthetic f32 2t output bytes/s / memcpy 2t",
        bytes_per_s("synthetic F32 2t", 4.0),
        rate("memcpy 1GiB 2t"),
    );
}
