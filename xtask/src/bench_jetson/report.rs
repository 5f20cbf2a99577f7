//! What a device reports about itself, and the JSON and markdown reports written under
//! `target/bench-jetson/`. Pure functions over command output, so they are tested on canned text.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The device a benchmark ran on, from `uname -a`, `nproc` and `/proc/meminfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceInfo {
    /// `uname -a`, trimmed.
    pub(crate) uname: String,
    /// Online cores (`nproc`).
    pub(crate) cores: u32,
    /// `MemTotal` in bytes.
    pub(crate) memory_bytes: u64,
    /// `/proc/device-tree/model` (e.g. "NVIDIA Jetson Orin Nano ..."), when the device has one.
    pub(crate) model: Option<String>,
}

impl DeviceInfo {
    /// Parses the outputs of `uname -a`, `nproc`, `cat /proc/meminfo` and (optionally)
    /// `cat /proc/device-tree/model`.
    pub(crate) fn parse(uname: &str, nproc: &str, meminfo: &str, model: &str) -> Result<Self> {
        let uname = uname.trim();
        if uname.is_empty() {
            bail!("`uname -a` printed nothing");
        }
        let cores: u32 = nproc
            .trim()
            .parse()
            .with_context(|| format!("`nproc` printed `{}`, not a core count", nproc.trim()))?;
        if cores == 0 {
            bail!("`nproc` printed 0");
        }
        // The device tree string ends in a NUL byte.
        let model = model.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        Ok(Self {
            uname: uname.to_owned(),
            cores,
            memory_bytes: mem_total_bytes(meminfo)?,
            model: (!model.is_empty()).then(|| model.to_owned()),
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "uname": self.uname,
            "cores": self.cores,
            "memory_bytes": self.memory_bytes,
            "model": self.model,
        })
    }
}

/// `MemTotal` from `/proc/meminfo`, in bytes.
pub(crate) fn mem_total_bytes(meminfo: &str) -> Result<u64> {
    let line = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .context("/proc/meminfo has no MemTotal line")?;
    let mut words = line.split_whitespace();
    let amount: u64 = words
        .next()
        .and_then(|word| word.parse().ok())
        .with_context(|| format!("cannot read MemTotal `{}`", line.trim()))?;
    let unit = match words.next() {
        Some("kB") => 1024,
        None => 1,
        Some(other) => bail!("unknown MemTotal unit `{other}`"),
    };
    amount.checked_mul(unit).context("MemTotal overflows")
}

/// One `entro bench --json` result, kept whole in the report.
#[derive(Debug, Clone)]
pub(crate) struct BenchRun {
    /// Threads asked for.
    pub(crate) threads: u32,
    /// The object `entro bench --json` printed.
    pub(crate) result: Value,
}

impl BenchRun {
    /// Parses the last non-empty line of `entro bench --json` output.
    pub(crate) fn parse(threads: u32, stdout: &str) -> Result<Self> {
        let line = stdout
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .context("`entro bench --json` printed nothing")?;
        let result: Value = serde_json::from_str(line)
            .with_context(|| format!("`entro bench --json` printed `{line}`, not JSON"))?;
        if !result.get("seconds").is_some_and(Value::is_number) {
            bail!("`entro bench --json` output has no `seconds` number: {line}");
        }
        Ok(Self { threads, result })
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.result.get(key).and_then(Value::as_f64)
    }
}

/// The model that was benchmarked.
#[derive(Debug, Clone)]
pub(crate) struct ModelInfo {
    /// Where it came from (a path, or a description of the synthetic model).
    pub(crate) source: String,
    /// Size of the `.entro` file in bytes.
    pub(crate) entro_bytes: u64,
}

