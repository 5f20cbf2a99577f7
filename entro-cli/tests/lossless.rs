//! `compress --lossless` through the built binary: decompressing gives back every tensor byte for
//! byte, and inspect, verify and bench understand the file.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use entro_format::synthetic::{SyntheticModel, write_safetensors as write_synthetic};
use serde_json::Value;
use support::{
    Tensor, assert_error, path_str, read_safetensors, run, stderr, stdout, tmp_path, weights,
    write_safetensors,
};

/// F32 values of every special kind among ordinary weights.
fn special_f32(count: usize) -> Vec<f32> {
    let specials = [
        0x7fc0_0000u32,
        0xffc0_0001,
        0x7f80_0001,
        0x7fbf_ffff,
        0x0000_0000,
        0x8000_0000,
        0x7f80_0000,
        0xff80_0000,
        0x0000_0001,
        0x807f_ffff,
        0x7f7f_ffff,
    ];
    weights(count, 21, false)
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            if i % 7 == 3 {
                f32::from_bits(specials[(i / 7) % specials.len()])
            } else {
                w
            }
        })
        .collect()
}

fn compress(input: &Path, output: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "compress",
        path_str(input),
        "-o",
        path_str(output),
        "--lossless",
    ];
    args.extend_from_slice(extra);
    let result = run(&args);
    assert!(result.status.success(), "{}", stderr(&result));
    stderr(&result)
}

