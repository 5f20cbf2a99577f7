//! `cargo xtask bench-jetson`: cross-build for aarch64 (Jetson boards run aarch64 Linux), then
//! benchmark on a device over ssh, or, with no device, run a functional check under qemu-user.

mod emulated;
mod remote;
mod report;
mod toolchain;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::util::{self, Flags};

/// The Rust target of Jetson boards (and of most aarch64 Linux devices).
pub(crate) const TARGET: &str = "aarch64-unknown-linux-gnu";

/// Environment variable naming the device when `--host` is not given.
const HOST_VARIABLE: &str = "ENTRO_JETSON_HOST";

pub(crate) const USAGE: &str = "\
usage: cargo xtask bench-jetson [--host <user@addr>] [--model <path>] [--threads <N>]
                                [--dtype codes|f32|f16|bf16] [--repeat <K>]
                                [--remote-dir <dir>] [--no-benches]

Cross-builds entro and the criterion benchmarks for aarch64-unknown-linux-gnu.
  With --host (or ENTRO_JETSON_HOST): copies entro, the benchmarks and the model to
    <remote-dir> (default entro-bench, under the remote home) with scp, runs
    `entro bench --json` there at 1 thread and at N threads (default: all cores),
    and writes target/bench-jetson/report.{json,md} with uname -a, cores and memory.
  Without a host: runs the aarch64 entro under qemu-aarch64 (compress, verify with
    1 and N threads, decompress) and checks the output is byte-identical to the host
    build's; the report is labelled EMULATED and gives no speed.
--model: a .entro file, or a checkpoint (.safetensors, index.json or folder) that the
  host entro compresses; default: a synthetic llama-shaped model.";

/// Which model to use.
#[derive(Debug)]
pub(crate) enum Model {
    /// Generate one with `entro synth`.
    Synthetic,
    /// A checkpoint to compress first.
    Checkpoint(PathBuf),
    /// An already compressed file.
    Entro(PathBuf),
}

/// Parsed command line.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) host: Option<String>,
    pub(crate) model: Model,
    pub(crate) threads: Option<u32>,
    pub(crate) dtype: String,
    pub(crate) repeat: u32,
    pub(crate) remote_dir: String,
    pub(crate) benches: bool,
}

impl Options {
    fn parse(args: &[String], host_from_env: Option<String>) -> Result<Self> {
        let flags = Flags::parse(
            args,
            &[
                "--host",
                "--model",
                "--threads",
                "--dtype",
                "--repeat",
                "--remote-dir",
            ],
            &["--no-benches"],
        )?;
        let model = match flags.value("--model") {
            None => Model::Synthetic,
            Some(path) if path.ends_with(".entro") => Model::Entro(PathBuf::from(path)),
            Some(path) => Model::Checkpoint(PathBuf::from(path)),
        };
        let threads = match flags.number("--threads")? {
            Some(0) => bail!("--threads must be at least 1"),
            Some(n) => Some(u32::try_from(n).context("--threads is too large")?),
            None => None,
        };
        let dtype = flags.value("--dtype").unwrap_or("codes").to_owned();
        if !["codes", "f32", "f16", "bf16"].contains(&dtype.as_str()) {
            bail!("--dtype must be codes, f32, f16 or bf16, got `{dtype}`");
        }
        let repeat = u32::try_from(flags.number("--repeat")?.unwrap_or(5))
            .context("--repeat is too large")?;
        let host = flags
            .value("--host")
            .map(str::to_owned)
            .or(host_from_env)
            .filter(|host| !host.is_empty());
        Ok(Self {
            host,
            model,
            threads,
            dtype,
            repeat: repeat.max(1),
            remote_dir: flags
                .value("--remote-dir")
                .unwrap_or("entro-bench")
                .to_owned(),
            benches: !flags.switch("--no-benches"),
        })
    }
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = Options::parse(args, std::env::var(HOST_VARIABLE).ok())?;
    let root = util::workspace_root();
    if let Model::Checkpoint(path) | Model::Entro(path) = &options.model
        && !path.exists()
    {
        bail!("--model {} does not exist", path.display());
    }
    // Check everything that can be missing before the long builds.
    toolchain::check_cross()?;
    if options.host.is_none() {
        toolchain::check_emulator()?;
    }
    let out = util::target_dir(&root).join("bench-jetson");
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    let host_entro = toolchain::host_build(&root)?;
    let build = toolchain::cross_build(&root, options.benches)?;
    match &options.host {
        Some(host) => remote::run(&options, host, &build, &host_entro, &out),
        None => emulated::run(&options, &build.entro, &host_entro, &out),
    }?;
    eprintln!("report: {}", out.join("report.md").display());
    Ok(())
}

