//! With a device: copy `entro`, the benchmarks and the model over scp, describe the device, run
//! `entro bench --json` at one thread and at all threads, and write the report.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::report::{BenchRun, DeviceInfo, ModelInfo, device_report};
use super::toolchain::CrossBuild;
use super::{Model, Options, write_report};
use crate::util::{self, quote};

/// Separates the outputs of the commands that describe the device (one ssh round trip).
const MARKER: &str = "@@entro-bench-jetson@@";

/// Parameters of the synthetic model benchmarked when no `--model` is given (the demo's size).
const SYNTHETIC_PARAMS: &str = "100000000";

/// Prepares the model, runs the benchmarks on `host` and writes the report.
pub(crate) fn run(
    options: &Options,
    host: &str,
    build: &CrossBuild,
    host_entro: &Path,
    out: &Path,
) -> Result<()> {
    let (model_file, source) = local_model(options, host_entro, out)?;
    let entro_bytes = std::fs::metadata(&model_file)
        .with_context(|| format!("read {}", model_file.display()))?
        .len();

    let device = describe(host)?;
    eprintln!(
        "device: {} ({} cores, {} bytes of memory)",
        device.uname, device.cores, device.memory_bytes
    );
    let dir = options.remote_dir.as_str();
    ssh(host, &format!("mkdir -p {}", quote(dir)))?;
    let mut copy = Command::new("scp");
    copy.args(["-q", "-o", "ConnectTimeout=15"])
        .arg(&build.entro)
        .arg(&model_file);
    copy.args(&build.benches);
    copy.arg(format!("{host}:{dir}/"));
    util::run(&mut copy)?;
    if !build.benches.is_empty() {
        eprintln!(
            "copied {} criterion benchmark(s) to {host}:{dir}/ (run one with `<name> --bench`)",
            build.benches.len()
        );
    }

    let model_name = model_file
        .file_name()
        .context("model file name")?
        .to_string_lossy();
    let all = options.threads.unwrap_or(device.cores);
    let mut thread_counts = vec![1, all];
    thread_counts.dedup();
    let mut runs = Vec::new();
    for threads in thread_counts {
        let command = format!(
            "{dir}/entro bench --json --threads {threads} --repeat {repeat} --dtype {dtype} {dir}/{model}",
            dir = quote(dir),
            repeat = options.repeat,
            dtype = quote(&options.dtype),
            model = quote(&model_name),
        );
        let stdout = ssh(host, &command)?;
        runs.push(BenchRun::parse(threads, &stdout)?);
    }
    let model = ModelInfo {
        source,
        entro_bytes,
    };
    let (json, md) = device_report(host, &device, &model, &runs);
    write_report(out, &json, &md)?;
    print!("{md}");
    Ok(())
}

/// The `.entro` file to copy: the model itself, or one compressed here from a checkpoint or
/// from a synthetic model, with a description for the report.
fn local_model(
    options: &Options,
    host_entro: &Path,
    out: &Path,
) -> Result<(std::path::PathBuf, String)> {
    let compressed = out.join("model.entro");
    let compress = |input: &Path| {
        util::run(
            Command::new(host_entro)
                .arg("compress")
                .arg(input)
                .arg("--force")
                .arg("-o")
                .arg(&compressed),
        )
    };
    match &options.model {
        Model::Entro(path) => Ok((path.clone(), path.display().to_string())),
        Model::Checkpoint(path) => {
            compress(path)?;
            Ok((
                compressed.clone(),
                format!("{} (compressed with default settings)", path.display()),
            ))
        }
        Model::Synthetic => {
            let synthetic = out.join("synthetic.safetensors");
            let args = [
                "synth",
                "--params",
                SYNTHETIC_PARAMS,
                "--seed",
                "0",
                "--force",
                "-o",
            ];
            let mut synth = Command::new(host_entro);
            synth.args(args).arg(&synthetic);
            eprintln!("$ {}", util::display(&synth));
            let said = util::capture_stderr(&mut synth)?;
            compress(&synthetic)?;
            Ok((compressed.clone(), super::describe_synthetic(&said, &args)))
        }
    }
}

/// `uname -a`, `nproc`, `/proc/meminfo` and the device-tree model, in one ssh call.
fn describe(host: &str) -> Result<DeviceInfo> {
    let script = format!(
        "uname -a; echo {MARKER}; nproc; echo {MARKER}; cat /proc/meminfo; echo {MARKER}; \
         cat /proc/device-tree/model 2>/dev/null || true"
    );
    let stdout = ssh(host, &script)?;
    let parts: Vec<&str> = stdout.split(&format!("{MARKER}\n")).collect();
    let [uname, nproc, meminfo, model] = parts[..] else {
        anyhow::bail!("unexpected output describing {host}:\n{stdout}");
    };
    DeviceInfo::parse(uname, nproc, meminfo, model)
}

/// Runs a shell command on `host` and returns its stdout.
fn ssh(host: &str, command: &str) -> Result<String> {
    let mut ssh = Command::new("ssh");
    ssh.args(["-o", "ConnectTimeout=15", host, command]);
    eprintln!("$ {}", util::display(&ssh));
    util::capture(&mut ssh)
}