/// Decompresses to each tensor's original dtype and checks every tensor is byte-identical.
fn assert_restores(entro: &Path, source: &Path, dir: &tempfile::TempDir) {
    let restored = tmp_path(dir, "restored.safetensors");
    let result = run(&[
        "decompress",
        path_str(entro),
        "-o",
        path_str(&restored),
        "--dtype",
        "original",
        "--force",
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    let before = read_safetensors(source);
    let after = read_safetensors(&restored);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (name, tensor) in &before {
        let back = &after[name];
        assert_eq!(
            (&back.dtype, &back.shape),
            (&tensor.dtype, &tensor.shape),
            "{name}"
        );
        assert!(back.bytes == tensor.bytes, "{name} is not byte-identical");
    }
}

fn inspect(path: &Path) -> Value {
    let result = run(&["inspect", path_str(path), "--json"]);
    assert!(result.status.success(), "{}", stderr(&result));
    serde_json::from_slice(&result.stdout).unwrap()
}

fn encodings(report: &Value) -> BTreeMap<String, String> {
    report["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["encoding"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Writes a small synthetic BF16 llama as `model.safetensors` in `dir`.
fn small_bf16_model(dir: &tempfile::TempDir, seed: u64) -> (SyntheticModel, PathBuf) {
    let source = tmp_path(dir, "model.safetensors");
    let model = SyntheticModel {
        hidden: 64,
        intermediate: 160,
        layers: 2,
        vocab: 700,
        kv_fraction: 4,
        seed,
    };
    write_synthetic(&model, &source).unwrap();
    (model, source)
}

#[test]
fn a_synthetic_bf16_model_comes_back_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (model, source) = small_bf16_model(&dir, 5);
    let entro = tmp_path(&dir, "model.entro");
    let note = compress(
        &source,
        &entro,
        &["--threads", "2", "--chunk-elements", "4096"],
    );
    assert!(note.contains("lossless"), "{note}");
    assert_restores(&entro, &source, &dir);

    let report = inspect(&entro);
    assert!(encodings(&report).values().all(|e| e == "lossless"));
    let total = &report["total"];
    assert_eq!(
        total["lossless_tensors"],
        report["tensors"].as_array().unwrap().len()
    );
    let bits = total["lossless_bits_per_weight"].as_f64().unwrap();
    assert!(
        bits > 0.0 && bits < 16.0,
        "BF16 weights coded at {bits} bits"
    );
    assert_eq!(report["settings"]["mode"], "lossless");
    let text = stdout(&run(&["inspect", path_str(&entro)]));
    assert!(
        text.contains("lossless") && text.contains("bits/weight"),
        "{text}"
    );

    let verified = run(&["verify", path_str(&entro), "--threads", "2"]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(
        stdout(&verified).starts_with("ok:"),
        "{}",
        stdout(&verified)
    );

    let bench = run(&["bench", path_str(&entro), "--repeat", "2", "--json"]);
    assert!(bench.status.success(), "{}", stderr(&bench));
    let result: Value = serde_json::from_slice(&bench.stdout).unwrap();
    assert_eq!(result["dtype"], "original");
    assert_eq!(result["weights"].as_u64(), Some(model.param_count()));
    assert_eq!(
        result["output_bytes"].as_u64(),
        Some(2 * model.param_count())
    );
    let f32s = run(&["bench", path_str(&entro), "--repeat", "1", "--dtype", "f32"]);
    assert!(f32s.status.success(), "{}", stderr(&f32s));
    let codes = run(&[
        "bench",
        path_str(&entro),
        "--repeat",
        "1",
        "--dtype",
        "codes",
    ]);
    assert_error(
        &codes,
        1,
        &["model.embed_tokens.weight", "lossless", "codes"],
    );
}

#[test]
fn smallest_files_are_smaller_and_come_back_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (_, source) = small_bf16_model(&dir, 9);
    let (fast, smallest) = (tmp_path(&dir, "fast.entro"), tmp_path(&dir, "small.entro"));
    compress(&source, &fast, &["--chunk-elements", "4096"]);
    compress(
        &source,
        &smallest,
        &["--chunk-elements", "4096", "--smallest"],
    );
    assert_restores(&smallest, &source, &dir);
    let size = |path: &Path| std::fs::metadata(path).unwrap().len();
    assert!(
        size(&smallest) < size(&fast),
        "--smallest wrote {} bytes, the default {}",
        size(&smallest),
        size(&fast)
    );
    assert_eq!(inspect(&smallest)["settings"]["planes"], "smallest");
    assert!(inspect(&fast)["settings"].get("planes").is_none());
}

#[test]
fn f32_specials_and_other_dtypes_come_back_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let source = tmp_path(&dir, "model.safetensors");
    write_safetensors(
        &source,
        &[
            Tensor::f32("proj.weight", &[30, 41], &special_f32(30 * 41)),
            Tensor::f32("norm.weight", &[41], &weights(41, 3, true)),
            Tensor::f32("scale", &[], &[0.125]),
            Tensor::f32("empty", &[0, 4], &[]),
            Tensor::bf16("head.weight", &[7, 9, 3], &weights(189, 4, false)),
            Tensor::raw(
                "ids",
                "I64",
                &[3],
                (5..8i64).flat_map(i64::to_le_bytes).collect(),
            ),
            Tensor::raw(
                "wide",
                "F64",
                &[2],
                [1.5f64, -0.0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
        ],
    );
    let entro = tmp_path(&dir, "model.entro");
    compress(
        &source,
        &entro,
        &["--chunk-elements", "100", "--threads", "3"],
    );
    assert_restores(&entro, &source, &dir);
    let report = inspect(&entro);
    let encodings = encodings(&report);
    for name in ["proj.weight", "norm.weight", "scale", "head.weight"] {
        assert_eq!(encodings[name], "lossless", "{name}");
    }
    for name in ["ids", "wide", "empty"] {
        assert_eq!(encodings[name], "raw", "{name}");
    }
    let proj = report["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "proj.weight")
        .unwrap();
    assert_eq!(proj["chunks"], 13);
    assert_eq!(proj["bits"], 32);

    // Another dtype: the decoded values rounded to nearest.
    let halves = tmp_path(&dir, "bf16.safetensors");
    let result = run(&[
        "decompress",
        path_str(&entro),
        "-o",
        path_str(&halves),
        "--dtype",
        "bf16",
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    let restored = read_safetensors(&halves);
    let expected: Vec<u8> = special_f32(30 * 41)
        .iter()
        .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
        .collect();
    assert_eq!(restored["proj.weight"].dtype, "BF16");
    assert!(restored["proj.weight"].bytes == expected);
}

#[test]
fn lossless_refuses_quantization_flags() {
    let dir = tempfile::tempdir().unwrap();
    let source = tmp_path(&dir, "model.safetensors");
    write_safetensors(
        &source,
        &[Tensor::f32("w", &[4, 4], &weights(16, 1, false))],
    );
    let entro = tmp_path(&dir, "model.entro");
    for extra in [
        &["--bits", "4"][..],
        &["--granularity", "group:32"],
        &["--clip"],
        &["--scheme", "unsigned"],
    ] {
        let mut args = vec![
            "compress",
            path_str(&source),
            "-o",
            path_str(&entro),
            "--lossless",
        ];
        args.extend_from_slice(extra);
        let result = run(&args);
        assert_eq!(
            result.status.code(),
            Some(2),
            "{extra:?}: {}",
            stderr(&result)
        );
        assert!(!entro.exists());
    }
    let result = run(&[
        "compress",
        path_str(&source),
        "-o",
        path_str(&entro),
        "--lossless",
        "--chunk-elements",
        "0",
    ]);
    assert_error(&result, 2, &["--chunk-elements"]);
}

#[test]
fn a_damaged_lossless_chunk_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let source = tmp_path(&dir, "model.safetensors");
    write_safetensors(
        &source,
        &[Tensor::bf16("blk.0.w", &[64, 64], &weights(4096, 9, false))],
    );
    let entro = tmp_path(&dir, "model.entro");
    compress(&source, &entro, &["--chunk-elements", "1024"]);
    let info = inspect(&entro)["tensors"][0].clone();
    assert_eq!(info["chunks"], 4);
    let offset = usize::try_from(info["payload_offset"].as_u64().unwrap()).unwrap();
    let len = usize::try_from(info["payload_bytes"].as_u64().unwrap()).unwrap();
    let mut bytes = std::fs::read(&entro).unwrap();
    bytes[offset + len - 1] ^= 0x40;
    std::fs::write(&entro, bytes).unwrap();
    let result = run(&["verify", path_str(&entro)]);
    assert_error(&result, 1, &["model.entro", "blk.0.w", "chunk 3"]);
    let out = tmp_path(&dir, "restored.safetensors");
    let result = run(&["decompress", path_str(&entro), "-o", path_str(&out)]);
    assert_error(&result, 1, &["blk.0.w", "chunk 3"]);
    assert!(!out.exists());
}

/// BF16 weights in 32-weight blocks of `min + k * step` (`k` in 0..16, both ends used), as a
/// checkpoint dequantized from llama.cpp's Q4_1 holds them.
fn q4_1_blocks(count: usize) -> Vec<f32> {
    (0..count)
        .map(|index| {
            let block = index / 32;
            let step =
                half::f16::from_f32(0.002 + 0.0001 * f32::from(u8::try_from(block % 7).unwrap()))
                    .to_f32();
            let min = half::f16::from_f32(-step * f32::from(6 + u8::try_from(block % 4).unwrap()))
                .to_f32();
            let hash = u32::try_from(index).unwrap().wrapping_mul(2_654_435_761) >> 28;
            let level = match index % 32 {
                0 => 0,
                1 => 15,
                _ => u8::try_from(hash).unwrap(),
            };
            half::bf16::from_f32(min + f32::from(level) * step).to_f32()
        })
        .collect()
}

#[test]
fn presets_store_tensors_losslessly_where_that_is_smaller() {
    let dir = tempfile::tempdir().unwrap();
    let source = tmp_path(&dir, "model.safetensors");
    write_safetensors(
        &source,
        &[
            Tensor::bf16("blocks.weight", &[64, 128], &q4_1_blocks(64 * 128)),
            Tensor::f32("dense.weight", &[64, 128], &weights(64 * 128, 8, false)),
        ],
    );
    let entro = tmp_path(&dir, "model.entro");
    let result = run(&[
        "compress",
        path_str(&source),
        "-o",
        path_str(&entro),
        "--preset",
        "fidelity",
        "--verbose",
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("stored blocks.weight losslessly"),
        "{}",
        stderr(&result)
    );
    let report = inspect(&entro);
    let kinds = encodings(&report);
    assert_eq!(kinds["blocks.weight"], "lossless");
    assert_eq!(kinds["dense.weight"], "quantized");
    // Lossless tensors have no codes: bench decodes such a file to its own dtypes.
    let result = run(&["bench", path_str(&entro), "--repeat", "1", "--json"]);
    assert!(result.status.success(), "{}", stderr(&result));
    let bench: Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(bench["dtype"], "original");
    assert_eq!(bench["weights"], 2 * 64 * 128);

    let restored = tmp_path(&dir, "restored.safetensors");
    let result = run(&[
        "decompress",
        path_str(&entro),
        "-o",
        path_str(&restored),
        "--dtype",
        "original",
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    let (before, after) = (read_safetensors(&source), read_safetensors(&restored));
    assert!(after["blocks.weight"].bytes == before["blocks.weight"].bytes);
    assert!(after["dense.weight"].bytes != before["dense.weight"].bytes);

    // Without a preset the flags ask for one quantization, and get it.
    let plain = tmp_path(&dir, "plain.entro");
    let result = run(&[
        "compress",
        path_str(&source),
        "-o",
        path_str(&plain),
        "--granularity",
        "group:32",
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    assert!(
        encodings(&inspect(&plain))
            .values()
            .all(|e| e == "quantized")
    );
}
