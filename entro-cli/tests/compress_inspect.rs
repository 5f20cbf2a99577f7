//! `entro compress` and `entro inspect` driven as a user would, plus every
//! bad input `compress` must refuse cleanly.

mod support;

use serde_json::Value;
use support::{
    Tensor, assert_error, files_in, path_str, run, stderr, stdout, tmp_path, weights,
    write_safetensors,
};

/// A small llama-like checkpoint: a mixed-sign matrix, an all-positive one,
/// an all-negative one, a norm vector and an integer tensor.
fn checkpoint() -> Vec<Tensor> {
    let negative: Vec<f32> = weights(64 * 48, 3, true).iter().map(|w| -w).collect();
    vec![
        Tensor::bf16(
            "model.embed_tokens.weight",
            &[96, 64],
            &weights(96 * 64, 1, false),
        ),
        Tensor::f32(
            "model.layers.0.mlp.up_proj.weight",
            &[48, 64],
            &weights(48 * 64, 2, true),
        ),
        Tensor::f32("model.layers.0.mlp.down_proj.weight", &[64, 48], &negative),
        Tensor::bf16("model.norm.weight", &[64], &weights(64, 4, true)),
        Tensor::raw(
            "model.position_ids",
            "I64",
            &[2, 4],
            (0..8i64).flat_map(|i| i.to_le_bytes()).collect(),
        ),
    ]
}

