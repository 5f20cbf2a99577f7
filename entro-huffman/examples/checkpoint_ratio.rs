//! Measures the coded size of a whole checkpoint, quantized per tensor, against the sum of its
//! tensors' order-0 entropies (codebooks, chunk headers and a 16-byte index entry per chunk included).
//!
//! `cargo run --release -p entro-huffman --example checkpoint_ratio`
//!
//! Targets: at most 1.03 x the entropy at 4 bits and 1.02 x at 8 bits.

#[path = "../tests/support/checkpoint.rs"]
mod checkpoint;

use checkpoint::{AlphabetChoice, INDEX_BYTES_PER_CHUNK, load, measure_sizes};
use entro_huffman::{DEFAULT_CHUNK_CODES, DEFAULT_MAX_CODE_LENGTH};

fn main() {
    let sweep = std::env::args().any(|arg| arg == "--sweep");
    if sweep {
        for bits in [8u8, 4] {
            let (tensors, source) = load(bits);
            println!("== {bits}-bit sweep, {source}");
            for chunk_codes in [1usize << 16, 1 << 17, 1 << 18] {
                for max_len in 11..=15u8 {
                    let report =
                        measure_sizes(&tensors, bits, max_len, chunk_codes, AlphabetChoice::Best);
                    println!(
                        "   chunk {chunk_codes:>7}, max len {max_len}: {:.4} bits/weight, ratio {:.4}",
                        report.bits_per_weight(),
                        report.ratio()
                    );
                }
            }
        }
        return;
    }
    let mut all_pass = true;
    for (bits, target) in [(8u8, 1.02), (4, 1.03)] {
        let (tensors, source) = load(bits);
        println!("== {bits}-bit per-tensor min-max codes, {source}");
        println!(
            "   {} tensors; chunk = {DEFAULT_CHUNK_CODES} codes; index = {INDEX_BYTES_PER_CHUNK} B/chunk",
            tensors.len()
        );
        for (choice, max_len) in [
            (AlphabetChoice::Best, DEFAULT_MAX_CODE_LENGTH),
            (AlphabetChoice::Best, 15),
            (AlphabetChoice::BytesOnly, DEFAULT_MAX_CODE_LENGTH),
        ] {
            let report = measure_sizes(&tensors, bits, max_len, DEFAULT_CHUNK_CODES, choice);
            let entropy_bpw = report.entropy_bytes * 8.0 / report.weights as f64;
            println!(
                "   {choice:?}, max len {max_len:2}: {:>11} B = {:.4} bits/weight (entropy {:.4}); \
                 ratio {:.4}; codebooks {} B, chunks {} ({} B index), nibble-pair tensors {}/{}",
                report.total_bytes(),
                report.bits_per_weight(),
                entropy_bpw,
                report.ratio(),
                report.codebook_bytes,
                report.chunks,
                report.chunks * INDEX_BYTES_PER_CHUNK,
                report.pair_tensors,
                report.tensors,
            );
            if choice == AlphabetChoice::Best && max_len == DEFAULT_MAX_CODE_LENGTH {
                let pass = report.ratio() <= target;
                all_pass &= pass;
                println!(
                    "   => default settings: ratio {:.4} vs target {target}: {}",
                    report.ratio(),
                    if pass { "PASS" } else { "FAIL" }
                );
            }
        }
    }
    if !all_pass {
        std::process::exit(1);
    }
}
