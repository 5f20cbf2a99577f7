//! compress -> decompress through the built binary, checked against a
//! reference dequantization computed here from the documented formula
//! `value = (code - zero_point) * scale`, not with entro's own code.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::{
    Tensor, decode_floats, path_str, read_safetensors, run, stderr, stdout, tmp_path, weights,
    write_safetensors,
};

fn checkpoint() -> Vec<Tensor> {
    let negative: Vec<f32> = weights(40 * 24, 13, true).iter().map(|w| -w).collect();
    vec![
        Tensor::f32("mixed.f32", &[64, 48], &weights(64 * 48, 11, false)),
        Tensor::f32("positive.f32", &[32, 40], &weights(32 * 40, 12, true)),
        Tensor::f32("negative.f32", &[40, 24], &negative),
        Tensor::bf16("mixed.bf16", &[3, 16, 20], &weights(3 * 16 * 20, 14, false)),
        Tensor::bf16("norm.bf16", &[48], &weights(48, 15, true)),
        Tensor::raw(
            "ids.i64",
            "I64",
            &[5],
            (10..15i64).flat_map(i64::to_le_bytes).collect(),
        ),
    ]
}

fn compress(input: &Path, output: &Path, extra: &[&str]) {
    let mut args = vec!["compress", path_str(input), "-o", path_str(output)];
    args.extend_from_slice(extra);
    let result = run(&args);
    assert!(result.status.success(), "{}", stderr(&result));
}

