//! Replays the committed corpus of the `decode_parallel_independent` fuzz target through the check
//! it runs, so `cargo test` covers it on stable Rust.
//!
//! Reads `fuzz/corpus/decode_parallel_independent/` beside this crate (a missing folder replays
//! nothing). `ENTRO_WRITE_FUZZ_SEEDS=1` (re)writes the seed files from [`seeds`].

mod fuzz_checks;

use std::path::{Path, PathBuf};

use fuzz_checks::{Outcome, decode_parallel_independent};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/decode_parallel_independent")
}

fn input(header: [u8; 7], weights: impl IntoIterator<Item = i8>) -> Vec<u8> {
    let mut bytes = header.to_vec();
    bytes.extend(weights.into_iter().map(i8::cast_unsigned));
    bytes
}

/// Mixed signs crowded around zero, like a layer's weights: a cube of a spread of -100..=100.
fn bell(count: usize) -> impl Iterator<Item = i8> {
    (0..count).map(|i| {
        let t = i64::try_from(i * 37 % 201).unwrap_or(0) - 100;
        i8::try_from(t * t * t / 10_000).unwrap_or(0)
    })
}

/// Valid inputs covering each granularity, narrow and wide codes, odd and even chunks.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("8bit-tensor", input([6, 0, 0, 200, 7, 0, 3], bell(600))),
        ("4bit-channel", input([2, 1, 0, 9, 100, 1, 7], bell(512))),
        ("3bit-group", input([1, 2, 5, 3, 40, 2, 1], bell(300))),
        (
            "positive-group",
            input(
                [5, 2, 31, 0, 255, 0, 2],
                bell(400).map(i8::unsigned_abs).map(|v| (v / 2) as i8),
            ),
        ),
        ("constant", input([6, 1, 0, 1, 2, 2, 4], [5i8; 64])),
    ]
}

#[test]
fn seeds_decode_identically() {
    let seeds = seeds();
    for (name, bytes) in &seeds {
        assert_eq!(
            decode_parallel_independent(bytes),
            Outcome::Checked,
            "seed {name}"
        );
    }
    if std::env::var_os("ENTRO_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(corpus_dir()).expect("create the corpus folder");
        for (name, bytes) in &seeds {
            // Through a temporary file and a rename, so that a replay reading the corpus at the
            // same time never sees a half-written seed.
            let temporary = corpus_dir().join(format!(".writing-seed-{name}"));
            std::fs::write(&temporary, bytes).expect("write a seed");
            std::fs::rename(&temporary, corpus_dir().join(format!("seed-{name}")))
                .expect("move a seed into place");
        }
    }
}

#[test]
fn corpus_replays() {
    let Ok(entries) = std::fs::read_dir(corpus_dir()) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    for path in paths {
        let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        decode_parallel_independent(&bytes);
    }
}

#[test]
fn short_inputs_are_skipped() {
    assert_eq!(decode_parallel_independent(&[1, 2, 3]), Outcome::TooShort);
    assert_eq!(
        decode_parallel_independent(&[0, 0, 0, 0, 0, 0, 7, 1, 2]),
        Outcome::TooShort
    );
}
