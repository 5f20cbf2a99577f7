//! Rate-distortion table of the real SmolLM2-135M-Instruct checkpoint: for each
//! scheme, granularity and bit width, the code entropy (bits/weight, what an
//! ideal per-tensor entropy coder approaches) and the reconstruction error.
//!
//! ```text
//! cargo run --release -p entro-quant --example rd_table
//! ```
//!
//! Needs `../shared/models/SmolLM2-135M-Instruct/model.safetensors.zst`; it is
//! decompressed once into `target/entro-fixtures/`. Prints a skip notice when
//! the file is absent.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::checkpoint::{LoadedTensor, quantizable_tensors, real_checkpoint};
use entro_quant::{Granularity, QuantConfig, QuantError, Scheme, quantize};

/// Totals over all quantized tensors for one configuration.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    weights: u64,
    entropy_weighted: f64,
    rel_rms_weighted: f64,
    rejected: usize,
}

fn measure(tensors: &[LoadedTensor], config: &QuantConfig) -> Totals {
    let mut totals = Totals::default();
    let mut codes = Vec::new();
    for tensor in tensors {
        codes.resize(tensor.weights.len(), 0);
        match quantize(
            &tensor.name,
            tensor.weights.slice(),
            &tensor.shape,
            config,
            &mut codes,
        ) {
            Ok(report) => {
                let n = report.stats.elements as f64;
                totals.weights += report.stats.elements as u64;
                totals.entropy_weighted += report.stats.entropy_bits * n;
                totals.rel_rms_weighted += report.stats.rel_rms_error * n;
            }
            Err(QuantError::SchemeMismatch { .. }) => totals.rejected += 1,
            Err(err) => panic!("{}: {err}", tensor.name),
        }
    }
    totals
}

fn configs() -> Vec<QuantConfig> {
    let granularities = [
        Granularity::Tensor,
        Granularity::Channel,
        Granularity::Group(128),
        Granularity::Group(32),
    ];
    let mut configs = Vec::new();
    for scheme in Scheme::ALL {
        for granularity in granularities {
            for bits in BITS {
                configs.push(QuantConfig {
                    bits,
                    scheme,
                    granularity,
                    clip: false,
                });
            }
        }
    }
    for granularity in granularities {
        for bits in [8, 4, 3] {
            configs.push(QuantConfig {
                bits,
                scheme: Scheme::Auto,
                granularity,
                clip: true,
            });
        }
    }
    configs
}

/// Runs every configuration on all cores, each configuration on one thread.
fn run_all(tensors: &[LoadedTensor], configs: &[QuantConfig]) -> Vec<Totals> {
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut results = vec![Totals::default(); configs.len()];
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(config) = configs.get(index) else {
                            break;
                        };
                        done.push((index, measure(tensors, config)));
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            for (index, totals) in worker.join().expect("worker panicked") {
                results[index] = totals;
            }
        }
    });
    results
}

const BITS: [u8; 5] = [8, 6, 4, 3, 2];

/// One row per scheme, granularity and clipping; one column per bit width,
/// each cell `entropy bits/weight / relative RMS error`.
fn print_table(configs: &[QuantConfig], results: &[Totals], tensors: usize) {
    print!("| scheme | granularity | clip |");
    for bits in BITS {
        print!(" {bits} bits |");
    }
    println!(" rejected |");
    println!("|---|---|---|{}---:|", "---:|".repeat(BITS.len()));
    let mut rows: Vec<(Scheme, Granularity, bool)> = Vec::new();
    for config in configs {
        let row = (config.scheme, config.granularity, config.clip);
        if !rows.contains(&row) {
            rows.push(row);
        }
    }
    for (scheme, granularity, clip) in rows {
        print!(
            "| {scheme} | {granularity} | {} |",
            if clip { "mse" } else { "-" }
        );
        let mut rejected = 0;
        for bits in BITS {
            let found = configs.iter().zip(results).find(|(c, _)| {
                (c.scheme, c.granularity, c.clip, c.bits) == (scheme, granularity, clip, bits)
            });
            match found {
                Some((_, totals)) if totals.weights > 0 => {
                    let n = totals.weights as f64;
                    print!(
                        " {:.2} / {:.2}% |",
                        totals.entropy_weighted / n,
                        100.0 * totals.rel_rms_weighted / n
                    );
                    rejected = rejected.max(totals.rejected);
                }
                Some((_, totals)) => {
                    print!(" - |");
                    rejected = rejected.max(totals.rejected);
                }
                None => print!(" |"),
            }
        }
        println!(" {rejected} of {tensors} |");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = match real_checkpoint() {
        Ok(path) => path,
        Err(reason) => {
            eprintln!("skipping the rate-distortion table: {reason}");
            return Ok(());
        }
    };
    let start = Instant::now();
    let tensors = quantizable_tensors(&path)?;
    let weights: usize = tensors.iter().map(|t| t.weights.len()).sum();
    eprintln!(
        "{} tensors, {weights} weights loaded in {:.1?}",
        tensors.len(),
        start.elapsed()
    );
    let configs = configs();
    let start = Instant::now();
    let results = run_all(&tensors, &configs);
    eprintln!(
        "{} configurations in {:.1?}",
        configs.len(),
        start.elapsed()
    );
    println!(
        "SmolLM2-135M-Instruct, {} quantized tensors, {weights} weights.",
        tensors.len()
    );
    println!(
        "Each cell: entropy of the codes (bits/weight) / relative RMS error, both means \
         weighted by tensor size. Rejected: tensors the scheme cannot represent."
    );
    println!();
    print_table(&configs, &results, tensors.len());
    Ok(())
}
