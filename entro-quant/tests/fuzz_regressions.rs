//! Replays the committed fuzz corpus of `quant_roundtrip` through the check the fuzz target runs,
//! so every crash input found by fuzzing stays covered on stable Rust.
//!
//! Reads `fuzz/corpus/quant_roundtrip/seed-*` and `fuzz/corpus/quant_roundtrip/regressions/*`
//! beside this crate; a missing or empty directory (for example in the published crate) replays
//! nothing. Run with `ENTRO_WRITE_FUZZ_SEEDS=1` to (re)write the seed files from [`seeds`].

mod fuzz_checks;

use std::path::{Path, PathBuf};

use fuzz_checks::{QuantOutcome, quant_roundtrip};

const TARGET: &str = "quant_roundtrip";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(TARGET)
}

/// Every committed input: `(is_seed, path, bytes)`, seeds first, sorted by name.
fn corpus() -> Vec<(bool, PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for (dir, is_seed) in [
        (corpus_dir(), true),
        (corpus_dir().join("regressions"), false),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .filter(|entry| !is_seed || entry.file_name().to_string_lossy().starts_with("seed-"))
            .map(|entry| entry.path())
            .filter(|path| path.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let bytes =
                std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            files.push((is_seed, path, bytes));
        }
    }
    files
}

/// One input: the four header bytes, then the weights in the format the options name.
fn input(bits_byte: u8, options: u8, group: u8, row: u8, weights: &[f32]) -> Vec<u8> {
    let mut bytes = vec![bits_byte, options, group, row];
    for &weight in weights {
        match options >> 5 & 3 {
            1 => bytes.extend_from_slice(&half::f16::from_f32(weight).to_le_bytes()),
            2 => bytes.extend_from_slice(&half::bf16::from_f32(weight).to_le_bytes()),
            _ => bytes.extend_from_slice(&weight.to_le_bytes()),
        }
    }
    bytes
}

/// Weights like a small layer's: a smooth bell of mixed signs, deterministic.
fn layer(count: usize, offset: f32) -> Vec<f32> {
    (0..count)
        .map(|i| {
            let t = (i as f32 * 0.618_034).fract() * 2.0 - 1.0;
            offset + 0.05 * t * t * t + 0.01 * t
        })
        .collect()
}

/// Valid inputs: each scheme, granularity and float format, with and without clipping.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    const SCHEME_UNSIGNED: u8 = 1;
    const SCHEME_SYMMETRIC: u8 = 3;
    const CHANNEL: u8 = 1 << 2;
    const GROUP: u8 = 2 << 2;
    const CLIP: u8 = 1 << 4;
    const F16: u8 = 1 << 5;
    const BF16: u8 = 2 << 5;
    const FLAT: u8 = 1 << 7;
    vec![
        ("auto-8bit-tensor", input(7, 0, 0, 15, &layer(256, 0.0))),
        (
            "auto-4bit-channel-bf16",
            input(3, CHANNEL | BF16, 0, 31, &layer(256, 0.0)),
        ),
        (
            "unsigned-group-f16",
            input(4, SCHEME_UNSIGNED | GROUP | F16, 24, 63, &layer(192, 0.2)),
        ),
        ("negated-2bit-flat", input(1, FLAT, 0, 0, &layer(100, -0.3))),
        (
            "symmetric-clip-group",
            input(5, SCHEME_SYMMETRIC | GROUP | CLIP, 16, 47, &layer(240, 0.0)),
        ),
        ("constant-blocks", input(7, GROUP, 8, 15, &[0.25; 64])),
    ]
}

#[test]
fn seeds_are_valid_inputs() {
    let seeds = seeds();
    for (name, bytes) in &seeds {
        assert_eq!(
            quant_roundtrip(bytes),
            QuantOutcome::Quantized,
            "seed {name}"
        );
    }
    if std::env::var_os("ENTRO_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(corpus_dir()).expect("create the corpus directory");
        for (name, bytes) in &seeds {
            // Through a temporary file and a rename: the replay test reads the corpus at the same
            // time and must never see a half-written seed.
            let temporary = corpus_dir().join(format!(".writing-seed-{name}"));
            std::fs::write(&temporary, bytes).expect("write a seed");
            std::fs::rename(&temporary, corpus_dir().join(format!("seed-{name}")))
                .expect("move a seed into place");
        }
    }
}

#[test]
fn quant_roundtrip_corpus_replays() {
    for (is_seed, path, bytes) in corpus() {
        let outcome = quant_roundtrip(&bytes);
        assert!(
            !is_seed || outcome == QuantOutcome::Quantized,
            "{} must quantize",
            path.display()
        );
    }
}

#[test]
fn bad_inputs_get_their_exact_errors() {
    assert_eq!(quant_roundtrip(&[7, 0, 0]), QuantOutcome::TooShort);
    // Bit widths 1 and 9, a group of zero, a NaN, an infinity, a huge weight, unsigned on mixed signs.
    for bytes in [
        input(0, 0, 0, 3, &[1.0, 2.0]),
        input(8, 0, 0, 3, &[1.0, 2.0]),
        input(7, 2 << 2, 0, 3, &[1.0, 2.0]),
        input(7, 0, 0, 0, &[1.0, f32::NAN]),
        input(7, 2 << 5, 0, 0, &[f32::NEG_INFINITY, 1.0]),
        input(7, 0, 0, 0, &[1.0, 3.0e36]),
        input(7, 1, 0, 0, &[-1.0, 1.0]),
    ] {
        assert_eq!(quant_roundtrip(&bytes), QuantOutcome::Rejected, "{bytes:?}");
    }
}
