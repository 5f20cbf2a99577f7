//! Project automation, run as `cargo xtask <task>`.
//!
//! `main` only dispatches; each task lives in a module of its own.

mod bench_jetson;
mod ci;
mod frontier;
mod fuzz;
mod util;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci            run what .ci/run runs: fmt, clippy, docs, the tests, and the aarch64
                tests under qemu-user
  fuzz          run every fuzz target for N seconds (cargo xtask fuzz --help)
  frontier      compress two real models every way entro can and score them: the
                rate-distortion table and plot (cargo xtask frontier --help)
  bench-jetson  cross-build for aarch64 and benchmark on a device over ssh, or check
                the round trip under qemu (cargo xtask bench-jetson --help)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("frontier") => frontier::run(&args[1..]),
        Some("bench-jetson") => bench_jetson::run(&args[1..]),
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("xtask: unknown task `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}
