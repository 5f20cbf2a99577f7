//! `entro eval` and `entro compress --preset` on tiny random llama and BERT folders.

mod support;

use std::path::Path;

use entro_eval::synthetic::{tiny_text, write_tiny_bert, write_tiny_llama};
use serde_json::Value;
use support::{run, stderr, stdout};

fn compress(model: &Path, output: &Path, flags: &[&str]) {
    let mut args = vec![
        "compress",
        model.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "-q",
    ];
    args.extend_from_slice(flags);
    let result = run(&args);
    assert!(result.status.success(), "{}", stderr(&result));
}

#[test]
fn llama_perplexity_for_the_original_and_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    write_tiny_llama(&model, 1).unwrap();
    let text = dir.path().join("text.txt");
    std::fs::write(&text, tiny_text(200, 2)).unwrap();
    let eight = dir.path().join("eight.entro");
    let compact = dir.path().join("compact.entro");
    compress(&model, &eight, &["--bits", "8"]);
    compress(&model, &compact, &["--preset", "compact"]);
    // A causal model calibrates on the text in windows.
    let calibrated = dir.path().join("calibrated.entro");
    let result = run(&[
        "compress",
        model.to_str().unwrap(),
        "-o",
        calibrated.to_str().unwrap(),
        "--preset",
        "compact",
        "--calibration",
        text.to_str().unwrap(),
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("calibrated 14 linear layers"),
        "{}",
        stderr(&result)
    );

    let args = |json: bool| {
        let mut args = vec![
            "eval",
            "--model",
            model.to_str().unwrap(),
            "--text",
            text.to_str().unwrap(),
            "--entro",
            eight.to_str().unwrap(),
            "--entro",
            compact.to_str().unwrap(),
            "--window",
            "64",
        ];
        if json {
            args.push("--json");
        }
        args
    };
    let result = run(&args(true));
    assert!(result.status.success(), "{}", stderr(&result));
    let report: Value = serde_json::from_str(&stdout(&result)).unwrap();
    assert_eq!(report["metric"], "perplexity");
    assert_eq!(report["architecture"], "llama");
    assert_eq!(report["scored"], 199);
    let rows = report["results"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["name"], "original");
    assert_eq!(rows[0]["change_percent"], 0.0);
    assert!((rows[0]["bits_per_weight"].as_f64().unwrap() - 16.0).abs() < 0.5);
    for row in &rows[1..] {
        let bits = row["bits_per_weight"].as_f64().unwrap();
        assert!(bits > 1.0 && bits < 12.0, "{row}");
        let perplexity = row["perplexity"].as_f64().unwrap();
        assert!(perplexity.is_finite() && perplexity > 1.0, "{row}");
        assert_ne!(row["perplexity"], rows[0]["perplexity"]);
    }

    let result = run(&args(false));
    assert!(result.status.success(), "{}", stderr(&result));
    let table = stdout(&result);
    assert!(
        table.contains("bits/weight") && table.contains("perplexity"),
        "{table}"
    );
    assert!(
        table.contains("original") && table.contains("compact.entro"),
        "{table}"
    );
}

#[test]
fn bert_embedding_fidelity() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    write_tiny_bert(&model, 4).unwrap();
    let text = dir.path().join("lines.txt");
    let lines: String = (0..6).map(|i| tiny_text(4 + i, i as u64) + "\n").collect();
    std::fs::write(&text, lines).unwrap();
    let file = dir.path().join("fidelity.entro");
    compress(&model, &file, &["--preset", "fidelity"]);
    let calibrated = dir.path().join("calibrated.entro");
    compress(
        &model,
        &calibrated,
        &[
            "--preset",
            "fidelity",
            "--calibration",
            text.to_str().unwrap(),
        ],
    );
    assert_ne!(
        std::fs::read(&file).unwrap(),
        std::fs::read(&calibrated).unwrap(),
        "calibration changes the rounding"
    );
    let result = run(&["inspect", calibrated.to_str().unwrap()]);
    assert!(
        stdout(&result).contains("calibration=lines.txt"),
        "{}",
        stdout(&result)
    );
    let result = run(&[
        "eval",
        "--json",
        "--lines",
        "5",
        "--model",
        model.to_str().unwrap(),
        "--text",
        text.to_str().unwrap(),
        "--entro",
        file.to_str().unwrap(),
        "--entro",
        calibrated.to_str().unwrap(),
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    let report: Value = serde_json::from_str(&stdout(&result)).unwrap();
    assert_eq!(report["metric"], "embedding_cosine");
    assert_eq!(report["scored"], 5);
    let rows = report["results"].as_array().unwrap();
    assert_eq!(rows[0]["mean_cosine"], 1.0);
    for row in &rows[1..] {
        let cosine = row["mean_cosine"].as_f64().unwrap();
        assert!(cosine > 0.9 && cosine < 1.0, "{cosine}");
        assert!(row["min_cosine"].as_f64().unwrap() <= cosine);
    }
}

#[test]
fn bad_eval_and_preset_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_llama(dir.path(), 1).unwrap();
    let model = dir.path().to_str().unwrap();
    let text = dir.path().join("config.json");
    let result = run(&[
        "eval",
        "--model",
        model,
        "--text",
        text.to_str().unwrap(),
        "--window",
        "0",
    ]);
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    let output = dir.path().join("x.entro");
    let result = run(&[
        "compress",
        model,
        "-o",
        output.to_str().unwrap(),
        "--preset",
        "nope",
    ]);
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    assert!(stderr(&result).contains("fidelity"));
    let result = run(&[
        "compress",
        model,
        "-o",
        output.to_str().unwrap(),
        "--preset",
        "compact",
        "--bits",
        "4",
    ]);
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    // Calibration tunes a preset, and runs the model: it needs the model folder.
    let result = run(&[
        "compress",
        model,
        "-o",
        output.to_str().unwrap(),
        "--calibration",
        text.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    let weights = dir.path().join("model.safetensors");
    let result = run(&[
        "compress",
        weights.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--preset",
        "fidelity",
        "--calibration",
        text.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(1), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("model folder"),
        "{}",
        stderr(&result)
    );
    assert!(!output.exists());
    // A preset quantizes; lossless mode does not: asking for both is a usage error.
    let result = run(&[
        "compress",
        model,
        "-o",
        output.to_str().unwrap(),
        "--preset",
        "fidelity",
        "--lossless",
    ]);
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("--lossless"),
        "{}",
        stderr(&result)
    );
    assert!(!output.exists());
    let missing = dir.path().join("absent");
    let result = run(&[
        "eval",
        "--model",
        missing.to_str().unwrap(),
        "--text",
        text.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(1), "{}", stderr(&result));
}
