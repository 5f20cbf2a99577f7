//! Replays the committed fuzz corpus of `huffman_decode` and `huffman_roundtrip` through the checks
//! the fuzz targets run, so every crash input found by fuzzing stays covered on stable Rust.
//!
//! Reads `fuzz/corpus/<target>/seed-*` and `fuzz/corpus/<target>/regressions/*` beside this crate;
//! a missing or empty directory (for example in the published crate) replays nothing. Run with
//! `ENTRO_WRITE_FUZZ_SEEDS=1` to (re)write the seed files from [`decode_seeds`] and [`roundtrip_seeds`].

mod fuzz_checks;

use std::path::{Path, PathBuf};

use entro_huffman::{Alphabet, Codebook, encode};
use fuzz_checks::{DecodeOutcome, huffman_decode, huffman_roundtrip};

/// Every committed input of a fuzz target: seeds first, then regressions, sorted by name.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = Vec::new();
    for (sub, seeds_only) in [(dir.clone(), true), (dir.join("regressions"), false)] {
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_file() && (!seeds_only || name.starts_with("seed-")) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes =
                std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            (path, bytes)
        })
        .collect()
}

/// Writes `seeds` as `fuzz/corpus/<target>/seed-<name>` when `ENTRO_WRITE_FUZZ_SEEDS` is set.
fn maybe_write_seeds(target: &str, seeds: &[(&str, Vec<u8>)]) {
    if std::env::var_os("ENTRO_WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    for (name, bytes) in seeds {
        // Through a temporary file and a rename, so that a replay reading the corpus at the same
        // time never sees a half-written seed.
        let temporary = dir.join(format!(".writing-seed-{name}"));
        std::fs::write(&temporary, bytes).expect("write a seed");
        std::fs::rename(&temporary, dir.join(format!("seed-{name}")))
            .expect("move a seed into place");
    }
}

/// Deterministic skewed codes with values below `levels`, as quantized weights look.
fn skewed(count: usize, levels: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            // Sum of two uniforms: a triangle around the middle level.
            let level = (state % levels + (state >> 16) % levels) / 2;
            u8::try_from(level).unwrap_or(u8::MAX)
        })
        .collect()
}

/// One `huffman_decode` input: a serialized codebook and one chunk of `codes`.
fn decode_input_serialized(codes: &[u8], codebook: &Codebook) -> Vec<u8> {
    let count = u16::try_from(codes.len()).expect("seed fits a u16 count");
    let mut input = vec![0u8];
    input.extend_from_slice(&count.to_le_bytes());
    codebook.to_bytes(&mut input);
    encode(
        codes,
        codebook,
        (codes.len() + codes.len() % 2).max(2),
        &mut input,
    )
    .expect("seed encodes");
    input
}

/// Valid `huffman_decode` inputs covering each codebook layout, both alphabets, long codes and
/// the wide chunk layout.
fn decode_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let bytes8 = skewed(3000, 256, 1);
    // Enough codes of at most 12 bits for the wide 64-stream layout.
    let wide = skewed(5000, 256, 8);
    let few = skewed(700, 12, 2);
    let nibbles = skewed(1001, 16, 3);
    let mut exponential = Vec::new();
    for symbol in 0..16u8 {
        exponential.extend(std::iter::repeat_n(symbol, 1 << (15 - symbol.min(14))));
    }
    let sample: Vec<u8> = exponential.iter().step_by(16).copied().collect();
    let build = |codes: &[u8], alphabet, max_len| {
        Codebook::build(codes, alphabet, max_len).expect("seed codebook builds")
    };
    let mut built = vec![1 | 2 | 11 << 4];
    let symbols = &nibbles[..200];
    let codebook = build(symbols, Alphabet::NibblePairs, 11);
    built.extend_from_slice(&200u16.to_le_bytes());
    built.push(200);
    built.extend_from_slice(symbols);
    encode(symbols, &codebook, 200, &mut built).expect("seed encodes");
    vec![
        (
            "dense-bytes",
            decode_input_serialized(&bytes8, &build(&bytes8, Alphabet::Bytes, 11)),
        ),
        (
            "sparse-bytes",
            decode_input_serialized(&few, &build(&few, Alphabet::Bytes, 11)),
        ),
        (
            "bitmap-pairs",
            decode_input_serialized(&nibbles, &build(&nibbles, Alphabet::NibblePairs, 11)),
        ),
        (
            "long-codes",
            decode_input_serialized(&sample, &build(&exponential, Alphabet::Bytes, 15)),
        ),
        ("built-pairs", built),
        (
            "wide-bytes",
            decode_input_serialized(&wide, &build(&wide, Alphabet::Bytes, 12)),
        ),
    ]
}

/// Valid `huffman_roundtrip` inputs: both alphabets, the automatic choice, odd chunk sizes.
fn roundtrip_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let input = |flags: u8, max_len: u8, chunk: u16, symbols: Vec<u8>| {
        let mut bytes = vec![flags, max_len];
        bytes.extend_from_slice(&chunk.to_le_bytes());
        bytes.extend(symbols);
        bytes
    };
    vec![
        ("bytes", input(0, 11, 99, skewed(600, 256, 4))),
        ("pairs", input(1 | 4, 11, 63, skewed(513, 16, 5))),
        ("best4", input(2, 12, 127, skewed(400, 16, 6))),
        ("best8-odd", input(3 | 8, 9, 30, skewed(250, 40, 7))),
        ("single-symbol", input(0, 1, 7, vec![42; 20])),
        // A wide chunk of 5000 codes, then a narrow one of 4000.
        ("wide-then-narrow", input(0, 12, 4999, skewed(9000, 256, 9))),
    ]
}

#[test]
fn seeds_are_valid_inputs() {
    let decode = decode_seeds();
    for (name, bytes) in &decode {
        assert_eq!(
            huffman_decode(bytes),
            DecodeOutcome::Decoded,
            "decode seed {name}"
        );
    }
    let roundtrip = roundtrip_seeds();
    for (name, bytes) in &roundtrip {
        assert!(
            huffman_roundtrip(bytes),
            "roundtrip seed {name} did not round-trip"
        );
    }
    maybe_write_seeds("huffman_decode", &decode);
    maybe_write_seeds("huffman_roundtrip", &roundtrip);
}

#[test]
fn huffman_decode_corpus_replays() {
    for (path, bytes) in corpus("huffman_decode") {
        let outcome = huffman_decode(&bytes);
        if path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("seed-"))
        {
            assert_eq!(
                outcome,
                DecodeOutcome::Decoded,
                "{} must stay decodable",
                path.display()
            );
        }
    }
}

#[test]
fn huffman_roundtrip_corpus_replays() {
    for (path, bytes) in corpus("huffman_roundtrip") {
        let round_tripped = huffman_roundtrip(&bytes);
        let is_seed = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("seed-"));
        assert!(
            round_tripped || !is_seed,
            "{} must round-trip",
            path.display()
        );
    }
}

#[test]
fn short_and_malformed_inputs_are_handled() {
    for len in 0..8 {
        let bytes = vec![0xffu8; len];
        assert_ne!(huffman_decode(&bytes), DecodeOutcome::Decoded);
        assert!(!huffman_roundtrip(&bytes[..len.min(3)]));
    }
    // A zero chunk size and an out-of-range length limit are parameter errors, not crashes.
    assert!(!huffman_roundtrip(&[16, 11, 0, 0, 1, 2, 3]));
    assert!(!huffman_roundtrip(&[0, 16, 5, 0, 1, 2, 3]));
    assert!(!huffman_roundtrip(&[1, 11, 5, 0, 1, 200, 3]));
}