fn inspect_json(path: &std::path::Path) -> Value {
    let output = run(&["inspect", path_str(path), "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("inspect --json prints one JSON object")
}

#[test]
fn inspect_json_reports_the_documented_fields_and_chosen_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    write_safetensors(&input, &checkpoint());
    let output_path = tmp_path(&dir, "model.entro");
    let output = run(&[
        "compress",
        path_str(&input),
        "-o",
        path_str(&output_path),
        "--threads",
        "2",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    let report = inspect_json(&output_path);
    let tensors = report["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), 5);
    for t in tensors {
        for key in [
            "name",
            "shape",
            "dtype",
            "encoding",
            "bits",
            "scheme",
            "entropy_bits",
            "coded_bits",
        ] {
            assert!(t.get(key).is_some(), "tensor lacks `{key}`: {t}");
        }
    }
    let by_name = |name: &str| tensors.iter().find(|t| t["name"] == name).unwrap().clone();
    let embed = by_name("model.embed_tokens.weight");
    assert_eq!(embed["encoding"], "quantized");
    assert_eq!(embed["scheme"], "asymmetric");
    assert_eq!(embed["bits"], 8);
    assert_eq!(embed["dtype"], "BF16");
    assert_eq!(embed["shape"], serde_json::json!([96, 64]));
    let entropy = embed["entropy_bits"].as_f64().unwrap();
    let coded = embed["coded_bits"].as_f64().unwrap();
    assert!(entropy > 0.0 && entropy <= 8.0, "{entropy}");
    assert!(
        coded >= entropy * 0.99,
        "Huffman cannot beat the entropy: {coded} < {entropy}"
    );
    assert_eq!(
        by_name("model.layers.0.mlp.up_proj.weight")["scheme"],
        "unsigned"
    );
    let down = by_name("model.layers.0.mlp.down_proj.weight");
    assert_eq!(down["scheme"], "unsigned");
    assert_eq!(down["negated"], true);
    for kept in ["model.norm.weight", "model.position_ids"] {
        let t = by_name(kept);
        assert_eq!(t["encoding"], "raw", "{kept}");
        assert_eq!(t["scheme"], Value::Null);
    }

    let total = &report["total"];
    for key in [
        "weights",
        "compressed_bytes",
        "file_bytes",
        "bits_per_weight",
    ] {
        assert!(total.get(key).is_some(), "total lacks `{key}`");
    }
    let weights = 96 * 64 + 48 * 64 + 64 * 48 + 64 + 8;
    assert_eq!(total["weights"], weights);
    let file_bytes = std::fs::metadata(&output_path).unwrap().len();
    assert_eq!(total["file_bytes"], file_bytes);
    let bpw = total["bits_per_weight"].as_f64().unwrap();
    assert!((bpw - file_bytes as f64 * 8.0 / f64::from(weights)).abs() < 1e-9);
    assert!(total["compressed_bytes"].as_u64().unwrap() < file_bytes);

    // The settings are recorded in the file.
    assert_eq!(report["settings"]["bits"], "8");
    assert_eq!(report["settings"]["granularity"], "tensor");

    // The human table names every tensor and the totals.
    let text = run(&["inspect", path_str(&output_path)]);
    assert!(text.status.success());
    let text = stdout(&text);
    for t in checkpoint() {
        assert!(text.contains(&t.name), "{text}");
    }
    for needle in ["vs fp16", "vs uint8", "vs uint4", "bits/weight", "rel RMS"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[test]
fn settings_flags_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    write_safetensors(&input, &checkpoint());
    let out = tmp_path(&dir, "g.entro");
    let output = run(&[
        "compress",
        path_str(&input),
        "-o",
        path_str(&out),
        "--bits",
        "4",
        "--granularity",
        "group:32",
        "--scheme",
        "symmetric",
        "--keep",
        "*.embed_tokens.*",
        "--chunk-codes",
        "512",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = inspect_json(&out);
    let tensors = report["tensors"].as_array().unwrap();
    let embed = &tensors[0];
    assert_eq!(embed["encoding"], "raw", "--keep keeps the embedding");
    let up = tensors
        .iter()
        .find(|t| t["name"] == "model.layers.0.mlp.up_proj.weight")
        .unwrap();
    assert_eq!(up["bits"], 4);
    assert_eq!(up["scheme"], "symmetric");
    assert_eq!(up["granularity"], "group:32");
    assert_eq!(up["blocks"], 48 * 64 / 32);
    assert_eq!(up["chunks"], (48 * 64usize).div_ceil(512));
}

#[test]
fn sharded_checkpoints_open_by_index_or_folder() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = checkpoint();
    write_safetensors(
        &tmp_path(&dir, "model-00001-of-00002.safetensors"),
        &tensors[..2],
    );
    write_safetensors(
        &tmp_path(&dir, "model-00002-of-00002.safetensors"),
        &tensors[2..],
    );
    let mut weight_map = serde_json::Map::new();
    for (i, t) in tensors.iter().enumerate() {
        let shard = if i < 2 { 1 } else { 2 };
        weight_map.insert(
            t.name.clone(),
            format!("model-0000{shard}-of-00002.safetensors").into(),
        );
    }
    let index = serde_json::json!({"metadata": {"total_size": 0}, "weight_map": weight_map});
    let index_path = tmp_path(&dir, "model.safetensors.index.json");
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();

    let out_dir = tempfile::tempdir().unwrap();
    for (input, name) in [
        (index_path.clone(), "a.entro"),
        (dir.path().to_path_buf(), "b.entro"),
    ] {
        let out = tmp_path(&out_dir, name);
        let output = run(&["compress", path_str(&input), "-o", path_str(&out)]);
        assert!(output.status.success(), "{}", stderr(&output));
        let report = inspect_json(&out);
        let names: Vec<&str> = report["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        // The index's order (serde_json writes the weight map sorted, as Hugging Face does).
        let mut expected: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
        expected.sort_unstable();
        assert_eq!(names, expected);
    }
}

#[test]
fn large_errors_are_warned_about_and_quiet_silences_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    // The outliers (one weight in 97 is 8x larger) make one scale per tensor coarse at 4 bits.
    let values = weights(64 * 64, 9, false);
    write_safetensors(&input, &[Tensor::f32("blk.w", &[64, 64], &values)]);
    let out = tmp_path(&dir, "w.entro");
    let output = run(&[
        "compress",
        path_str(&input),
        "-o",
        path_str(&out),
        "--bits",
        "4",
    ]);
    assert!(output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("warning: tensor `blk.w`: relative RMS error"),
        "{err}"
    );
    assert!(
        err.contains("--granularity"),
        "a finer granularity is suggested: {err}"
    );
    // Piped stderr: no progress bar drawing.
    assert!(!err.contains('\r') && !err.contains("\u{1b}["), "{err:?}");

    let output = run(&[
        "-q",
        "compress",
        path_str(&input),
        "-o",
        path_str(&out),
        "--bits",
        "4",
        "--force",
    ]);
    assert!(output.status.success());
    assert_eq!(stderr(&output), "", "-q prints nothing on success");

    // A finer granularity brings the error down and the warning goes away.
    let output = run(&[
        "compress",
        path_str(&input),
        "-o",
        path_str(&out),
        "--bits",
        "4",
        "--force",
        "--granularity",
        "group:16",
    ]);
    assert!(output.status.success());
    let err = stderr(&output);
    assert!(!err.contains("relative RMS error"), "{err}");
    let report = inspect_json(&out);
    assert!(report["tensors"][0]["rel_rms_error"].as_f64().unwrap() < 0.10);
}

#[test]
fn existing_output_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    write_safetensors(&input, &checkpoint());
    let out = tmp_path(&dir, "model.entro");
    std::fs::write(&out, b"precious").unwrap();
    let output = run(&["compress", path_str(&input), "-o", path_str(&out)]);
    assert_error(&output, 1, &["already exists", "--force"]);
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let output = run(&[
        "compress",
        path_str(&input),
        "-o",
        path_str(&out),
        "--force",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_ne!(std::fs::read(&out).unwrap(), b"precious");
}

#[test]
fn a_missing_input_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = tmp_path(&dir, "nope.safetensors");
    let out = tmp_path(&dir, "out.entro");
    let output = run(&["compress", path_str(&missing), "-o", path_str(&out)]);
    assert_error(&output, 1, &["nope.safetensors"]);
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn a_nan_weight_fails_naming_file_tensor_and_index_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    let mut values = weights(32 * 32, 5, false);
    values[77] = f32::NAN;
    let mut tensors = checkpoint();
    tensors.push(Tensor::f32(
        "model.layers.0.self_attn.q_proj.weight",
        &[32, 32],
        &values,
    ));
    write_safetensors(&input, &tensors);
    let out = tmp_path(&dir, "model.entro");
    let output = run(&["compress", path_str(&input), "-o", path_str(&out)]);
    assert_error(
        &output,
        1,
        &[
            "model.safetensors",
            "model.layers.0.self_attn.q_proj.weight",
            "index 77",
            "NaN",
        ],
    );
    assert_eq!(
        files_in(dir.path()),
        vec!["model.safetensors"],
        "no output, no temporary file"
    );
}

#[test]
fn an_unsupported_dtype_fails_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    let f64_bytes: Vec<u8> = (0..16).flat_map(|i| f64::from(i).to_le_bytes()).collect();
    let mut tensors = checkpoint();
    tensors.push(Tensor::raw(
        "model.lm_head.weight",
        "F64",
        &[4, 4],
        f64_bytes.clone(),
    ));
    write_safetensors(&input, &tensors);
    let out = tmp_path(&dir, "model.entro");
    let output = run(&["compress", path_str(&input), "-o", path_str(&out)]);
    assert_error(&output, 1, &["model.lm_head.weight", "F64", "--keep"]);
    assert_eq!(files_in(dir.path()), vec!["model.safetensors"]);

    let output = run(&[
        "compress",
        path_str(&input),
        "-o",
        path_str(&out),
        "--keep",
        "model.lm_head.weight",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = inspect_json(&out);
    let head = report["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "model.lm_head.weight")
        .unwrap()
        .clone();
    assert_eq!(head["encoding"], "raw");
    assert_eq!(head["dtype"], "F64");
}

#[test]
fn malformed_safetensors_is_a_clear_failure() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "broken.safetensors");
    write_safetensors(&input, &checkpoint());
    let bytes = std::fs::read(&input).unwrap();
    std::fs::write(&input, &bytes[..bytes.len() - 3]).unwrap();
    let out = tmp_path(&dir, "out.entro");
    let output = run(&["compress", path_str(&input), "-o", path_str(&out)]);
    assert_error(&output, 1, &["broken.safetensors"]);
    assert_eq!(files_in(dir.path()), vec!["broken.safetensors"]);
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    write_safetensors(&input, &checkpoint());
    let out = tmp_path(&dir, "out.entro");
    let (input, out) = (path_str(&input), path_str(&out));
    let unknown = run(&["compress", input, "-o", out, "--frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("--frobnicate"));
    for bad in [
        &["compress", input, "-o", out, "--bits", "9"][..],
        &["compress", input, "-o", out, "--granularity", "group:0"],
        &["compress", input, "-o", out, "--scheme", "signed"],
        &["compress", input, "-o", out, "--threads", "0"],
        &["compress", input],
        &["frobnicate"],
    ] {
        let output = run(bad);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{bad:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(files_in(dir.path()), vec!["model.safetensors"]);
}

#[test]
fn inspect_refuses_files_that_are_not_entro() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp_path(&dir, "model.safetensors");
    write_safetensors(&input, &checkpoint());
    let output = run(&["inspect", path_str(&input)]);
    assert_error(&output, 1, &[]);
    let output = run(&["inspect", path_str(&tmp_path(&dir, "missing.entro"))]);
    assert_error(&output, 1, &["missing.entro"]);
}
