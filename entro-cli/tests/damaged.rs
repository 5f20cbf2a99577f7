//! Damaged `.entro` files: every command that reads one fails with exit code
//! 1 and one line naming the file (and the tensor, where one is at fault),
//! and `decompress` leaves no output behind.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{
    Tensor, assert_error, files_in, path_str, run, stderr, tmp_path, weights, write_safetensors,
};

/// A compressed two-tensor model in `dir`; returns its path.
fn compressed(dir: &tempfile::TempDir) -> PathBuf {
    let input = tmp_path(dir, "model.safetensors");
    write_safetensors(
        &input,
        &[
            Tensor::f32("blk.0.w", &[64, 64], &weights(64 * 64, 31, false)),
            Tensor::f32("blk.0.norm", &[64], &weights(64, 32, true)),
        ],
    );
    let output = tmp_path(dir, "model.entro");
    let result = run(&[
        "compress",
        path_str(&input),
        "-o",
        path_str(&output),
        "--chunk-codes",
        "1024",
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    std::fs::remove_file(&input).unwrap();
    output
}

fn tensor_info(path: &Path, name: &str) -> Value {
    let result = run(&["inspect", path_str(path), "--json"]);
    assert!(result.status.success(), "{}", stderr(&result));
    let report: Value = serde_json::from_slice(&result.stdout).unwrap();
    report["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
        .clone()
}

/// Runs `verify`, `bench` and `decompress` on `file` and checks each fails as described.
fn assert_every_reader_fails(dir: &tempfile::TempDir, file: &Path, needles: &[&str]) {
    let before = files_in(dir.path());
    let out = tmp_path(dir, "restored.safetensors");
    for args in [
        vec!["verify", path_str(file)],
        // Float output decodes every tensor (codes leave the raw ones out).
        vec!["bench", path_str(file), "--repeat", "1", "--dtype", "f32"],
        vec!["decompress", path_str(file), "-o", path_str(&out)],
    ] {
        let result = run(&args);
        assert_error(&result, 1, needles);
        assert_eq!(files_in(dir.path()), before, "{args:?} left a file behind");
    }
}

#[test]
fn a_truncated_file_is_rejected_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = compressed(&dir);
    let bytes = std::fs::read(&file).unwrap();
    for keep in [bytes.len() - 1, bytes.len() / 2, 10, 0] {
        std::fs::write(&file, &bytes[..keep]).unwrap();
        assert_every_reader_fails(&dir, &file, &["model.entro"]);
        assert_error(&run(&["inspect", path_str(&file)]), 1, &["model.entro"]);
    }
}

#[test]
fn a_flipped_payload_byte_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = compressed(&dir);
    let info = tensor_info(&file, "blk.0.w");
    let offset = usize::try_from(info["payload_offset"].as_u64().unwrap()).unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    // A byte inside chunk 2 (the chunks are in payload order).
    let chunk_len = info["payload_bytes"].as_u64().unwrap() / info["chunks"].as_u64().unwrap();
    bytes[offset + usize::try_from(chunk_len).unwrap() * 2 + 5] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();
    // The header is intact, so inspect still describes the file.
    assert!(run(&["inspect", path_str(&file)]).status.success());
    assert_every_reader_fails(&dir, &file, &["model.entro", "blk.0.w", "chunk 2"]);
    let codes = run(&["bench", path_str(&file), "--repeat", "1"]);
    assert_error(&codes, 1, &["model.entro", "blk.0.w", "chunk 2"]);
}

#[test]
fn a_flipped_raw_byte_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = compressed(&dir);
    let info = tensor_info(&file, "blk.0.norm");
    assert_eq!(info["encoding"], "raw");
    let offset = usize::try_from(info["payload_offset"].as_u64().unwrap()).unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[offset + 3] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    assert_every_reader_fails(&dir, &file, &["model.entro", "blk.0.norm"]);
}

#[test]
fn a_flipped_header_byte_fails_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = compressed(&dir);
    let mut bytes = std::fs::read(&file).unwrap();
    // The footer is the last 32 bytes; the header ends right before it.
    let at = bytes.len() - 32 - 10;
    bytes[at] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();
    assert_every_reader_fails(&dir, &file, &["model.entro", "header"]);
    assert_error(
        &run(&["inspect", path_str(&file)]),
        1,
        &["model.entro", "header"],
    );
}

#[test]
fn a_missing_file_fails_for_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let missing = tmp_path(&dir, "absent.entro");
    assert_every_reader_fails(&dir, &missing, &["absent.entro"]);
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn an_intact_file_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let file = compressed(&dir);
    let result = run(&["verify", path_str(&file)]);
    assert!(result.status.success(), "{}", stderr(&result));
    let quiet = run(&["-q", "verify", path_str(&file)]);
    assert!(quiet.status.success());
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
}
