//! Without a device: run the aarch64 `entro` under qemu-user as a functional check. Compress,
//! verify (one and several threads) and decompress on "aarch64", then compare with what the host
//! build makes of the same files. Emulated speed means nothing, so none is reported.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::report::{ModelInfo, Step, emulated_report};
use super::toolchain::{QEMU, SYSROOT};
use super::{Model, Options, write_report};
use crate::util;

/// Parameters of the synthetic model made when no `--model` is given: small, since emulation is
/// slow, but with every tensor shape of a llama block.
const SYNTHETIC_PARAMS: &str = "2000000";

/// Threads for the parallel verify when `--threads` is not given: more than one, so the parallel
/// decoder runs, whatever the build machine has.
const DEFAULT_PARALLEL_THREADS: &str = "4";

/// The two `entro` builds and the folder they work in.
struct Session<'a> {
    aarch64: &'a Path,
    host: &'a Path,
    work: PathBuf,
    steps: Vec<Step>,
}

impl Session<'_> {
    fn path(&self, name: &str) -> String {
        self.work.join(name).to_string_lossy().into_owned()
    }

    fn emulated(&self, args: &[&str]) -> Command {
        let mut command = Command::new(QEMU);
        command.arg("-L").arg(SYSROOT).arg(self.aarch64).args(args);
        command
    }

    fn host(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.host);
        command.args(args);
        command
    }

    /// Runs one step, records it under a short name, and fails with its output if it failed.
    fn check(&mut self, mut command: Command, what: &str) -> Result<()> {
        let line = util::display(&command)
            .replace(&*self.aarch64.to_string_lossy(), "entro[aarch64]")
            .replace(&*self.host.to_string_lossy(), "entro[host]")
            .replace(&*self.work.to_string_lossy(), "…");
        eprintln!("$ {line}");
        let output = util::output_of(&mut command)?;
        let ok = output.status.success();
        self.steps.push(Step { command: line, ok });
        if !ok {
            bail!(
                "{what} failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

/// Runs the check and writes the report; fails if any step failed or any output differs.
pub(crate) fn run(options: &Options, aarch64: &Path, host: &Path, out: &Path) -> Result<()> {
    let work = out.join("emulated");
    std::fs::create_dir_all(&work).with_context(|| format!("create {}", work.display()))?;
    let mut session = Session {
        aarch64,
        host,
        work,
        steps: Vec::new(),
    };
    let (source, description) = match &options.model {
        Model::Synthetic => {
            let input = session.path("synthetic.safetensors");
            let args = [
                "synth",
                "--params",
                SYNTHETIC_PARAMS,
                "--seed",
                "1",
                "--force",
                "-o",
            ];
            let mut synth = session.host(&args);
            synth.arg(&input);
            eprintln!("$ {}", util::display(&synth));
            let said = util::capture_stderr(&mut synth)?;
            (Some(input), super::describe_synthetic(&said, &args))
        }
        Model::Checkpoint(model) => (
            Some(model.to_string_lossy().into_owned()),
            model.display().to_string(),
        ),
        Model::Entro(model) => (None, model.display().to_string()),
    };
    let outcome = round_trip(&mut session, options, source.as_deref());
    let host_file = session.path("host.entro");
    let entro_bytes = std::fs::metadata(&host_file)
        .map(|meta| meta.len())
        .unwrap_or(0);
    let model = ModelInfo {
        source: description,
        entro_bytes,
    };
    let (identical_decode, identical_compress) = *outcome.as_ref().unwrap_or(&(false, false));
    let (json, md) = emulated_report(
        QEMU,
        &model,
        &session.steps,
        identical_decode,
        identical_compress,
    );
    write_report(out, &json, &md)?;
    outcome?;
    if !identical_decode {
        bail!(
            "the aarch64 build decoded differently from the host build; see {}",
            out.join("report.md").display()
        );
    }
    eprintln!(
        "emulated round trip OK: compress, verify and decompress under {QEMU} match the host \
         build (.entro files {}identical); no speed is measured under emulation",
        if identical_compress { "" } else { "NOT " }
    );
    Ok(())
}

/// The steps; returns whether every decompressed file matched the host's and whether the two
/// compressed files are identical.
fn round_trip(
    session: &mut Session<'_>,
    options: &Options,
    source: Option<&str>,
) -> Result<(bool, bool)> {
    let (arm_file, host_file) = (session.path("aarch64.entro"), session.path("host.entro"));
    let threads = options.threads.map(|n| n.to_string());
    let parallel = threads.as_deref().unwrap_or(DEFAULT_PARALLEL_THREADS);
    match (source, &options.model) {
        (Some(input), _) => {
            for (file, on_arm) in [(&arm_file, true), (&host_file, false)] {
                let args = [
                    "compress",
                    input,
                    "--force",
                    "-o",
                    file,
                    "--threads",
                    parallel,
                ];
                if on_arm {
                    session.check(session.emulated(&args), "compress on aarch64")?;
                } else {
                    session.check(session.host(&args), "compress on the host")?;
                }
            }
        }
        (None, Model::Entro(model)) => {
            std::fs::copy(model, &arm_file).context("copy the model")?;
            std::fs::copy(model, &host_file).context("copy the model")?;
        }
        (None, _) => bail!("no model to compress"),
    }
    let identical_compress = same_bytes(&arm_file, &host_file)?;
    let verify_one = session.emulated(&["verify", &arm_file, "--threads", "1"]);
    session.check(verify_one, "verify on aarch64 (1 thread)")?;
    let verify_many = session.emulated(&["verify", &host_file, "--threads", parallel]);
    session.check(verify_many, "verify on aarch64 (several threads)")?;
    // The deployment path (compressed on the host, decoded on the device), and the reverse.
    let mut identical_decode = true;
    for (file, tag) in [(&host_file, "host"), (&arm_file, "aarch64")] {
        let on_arm = session.path(&format!("{tag}-decoded-on-aarch64.safetensors"));
        let on_host = session.path(&format!("{tag}-decoded-on-host.safetensors"));
        let decompress = session.emulated(&["decompress", file, "--force", "-o", &on_arm]);
        session.check(decompress, "decompress on aarch64")?;
        let decompress = session.host(&["decompress", file, "--force", "-o", &on_host]);
        session.check(decompress, "decompress on the host")?;
        identical_decode &= same_bytes(&on_arm, &on_host)?;
    }
    Ok((identical_decode, identical_compress))
}

/// Whether two files hold the same bytes.
fn same_bytes(a: &str, b: &str) -> Result<bool> {
    let read = |path: &str| std::fs::read(path).with_context(|| format!("read {path}"));
    Ok(read(a)? == read(b)?)
}
