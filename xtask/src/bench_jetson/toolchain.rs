//! Checks for the cross toolchain and the emulator, and the builds (host and aarch64).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::TARGET;
use crate::util::{self, cargo, on_path};

/// The cross linker cargo is told to use (also set in `.cargo/config.toml`).
pub(crate) const LINKER: &str = "aarch64-linux-gnu-gcc";

/// Where Debian's `libc6-arm64-cross` (pulled in by `gcc-aarch64-linux-gnu`) puts the aarch64
/// loader and libc, which `qemu-aarch64 -L` needs to run dynamically linked binaries.
pub(crate) const SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// The user-mode emulator.
pub(crate) const QEMU: &str = "qemu-aarch64";

/// Fails with the exact install commands unless the Rust target and the cross linker are there.
pub(crate) fn check_cross() -> Result<()> {
    let mut missing = Vec::new();
    if !rust_target_installed()? {
        missing.push(format!(
            "the Rust target {TARGET}:\n    rustup target add {TARGET}"
        ));
    }
    if !on_path(LINKER) {
        missing.push(format!(
            "the cross linker {LINKER}:\n    sudo apt-get install gcc-aarch64-linux-gnu    \
             (Debian/Ubuntu; Fedora: sudo dnf install gcc-aarch64-linux-gnu)"
        ));
    }
    if missing.is_empty() {
        return Ok(());
    }
    bail!(
        "cross-building for {TARGET} needs {}",
        missing.join("\nand ")
    )
}

/// Fails with the install command unless `qemu-aarch64` and the aarch64 libc are there.
pub(crate) fn check_emulator() -> Result<()> {
    let mut missing = Vec::new();
    if !on_path(QEMU) {
        missing.push(format!("{QEMU}:\n    sudo apt-get install qemu-user"));
    }
    if !Path::new(SYSROOT).join("lib").is_dir() {
        missing.push(format!(
            "the aarch64 libc in {SYSROOT}:\n    sudo apt-get install libc6-arm64-cross"
        ));
    }
    if missing.is_empty() {
        return Ok(());
    }
    bail!(
        "running the aarch64 binary without --host needs {}\n(or pass --host <user@addr> to run on a device)",
        missing.join("\nand ")
    )
}

/// Whether the standard library for [`TARGET`] is installed in the active toolchain.
fn rust_target_installed() -> Result<bool> {
    let sysroot = util::capture(Command::new("rustc").args(["--print", "sysroot"]))?;
    Ok(Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir())
}

/// The binaries a cross build produced.
#[derive(Debug)]
pub(crate) struct CrossBuild {
    /// The aarch64 `entro`.
    pub(crate) entro: PathBuf,
    /// The aarch64 criterion benchmark executables.
    pub(crate) benches: Vec<PathBuf>,
}

/// Builds `entro` (release) for [`TARGET`], and the benchmarks unless `benches` is false.
pub(crate) fn cross_build(root: &Path, benches: bool) -> Result<CrossBuild> {
    let linker_var = format!(
        "CARGO_TARGET_{}_LINKER",
        TARGET.to_uppercase().replace('-', "_")
    );
    let mut build = cargo();
    build.current_dir(root).env(&linker_var, LINKER).args([
        "build",
        "--release",
        "--package",
        "entro-cli",
        "--bin",
        "entro",
        "--target",
        TARGET,
    ]);
    util::run(&mut build)?;
    let entro = util::target_dir(root).join(TARGET).join("release/entro");
    if !entro.is_file() {
        bail!(
            "the cross build finished but {} is missing",
            entro.display()
        );
    }
    let mut bench_executables = Vec::new();
    if benches {
        let mut build = cargo();
        build.current_dir(root).env(&linker_var, LINKER).args([
            "bench",
            "--no-run",
            "--workspace",
            "--exclude",
            "xtask",
            "--target",
            TARGET,
            "--message-format",
            "json-render-diagnostics",
        ]);
        // Progress and errors go to the terminal; the JSON messages on stdout name the executables.
        build.stderr(Stdio::inherit());
        eprintln!("$ {}", util::display(&build));
        let stdout = util::capture(&mut build)?;
        bench_executables = bench_executables_from(&stdout);
    }
    Ok(CrossBuild {
        entro,
        benches: bench_executables,
    })
}

/// Builds the host `entro` (release), used to make and check models.
pub(crate) fn host_build(root: &Path) -> Result<PathBuf> {
    util::run(cargo().current_dir(root).args([
        "build",
        "--release",
        "--package",
        "entro-cli",
        "--bin",
        "entro",
    ]))?;
    let entro = util::target_dir(root).join("release/entro");
    entro
        .is_file()
        .then_some(entro)
        .context("the host build finished but target/release/entro is missing")
}

/// Executables of bench targets in cargo's `--message-format json` output.
fn bench_executables_from(messages: &str) -> Vec<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "bench"))
        })
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_executables_are_picked_from_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"entro_huffman"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["bench"],"name":"decode"},"executable":"/t/aarch64-unknown-linux-gnu/release/deps/decode-1234"}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"entro"},"executable":"/t/release/entro"}
not json
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            bench_executables_from(messages),
            [PathBuf::from(
                "/t/aarch64-unknown-linux-gnu/release/deps/decode-1234"
            )]
        );
    }
}