/// The report of a run on a real device.
pub(crate) fn device_report(
    host: &str,
    device: &DeviceInfo,
    model: &ModelInfo,
    runs: &[BenchRun],
) -> (Value, String) {
    let json = json!({
        "mode": "device",
        "host": host,
        "target": super::TARGET,
        "device": device.to_json(),
        "model": { "source": model.source, "entro_bytes": model.entro_bytes },
        "runs": runs.iter().map(|run| json!({ "threads": run.threads, "bench": run.result })).collect::<Vec<_>>(),
    });
    let mut md = String::from("# entro decode benchmark on a device\n\n");
    md.push_str(&format!("- Host: `{host}`\n"));
    if let Some(name) = &device.model {
        md.push_str(&format!("- Device: {name}\n"));
    }
    md.push_str(&format!("- `uname -a`: `{}`\n", device.uname));
    md.push_str(&format!("- Cores: {}\n", device.cores));
    md.push_str(&format!("- Memory: {:.2} GiB\n", gib(device.memory_bytes)));
    md.push_str(&format!(
        "- Model: {} ({:.1} MiB .entro)\n\n",
        model.source,
        mib(model.entro_bytes)
    ));
    md.push_str(
        "| threads | output | median s | min s | max s | weights/s | GB/s written | speedup |\n",
    );
    md.push_str("|---:|---|---:|---:|---:|---:|---:|---:|\n");
    let single = runs
        .iter()
        .find(|run| run.threads == 1)
        .and_then(|run| run.number("seconds"));
    for run in runs {
        let seconds = run.number("seconds").unwrap_or(f64::NAN);
        let speedup = match single {
            Some(base) if seconds > 0.0 => format!("{:.2}x", base / seconds),
            _ => "-".to_owned(),
        };
        md.push_str(&format!(
            "| {} | {} | {:.4} | {:.4} | {:.4} | {:.3e} | {:.2} | {} |\n",
            run.threads,
            run.result
                .get("dtype")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            seconds,
            run.number("min_seconds").unwrap_or(f64::NAN),
            run.number("max_seconds").unwrap_or(f64::NAN),
            run.number("weights_per_second").unwrap_or(f64::NAN),
            run.number("output_bytes_per_second").unwrap_or(f64::NAN) / 1e9,
            speedup,
        ));
    }
    md.push_str("\nMedians of `entro bench --json` (whole-model decode; see the JSON report for every run).\n");
    (json, md)
}

/// One step of the emulated functional check.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// What was run, as a command line.
    pub(crate) command: String,
    /// Whether it succeeded.
    pub(crate) ok: bool,
}

/// The report of a functional check under qemu: which steps passed, file sizes, and no speed.
pub(crate) fn emulated_report(
    emulator: &str,
    model: &ModelInfo,
    steps: &[Step],
    identical_decode: bool,
    identical_compress: bool,
) -> (Value, String) {
    let passed = steps.iter().all(|step| step.ok) && identical_decode;
    let json = json!({
        "mode": "emulated",
        "note": "functional check under user-mode emulation; emulated timings say nothing about the device, so no speed is reported",
        "emulator": emulator,
        "target": super::TARGET,
        "model": { "source": model.source, "entro_bytes": model.entro_bytes },
        "steps": steps.iter().map(|step| json!({ "command": step.command, "ok": step.ok })).collect::<Vec<_>>(),
        "decompressed_identical_to_host": identical_decode,
        "compressed_identical_to_host": identical_compress,
        "passed": passed,
        "speed": Value::Null,
    });
    let mut md = String::from("# entro on aarch64: EMULATED functional check (no speed)\n\n");
    md.push_str(&format!(
        "The {} binary ran under `{emulator}`. Emulated timings say nothing about a real device, so \
         this report gives none; run `cargo xtask bench-jetson --host <user@addr>` for speed.\n\n",
        super::TARGET
    ));
    md.push_str(&format!(
        "- Model: {} ({:.2} MiB .entro)\n",
        model.source,
        mib(model.entro_bytes)
    ));
    md.push_str(&format!(
        "- Decompressed safetensors identical to the host build's: {}\n",
        yes_no(identical_decode)
    ));
    md.push_str(&format!(
        "- .entro file identical to the host build's compression: {}\n",
        yes_no(identical_compress)
    ));
    md.push_str(&format!(
        "- Result: **{}**\n\n| step | result |\n|---|---|\n",
        pass_fail(passed)
    ));
    for step in steps {
        md.push_str(&format!(
            "| `{}` | {} |\n",
            step.command,
            pass_fail(step.ok)
        ));
    }
    (json, md)
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "NO" }
}