fn decompress(input: &Path, output: &Path, dtype: &str) -> BTreeMap<String, Tensor> {
    let result = run(&[
        "decompress",
        path_str(input),
        "-o",
        path_str(output),
        "--dtype",
        dtype,
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    read_safetensors(output)
}

fn inspect(path: &Path) -> BTreeMap<String, Value> {
    let result = run(&["inspect", path_str(path), "--json"]);
    assert!(result.status.success(), "{}", stderr(&result));
    let report: Value = serde_json::from_slice(&result.stdout).unwrap();
    report["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
        .collect()
}

/// The reference: the nearest grid value `(c - zero) * scale` with `c` in the
/// scheme's code range, computed in f32 as documented.
fn reference(x: f32, scale: f32, zero: i32, min_code: i32, max_code: i32) -> (f32, bool) {
    if scale == 0.0 {
        return (0.0, false);
    }
    let exact = x / scale + zero as f32;
    // Small integers are exact in f32, so `code - zero` is the documented
    // `(code as i32 - zero_point) as f32`.
    let code = exact.round().clamp(min_code as f32, max_code as f32);
    let near_tie = (exact - exact.floor() - 0.5).abs() < 1e-3;
    ((code - zero as f32) * scale, near_tie)
}

#[test]
fn per_tensor_round_trip_matches_the_reference_dequantization() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    let tensors = checkpoint();
    write_safetensors(&input, &tensors);
    for bits in [8u8, 4] {
        let entro = tmp_path(&dir, &format!("model{bits}.entro"));
        compress(
            &input,
            &entro,
            &[
                "--bits",
                &bits.to_string(),
                "--threads",
                "2",
                "--chunk-codes",
                "1000",
            ],
        );
        let report = inspect(&entro);
        let as_f32 = decompress(
            &entro,
            &tmp_path(&dir, &format!("f32-{bits}.safetensors")),
            "f32",
        );
        let original = decompress(
            &entro,
            &tmp_path(&dir, &format!("orig-{bits}.safetensors")),
            "original",
        );
        let as_bf16 = decompress(
            &entro,
            &tmp_path(&dir, &format!("bf16-{bits}.safetensors")),
            "bf16",
        );

        for source in &tensors {
            let info = &report[&source.name];
            let restored = &original[&source.name];
            assert_eq!(restored.shape, source.shape, "{}", source.name);
            assert_eq!(
                restored.dtype, source.dtype,
                "original dtype is kept: {}",
                source.name
            );
            if info["encoding"] == "raw" {
                assert_eq!(
                    restored.bytes, source.bytes,
                    "{} is kept exactly",
                    source.name
                );
                if source.dtype == "I64" {
                    assert_eq!(
                        as_f32[&source.name].dtype, "I64",
                        "integers are never converted"
                    );
                    assert_eq!(as_f32[&source.name].bytes, source.bytes);
                } else {
                    assert_eq!(as_f32[&source.name].values(), source.values());
                }
                continue;
            }
            // JSON carries the f32 scale exactly (shortest round-trip form).
            #[expect(clippy::cast_possible_truncation, reason = "the value is an f32")]
            let scale = info["scale"].as_f64().unwrap() as f32;
            let zero = i32::try_from(info["zero_point"].as_i64().unwrap()).unwrap();
            let max_code = (1i32 << bits) - 1;
            let min_code = if info["scheme"] == "symmetric" { 1 } else { 0 };
            let values = source.values();
            let restored_f32 = as_f32[&source.name].values();
            assert_eq!(as_f32[&source.name].dtype, "F32");
            let restored_bf16 = as_bf16[&source.name].values();
            let restored_original = restored.values();
            for (i, &x) in values.iter().enumerate() {
                let (expected, near_tie) = reference(x, scale, zero, min_code, max_code);
                let got = restored_f32[i];
                if near_tie {
                    // Either neighbour of an exact tie is a correct rounding.
                    assert!(
                        (got - expected).abs() <= scale.abs() * 1.001,
                        "{} [{i}]",
                        source.name
                    );
                } else {
                    assert_eq!(got, expected, "{} [{i}]: x = {x}", source.name);
                }
                // Every weight within half a step of its reconstruction.
                assert!(
                    (x - got).abs() <= scale.abs() * 0.5 * 1.001,
                    "{} [{i}]",
                    source.name
                );
                // Lower precisions are the f32 value rounded to nearest.
                assert_eq!(restored_bf16[i], half::bf16::from_f32(got).to_f32());
                let in_original = match source.dtype.as_str() {
                    "BF16" => half::bf16::from_f32(got).to_f32(),
                    _ => got,
                };
                assert_eq!(restored_original[i], in_original, "{} [{i}]", source.name);
            }
        }
    }
}

#[test]
fn weights_on_the_grid_come_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "grid.safetensors");
    // Codes 0..=255 with zero point 100 and scale 2^-7: min and max are grid
    // ends, so min-max quantization must find exactly this grid.
    let values: Vec<f32> = (0..64 * 64)
        .map(|i| ((i * 37 % 256) as f32 - 100.0) / 128.0)
        .collect();
    write_safetensors(&input, &[Tensor::f32("grid", &[64, 64], &values)]);
    let entro = tmp_path(&dir, "grid.entro");
    compress(&input, &entro, &[]);
    let info = &inspect(&entro)["grid"];
    assert_eq!(info["scale"].as_f64().unwrap(), 1.0 / 128.0);
    assert_eq!(info["zero_point"], 100);
    let restored = decompress(&entro, &tmp_path(&dir, "out.safetensors"), "original");
    assert_eq!(restored["grid"].values(), values);
}

