//! Replays the committed `format_parse` fuzz corpus through the check the fuzz
//! target runs, so that every input found by fuzzing stays covered on stable.
//!
//! Reads `fuzz/corpus/format_parse/seed-*` and `regressions/*` beside this
//! crate; a missing folder (as in the published crate) replays nothing. Run
//! with `ENTRO_WRITE_FUZZ_SEEDS=1` to (re)write the seed files.

mod common;
mod fuzz_checks;

use std::path::{Path, PathBuf};

use entro_quant::Granularity;
use fuzz_checks::{ParseOutcome, format_parse};

fn corpus_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/format_parse")
}

/// A file whose one tensor has 64 per-row blocks, so its parameters are coded (encoding 3).
fn coded_params_file_bytes() -> Vec<u8> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("coded.entro");
    let mut writer =
        entro_format::EntroWriter::create(&path, entro_format::FileMetadata::default()).unwrap();
    let w = common::weights(3, 64 * 8);
    let shape = [64, 8];
    let (encoded, _) = common::quantized("rows.weight", &w, &shape, 6, Granularity::Channel, 128);
    writer
        .add_quantized("rows.weight", &shape, entro_format::Dtype::F16, &encoded)
        .unwrap();
    writer.finish().unwrap();
    std::fs::read(&path).unwrap()
}

/// A file whose one tensor has 96 per-row blocks with outliers of different signs, so its codes
/// are stored relative to the rows' zero points (encoding 4).
fn relative_codes_file_bytes() -> Vec<u8> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("relative.entro");
    let mut writer =
        entro_format::EntroWriter::create(&path, entro_format::FileMetadata::default()).unwrap();
    let shape = [96, 12];
    let mut w = common::weights(5, 96 * 12);
    for row in 0..96 {
        w[row * 12 + row % 12] = if row % 2 == 0 { 0.1 } else { -0.1 };
    }
    let (encoded, _) = common::quantized("rows.weight", &w, &shape, 8, Granularity::Channel, 200);
    assert_eq!(
        encoded.code_form(),
        entro_format::CodeForm::RelativeToZeroPoints
    );
    writer
        .add_quantized("rows.weight", &shape, entro_format::Dtype::BF16, &encoded)
        .unwrap();
    writer.finish().unwrap();
    std::fs::read(&path).unwrap()
}

/// Seeds: an intact small file, a damaged payload, a truncated file, a wrong
/// version, an intact file of lossless tensors, one with coded block parameters and one with
/// codes relative to zero points.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let intact = common::small_file_bytes();
    let file = entro_format::EntroFile::from_bytes(intact.clone()).unwrap();
    let payload = usize::try_from(file.tensor("proj.weight").unwrap().payload_offset()).unwrap();
    let mut damaged = intact.clone();
    damaged[payload + 20] ^= 0x55;
    let truncated = intact[..intact.len() - 7].to_vec();
    let mut newer = intact.clone();
    newer[8] = 9;
    vec![
        ("small", intact),
        ("damaged-chunk", damaged),
        ("truncated", truncated),
        ("version-9", newer),
        ("lossless", common::lossless_file_bytes()),
        ("coded-params", coded_params_file_bytes()),
        ("relative-codes", relative_codes_file_bytes()),
    ]
}

#[test]
fn seeds_behave_as_named() {
    let seeds = seeds();
    let outcomes: Vec<ParseOutcome> = seeds.iter().map(|(_, bytes)| format_parse(bytes)).collect();
    assert_eq!(
        outcomes,
        [
            ParseOutcome::Intact,
            ParseOutcome::Damaged,
            ParseOutcome::Rejected,
            ParseOutcome::Rejected,
            ParseOutcome::Intact,
            ParseOutcome::Intact,
            ParseOutcome::Intact
        ]
    );
    common::write_seeds_if_asked(&corpus_folder(), &seeds);
}

#[test]
fn committed_corpus_replays() {
    for path in common::committed_corpus(&corpus_folder()) {
        let bytes = std::fs::read(&path).unwrap();
        // Must not panic; the outcome itself depends on the input.
        let outcome = format_parse(&bytes);
        println!("{}: {outcome:?}", path.display());
    }
}
