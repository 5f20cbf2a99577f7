//! `cargo xtask fuzz [--seconds N] [--target NAME]`: runs every cargo-fuzz target (or one) for N
//! seconds each, one at a time, and prints executions and coverage per target.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::util::{self, Flags};

pub(crate) const USAGE: &str = "\
usage: cargo xtask fuzz [--seconds <N>] [--target <NAME>]

Runs each cargo-fuzz target in fuzz/ (or only NAME) for N seconds (default 60), one after
the other, on nightly, and prints executions, coverage and corpus size per target. Logs go
to target/xtask-fuzz/<target>.log. A crash leaves its input in fuzz/artifacts/<target>/;
minimize it (cargo +nightly fuzz tmin <target> <file>) and commit it as
fuzz/corpus/<target>/regressions/<name>, where `cargo test` replays it on stable.";

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// libFuzzer's per-input time limit: anything slower counts as a hang.
const INPUT_TIMEOUT_SECONDS: u32 = 10;

/// The largest single allocation a target may make, in MiB. The inputs are bounded (codes by a
/// 16-bit count, files by libFuzzer's input length), so anything bigger is a bug.
fn malloc_limit_mb(target: &str) -> u32 {
    match target {
        "huffman_decode" | "huffman_roundtrip" | "quant_roundtrip" | "lossless_chunk" => 64,
        _ => 512,
    }
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let flags = Flags::parse(args, &["--seconds", "--target"], &[])?;
    let seconds = flags.number("--seconds")?.unwrap_or(DEFAULT_SECONDS).max(1);
    let root = util::workspace_root();
    let fuzz_dir = root.join("fuzz");
    let available = list_targets(&fuzz_dir)?;
    let targets = match flags.value("--target") {
        Some(name) if available.iter().any(|target| target == name) => vec![name.to_owned()],
        Some(name) => bail!(
            "no fuzz target `{name}`; the targets are: {}",
            available.join(", ")
        ),
        None => available,
    };
    let logs = util::target_dir(&root).join("xtask-fuzz");
    std::fs::create_dir_all(&logs).with_context(|| format!("create {}", logs.display()))?;

    util::run(nightly_fuzz(&fuzz_dir).args(["build", "--release", "--debug-assertions"]))?;
    let mut results = Vec::new();
    for target in &targets {
        let log = logs.join(format!("{target}.log"));
        eprintln!("fuzzing {target} for {seconds} s (log: {})", log.display());
        let status = fuzz_one(&fuzz_dir, target, seconds, &log)?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let summary = Summary::parse(&text);
        let crash = status
            .success()
            .then_some(())
            .map_or_else(|| crash_input(&text), |()| None);
        eprintln!("  {}", summary.line(status.success(), crash.as_deref()));
        results.push((target.clone(), summary, status.success(), crash));
    }

    println!(
        "\n{:<30} {:>7} {:>12} {:>9} {:>7} {:>8} {:>8}",
        "target", "result", "execs", "exec/s", "cov", "ft", "corpus"
    );
    for (target, summary, ok, _) in &results {
        println!(
            "{target:<30} {:>7} {:>12} {:>9} {:>7} {:>8} {:>8}",
            if *ok { "ok" } else { "CRASH" },
            summary.execs.map_or("?".to_owned(), |n| n.to_string()),
            summary
                .execs_per_second
                .map_or("?".to_owned(), |n| n.to_string()),
            summary.coverage.map_or("?".to_owned(), |n| n.to_string()),
            summary.features.map_or("?".to_owned(), |n| n.to_string()),
            summary.corpus.as_deref().unwrap_or("?"),
        );
    }
    let crashed: Vec<_> = results.iter().filter(|(_, _, ok, _)| !ok).collect();
    if crashed.is_empty() {
        return Ok(());
    }
    for (target, _, _, crash) in &crashed {
        let input = crash.as_deref().unwrap_or("(see the log)");
        eprintln!(
            "{target} failed on {input}\n  reproduce: cargo +nightly fuzz run {target} {input}\n  \
             then minimize it and commit it under fuzz/corpus/{target}/regressions/"
        );
    }
    bail!("{} of {} fuzz targets failed", crashed.len(), results.len())
}

/// `cargo +nightly fuzz` in `fuzz_dir`, on nightly whatever toolchain runs xtask.
fn nightly_fuzz(fuzz_dir: &Path) -> Command {
    // The rustup proxy `cargo` understands `+nightly`; drop the toolchain rustup chose for xtask.
    let mut command = Command::new("cargo");
    command
        .current_dir(fuzz_dir)
        .env_remove("RUSTUP_TOOLCHAIN")
        .args(["+nightly", "fuzz"]);
    command
}

/// The targets `cargo fuzz list` knows, or install instructions when cargo-fuzz is missing.
fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let output = util::output_of(nightly_fuzz(fuzz_dir).arg("list"))?;
    if !output.status.success() {
        bail!(
            "`cargo +nightly fuzz list` failed:\n{}\ninstall the tools with:\n    \
             rustup toolchain install nightly\n    cargo install cargo-fuzz",
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    let targets: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        bail!(
            "`cargo +nightly fuzz list` found no targets in {}",
            fuzz_dir.display()
        );
    }
    Ok(targets)
}