/// Describes a synthetic model by what `entro synth` said about it ("synthetic llama, 1 layers,
/// 30.77 M parameters, ...") and the command that made it.
fn describe_synthetic(said: &str, args: &[&str]) -> String {
    let summary = said
        .lines()
        .rev()
        .find_map(|line| line.split_once(": "))
        .map(|(_, what)| what.trim());
    let command = format!("`entro {}`", args[..args.len().saturating_sub(2)].join(" "));
    match summary {
        Some(what) if !what.is_empty() => format!("{what} ({command})"),
        _ => format!("synthetic llama-shaped model ({command})"),
    }
}

/// Writes `report.json` and `report.md` into `out`.
fn write_report(out: &Path, json: &Value, markdown: &str) -> Result<()> {
    let json_path = out.join("report.json");
    let text = serde_json::to_string_pretty(json).context("serialize the report")?;
    std::fs::write(&json_path, text + "\n")
        .with_context(|| format!("write {}", json_path.display()))?;
    let md_path = out.join("report.md");
    std::fs::write(&md_path, markdown).with_context(|| format!("write {}", md_path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str], env: Option<&str>) -> Result<Options> {
        let args: Vec<String> = list.iter().map(|arg| (*arg).to_owned()).collect();
        Options::parse(&args, env.map(str::to_owned))
    }

    #[test]
    fn defaults_and_environment() {
        let options = parse(&[], None).unwrap();
        assert!(options.host.is_none());
        assert!(matches!(options.model, Model::Synthetic));
        assert_eq!((options.dtype.as_str(), options.repeat), ("codes", 5));
        assert_eq!(
            parse(&[], Some("me@orin")).unwrap().host.as_deref(),
            Some("me@orin")
        );
        assert!(parse(&[], Some("")).unwrap().host.is_none());
        let options = parse(&["--host", "a@b", "--threads", "6"], Some("me@orin")).unwrap();
        assert_eq!(
            (options.host.as_deref(), options.threads),
            (Some("a@b"), Some(6))
        );
    }

    #[test]
    fn models_by_extension() {
        assert!(matches!(
            parse(&["--model", "m.entro"], None).unwrap().model,
            Model::Entro(_)
        ));
        assert!(matches!(
            parse(&["--model", "dir"], None).unwrap().model,
            Model::Checkpoint(_)
        ));
    }

    #[test]
    fn synthetic_models_are_described_by_what_synth_said() {
        let args = ["synth", "--params", "5", "--seed", "1", "--force", "-o"];
        let said = "wrote /t/s.safetensors: synthetic llama, 1 layers, 30.77 M parameters\n";
        assert_eq!(
            describe_synthetic(said, &args),
            "synthetic llama, 1 layers, 30.77 M parameters (`entro synth --params 5 --seed 1`)"
        );
        assert_eq!(
            describe_synthetic("", &args),
            "synthetic llama-shaped model (`entro synth --params 5 --seed 1`)"
        );
    }

    #[test]
    fn bad_options_are_errors() {
        assert!(parse(&["--threads", "0"], None).is_err());
        assert!(parse(&["--dtype", "f64"], None).is_err());
        assert!(parse(&["--frobnicate"], None).is_err());
    }
}