#[test]
fn finer_granularities_stay_within_half_a_step_of_each_block() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    let values = weights(24 * 96, 21, false);
    write_safetensors(&input, &[Tensor::f32("w", &[24, 96], &values)]);
    for (granularity, block_len) in [("channel", 96usize), ("group:32", 32), ("group:40", 40)] {
        let entro = tmp_path(&dir, "w.entro");
        compress(
            &input,
            &entro,
            &["--bits", "4", "--granularity", granularity, "--force"],
        );
        let info = &inspect(&entro)["w"];
        let restored = decompress(&entro, &tmp_path(&dir, "w.safetensors"), "f32")["w"].values();
        std::fs::remove_file(tmp_path(&dir, "w.safetensors")).unwrap();
        let mut squared_error = 0.0f64;
        for (row, (xs, ys)) in values.chunks(96).zip(restored.chunks(96)).enumerate() {
            for (block, (bx, by)) in xs.chunks(block_len).zip(ys.chunks(block_len)).enumerate() {
                // The block's own min-max step, computed here.
                let lo = bx.iter().copied().fold(f32::INFINITY, f32::min).min(0.0);
                let hi = bx
                    .iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, f32::max)
                    .max(0.0);
                let step = (hi - lo) / 15.0;
                for (x, y) in bx.iter().zip(by) {
                    // Zero-point rounding may widen a step slightly.
                    assert!(
                        (x - y).abs() <= step * 0.5 * 1.1 + 1e-7,
                        "{granularity} row {row} block {block}: {x} vs {y}"
                    );
                    squared_error += f64::from(x - y).powi(2);
                }
            }
        }
        let squared_weight: f64 = values.iter().map(|&x| f64::from(x).powi(2)).sum();
        let rel_rms = (squared_error / squared_weight).sqrt();
        let recorded = info["rel_rms_error"].as_f64().unwrap();
        assert!(
            (rel_rms - recorded).abs() <= 1e-6 + recorded * 1e-4,
            "{granularity}: {rel_rms} vs {recorded}"
        );
    }
}

#[test]
fn verify_and_bench_report_on_an_intact_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    write_safetensors(&input, &checkpoint());
    let entro = tmp_path(&dir, "model.entro");
    compress(&input, &entro, &["--chunk-codes", "512"]);
    let verified = run(&["verify", path_str(&entro)]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(
        stdout(&verified).starts_with("ok: "),
        "{}",
        stdout(&verified)
    );

    let quantized_weights = 64 * 48 + 32 * 40 + 40 * 24 + 3 * 16 * 20;
    for (dtype, weights) in [
        ("codes", quantized_weights),
        // Float targets decode the whole model: the norm is converted, the integers copied.
        ("f32", quantized_weights + 48 + 5),
        ("bf16", quantized_weights + 48 + 5),
    ] {
        let result = run(&[
            "bench",
            path_str(&entro),
            "--repeat",
            "3",
            "--threads",
            "2",
            "--dtype",
            dtype,
            "--json",
        ]);
        assert!(result.status.success(), "{}", stderr(&result));
        let json: Value = serde_json::from_slice(&result.stdout).unwrap();
        assert_eq!(json["threads"], 2);
        assert_eq!(json["weights"], weights, "{dtype}");
        assert_eq!(json["dtype"], dtype);
        assert_eq!(json["runs"].as_array().unwrap().len(), 3);
        let seconds = json["seconds"].as_f64().unwrap();
        let rate = json["weights_per_second"].as_f64().unwrap();
        assert!(seconds > 0.0 && rate > 0.0);
        assert!((rate * seconds - f64::from(weights)).abs() < 1e-6 * f64::from(weights));
    }
    let text = run(&["bench", path_str(&entro), "--repeat", "1"]);
    assert!(text.status.success());
    assert!(stdout(&text).contains("median"), "{}", stdout(&text));
}

#[test]
fn decompress_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    write_safetensors(&input, &checkpoint());
    let entro = tmp_path(&dir, "model.entro");
    compress(&input, &entro, &[]);
    let result = run(&["decompress", path_str(&entro), "-o", path_str(&input)]);
    support::assert_error(&result, 1, &["already exists", "--force"]);
    let result = run(&[
        "decompress",
        path_str(&entro),
        "-o",
        path_str(&entro),
        "--force",
    ]);
    support::assert_error(&result, 1, &["also the input"]);
    // The source is untouched by both refusals.
    let source = read_safetensors(&input);
    assert_eq!(source["mixed.f32"].bytes, checkpoint()[0].bytes);
    let _ = decode_floats("F32", &source["mixed.f32"].bytes);
}