/// Runs one target for `seconds`, with its output in `log`.
fn fuzz_one(
    fuzz_dir: &Path,
    target: &str,
    seconds: u64,
    log: &Path,
) -> Result<std::process::ExitStatus> {
    let file = File::create(log).with_context(|| format!("create {}", log.display()))?;
    let corpus: PathBuf = ["corpus", target].iter().collect();
    let mut command = nightly_fuzz(fuzz_dir);
    command
        .args(["run", "--release", "--debug-assertions", target])
        .arg(&corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg(format!("-malloc_limit_mb={}", malloc_limit_mb(target)))
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .stdout(file.try_clone().context("duplicate the log handle")?)
        .stderr(Stdio::from(file));
    command
        .status()
        .with_context(|| format!("could not start `{}`", util::display(&command)))
}

/// The input libFuzzer saved for a crash, from its `Test unit written to <path>` line.
fn crash_input(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find_map(|line| line.split_once("Test unit written to "))
        .map(|(_, path)| path.trim().to_owned())
}

/// libFuzzer's final figures for one run.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) execs: Option<u64>,
    pub(crate) execs_per_second: Option<u64>,
    pub(crate) coverage: Option<u64>,
    pub(crate) features: Option<u64>,
    pub(crate) corpus: Option<String>,
}

impl Summary {
    /// Reads the last status line (`#N DONE cov: .. ft: .. corp: ../.. exec/s: ..`, or the last
    /// `pulse`/`NEW` line when the run ended early) and the final stats.
    pub(crate) fn parse(log: &str) -> Self {
        let mut summary = Summary::default();
        let status = log
            .lines()
            .rev()
            .find(|line| line.starts_with('#') && line.contains(" cov: "));
        if let Some(line) = status {
            let mut words = line.split_whitespace();
            summary.execs = words
                .next()
                .and_then(|word| word.trim_start_matches('#').parse().ok());
            let words: Vec<&str> = line.split_whitespace().collect();
            let after = |key: &str| {
                words
                    .iter()
                    .position(|&word| word == key)
                    .and_then(|i| words.get(i + 1))
                    .copied()
            };
            summary.coverage = after("cov:").and_then(|n| n.parse().ok());
            summary.features = after("ft:").and_then(|n| n.parse().ok());
            summary.corpus = after("corp:").map(str::to_owned);
            summary.execs_per_second = after("exec/s:").and_then(|n| n.parse().ok());
        }
        let stat = |key: &str| {
            log.lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|rest| rest.trim().parse().ok())
        };
        summary.execs = stat("stat::number_of_executed_units:").or(summary.execs);
        summary
    }

    /// One line for the progress output.
    fn line(&self, ok: bool, crash: Option<&str>) -> String {
        let figures = format!(
            "{} execs, {} exec/s, cov {}, ft {}, corpus {}",
            self.execs.map_or("?".to_owned(), |n| n.to_string()),
            self.execs_per_second
                .map_or("?".to_owned(), |n| n.to_string()),
            self.coverage.map_or("?".to_owned(), |n| n.to_string()),
            self.features.map_or("?".to_owned(), |n| n.to_string()),
            self.corpus.as_deref().unwrap_or("?"),
        );
        match (ok, crash) {
            (true, _) => format!("ok: {figures}"),
            (false, Some(input)) => format!("CRASH ({input}) after {figures}"),
            (false, None) => format!("FAILED after {figures}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DONE: &str = "INFO: Seed: 1\n\
        #2\tINITED cov: 120 ft: 300 corp: 5/2Kb exec/s: 0 rss: 40Mb\n\
        #479938\tDONE   cov: 946 ft: 4365 corp: 607/180Kb lim: 2048 exec/s: 5274 rss: 439Mb\n\
        Done 479938 runs in 91 second(s)\n\
        stat::number_of_executed_units: 479938\n\
        stat::average_exec_per_sec:     5274\n";

    #[test]
    fn final_status_line_is_parsed() {
        let summary = Summary::parse(DONE);
        assert_eq!(summary.execs, Some(479_938));
        assert_eq!(summary.execs_per_second, Some(5274));
        assert_eq!(summary.coverage, Some(946));
        assert_eq!(summary.features, Some(4365));
        assert_eq!(summary.corpus.as_deref(), Some("607/180Kb"));
        assert!(summary.line(true, None).starts_with("ok: 479938 execs"));
    }

    #[test]
    fn crashes_name_their_input() {
        let log = "#1024\tpulse  cov: 50 ft: 60 corp: 3/1b lim: 4 exec/s: 512 rss: 30Mb\n\
            thread '<unnamed>' panicked at src/lib.rs:1:1\n\
            artifact_prefix='fuzz/artifacts/t/'; Test unit written to fuzz/artifacts/t/crash-abc\n";
        let summary = Summary::parse(log);
        assert_eq!((summary.execs, summary.coverage), (Some(1024), Some(50)));
        assert_eq!(
            crash_input(log).as_deref(),
            Some("fuzz/artifacts/t/crash-abc")
        );
        assert!(summary.line(false, Some("x")).starts_with("CRASH (x)"));
        assert_eq!(Summary::parse("nothing useful"), Summary::default());
    }
}