fn pass_fail(ok: bool) -> &'static str {
    if ok { "pass" } else { "FAIL" }
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNAME: &str = "Linux orin 5.15.136-tegra #1 SMP PREEMPT Mon May 6 09:56:39 PDT 2024 aarch64 aarch64 aarch64 GNU/Linux\n";
    const MEMINFO: &str =
        "MemTotal:        7802064 kB\nMemFree:          331000 kB\nMemAvailable:    5100000 kB\n";
    const MODEL: &str = "NVIDIA Jetson Orin Nano Developer Kit\0";

    fn bench_json(threads: u32, seconds: f64) -> String {
        format!(
            "{{\"file\":\"/tmp/m.entro\",\"threads\":{threads},\"dtype\":\"codes\",\"repeat\":5,\"checksums\":true,\
             \"weights\":134515008,\"output_bytes\":134515008,\"file_bytes\":80000000,\"seconds\":{seconds},\
             \"weights_per_second\":{},\"output_bytes_per_second\":{},\"min_seconds\":{seconds},\
             \"max_seconds\":{seconds},\"runs\":[{seconds}]}}\n",
            134_515_008.0 / seconds,
            134_515_008.0 / seconds
        )
    }

    #[test]
    fn device_info_comes_from_command_output() {
        let info = DeviceInfo::parse(UNAME, "6\n", MEMINFO, MODEL).unwrap();
        assert_eq!(info.cores, 6);
        assert_eq!(info.memory_bytes, 7_802_064 * 1024);
        assert_eq!(
            info.model.as_deref(),
            Some("NVIDIA Jetson Orin Nano Developer Kit")
        );
        assert!(info.uname.ends_with("GNU/Linux"));
        assert_eq!(
            DeviceInfo::parse(UNAME, "4", MEMINFO, "").unwrap().model,
            None
        );
    }

    #[test]
    fn bad_device_output_is_an_error() {
        assert!(DeviceInfo::parse("", "6", MEMINFO, "").is_err());
        assert!(DeviceInfo::parse(UNAME, "six", MEMINFO, "").is_err());
        assert!(DeviceInfo::parse(UNAME, "0", MEMINFO, "").is_err());
        assert!(DeviceInfo::parse(UNAME, "6", "MemFree: 1 kB\n", "").is_err());
        assert!(mem_total_bytes("MemTotal: 12 MB\n").is_err());
        assert_eq!(mem_total_bytes("MemTotal: 12\n").unwrap(), 12);
    }

    #[test]
    fn bench_output_must_be_json_with_seconds() {
        let run = BenchRun::parse(1, &format!("warming up\n{}", bench_json(1, 0.5))).unwrap();
        assert_eq!(run.number("seconds"), Some(0.5));
        assert!(BenchRun::parse(1, "").is_err());
        assert!(BenchRun::parse(1, "decoded 5 weights\n").is_err());
        assert!(BenchRun::parse(1, "{\"threads\":1}\n").is_err());
    }

    #[test]
    fn device_report_has_device_facts_and_speedups() {
        let device = DeviceInfo::parse(UNAME, "6", MEMINFO, MODEL).unwrap();
        let model = ModelInfo {
            source: "model.safetensors".to_owned(),
            entro_bytes: 80 << 20,
        };
        let runs = [
            BenchRun::parse(1, &bench_json(1, 0.8)).unwrap(),
            BenchRun::parse(6, &bench_json(6, 0.2)).unwrap(),
        ];
        let (json, md) = device_report("me@orin", &device, &model, &runs);
        assert_eq!(json["mode"], "device");
        assert_eq!(json["device"]["cores"], 6);
        assert_eq!(json["device"]["memory_bytes"], 7_802_064u64 * 1024);
        assert_eq!(json["runs"][1]["threads"], 6);
        assert_eq!(json["runs"][1]["bench"]["seconds"], 0.2);
        assert!(md.contains("Linux orin 5.15.136-tegra"), "{md}");
        assert!(md.contains("- Cores: 6"), "{md}");
        assert!(md.contains("- Memory: 7.44 GiB"), "{md}");
        assert!(md.contains("| 6 | codes | 0.2000 |"), "{md}");
        assert!(md.contains("| 4.00x |"), "{md}");
        assert!(md.contains("| 1.00x |"), "{md}");
    }

    #[test]
    fn emulated_report_gives_no_speed() {
        let model = ModelInfo {
            source: "synthetic".to_owned(),
            entro_bytes: 1 << 20,
        };
        let steps = [
            Step {
                command: "entro compress".to_owned(),
                ok: true,
            },
            Step {
                command: "entro verify".to_owned(),
                ok: true,
            },
        ];
        let (json, md) = emulated_report("qemu-aarch64", &model, &steps, true, false);
        assert_eq!(json["mode"], "emulated");
        assert_eq!(json["speed"], Value::Null);
        assert_eq!(json["passed"], true);
        assert!(md.contains("EMULATED"));
        assert!(
            !md.contains("/s"),
            "an emulated report must not show rates: {md}"
        );
        let (json, md) = emulated_report("qemu-aarch64", &model, &steps, false, false);
        assert_eq!(json["passed"], false);
        assert!(md.contains("**FAIL**"));
    }
}
