//! Helpers for driving the built `entro` binary: tiny safetensors files
//! written and read by hand (independently of entro-format), and checks that
//! a folder holds no leftovers.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different subset of these helpers"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};

/// One tensor for a hand-written safetensors file.
#[derive(Debug, Clone)]
pub struct Tensor {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl Tensor {
    pub fn f32(name: &str, shape: &[usize], values: &[f32]) -> Self {
        assert_eq!(shape.iter().product::<usize>(), values.len());
        Self {
            name: name.to_owned(),
            dtype: "F32".to_owned(),
            shape: shape.to_vec(),
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    pub fn bf16(name: &str, shape: &[usize], values: &[f32]) -> Self {
        assert_eq!(shape.iter().product::<usize>(), values.len());
        Self {
            name: name.to_owned(),
            dtype: "BF16".to_owned(),
            shape: shape.to_vec(),
            bytes: values
                .iter()
                .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
                .collect(),
        }
    }

    pub fn raw(name: &str, dtype: &str, shape: &[usize], bytes: Vec<u8>) -> Self {
        Self {
            name: name.to_owned(),
            dtype: dtype.to_owned(),
            shape: shape.to_vec(),
            bytes,
        }
    }

    /// The values, widened to f32 (F32, F16 and BF16 only).
    pub fn values(&self) -> Vec<f32> {
        decode_floats(&self.dtype, &self.bytes)
    }
}

pub fn decode_floats(dtype: &str, bytes: &[u8]) -> Vec<f32> {
    match dtype {
        "F32" => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        "F16" => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        "BF16" => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => panic!("not a float dtype: {other}"),
    }
}

/// Writes a safetensors file: 8-byte header length, JSON header, data.
pub fn write_safetensors(path: &Path, tensors: &[Tensor]) {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), json!({"format": "pt"}));
    let mut offset = 0usize;
    for t in tensors {
        let end = offset + t.bytes.len();
        header.insert(
            t.name.clone(),
            json!({"dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut json = serde_json::to_vec(&Value::Object(header)).unwrap();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&json);
    for t in tensors {
        file.extend_from_slice(&t.bytes);
    }
    std::fs::write(path, file).unwrap();
}

/// Reads a safetensors file written by anyone, checking the layout.
pub fn read_safetensors(path: &Path) -> BTreeMap<String, Tensor> {
    let file = std::fs::read(path).unwrap();
    let header_len = usize::try_from(u64::from_le_bytes(file[..8].try_into().unwrap())).unwrap();
    let header: Value = serde_json::from_slice(&file[8..8 + header_len]).unwrap();
    let data = &file[8 + header_len..];
    let mut out = BTreeMap::new();
    for (name, info) in header.as_object().unwrap() {
        if name == "__metadata__" {
            continue;
        }
        let offsets = info["data_offsets"].as_array().unwrap();
        let (start, end) = (as_usize(&offsets[0]), as_usize(&offsets[1]));
        let tensor = Tensor {
            name: name.clone(),
            dtype: info["dtype"].as_str().unwrap().to_owned(),
            shape: info["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(as_usize)
                .collect(),
            bytes: data[start..end].to_vec(),
        };
        out.insert(name.clone(), tensor);
    }
    out
}

fn as_usize(value: &Value) -> usize {
    usize::try_from(value.as_u64().unwrap()).unwrap()
}

/// The binary under test, with a fixed thread count so results do not depend on the machine.
pub fn entro() -> Command {
    let mut command = Command::cargo_bin("entro").unwrap();
    command.env_remove("RUST_LOG");
    command
}

/// Runs `entro` with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    entro().args(args).output().unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts the exit code and that stderr has a single `entro: error:` line containing every `needle`.
pub fn assert_error(output: &Output, code: i32, needles: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "stderr: {err}");
    let error_lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("entro: error:"))
        .collect();
    assert_eq!(error_lines.len(), 1, "one error line expected: {err}");
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
}

/// Names of the files in `dir` (hidden temporaries included).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Deterministic pseudo-random weights with a heavy tail and given sign pattern.
pub fn weights(count: usize, seed: u64, positive: bool) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..count)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            let mut x = (unit - 0.5) * 0.1;
            if i % 97 == 0 {
                x *= 8.0;
            }
            let x = if positive { x.abs() + 0.01 } else { x };
            // Narrowing to f32 is the point: these are f32 test weights.
            #[expect(clippy::cast_possible_truncation, reason = "f64 to f32 on purpose")]
            let x = x as f32;
            x
        })
        .collect()
}

pub fn tmp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
