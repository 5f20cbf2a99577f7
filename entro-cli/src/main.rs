//! The `entro` command line tool.

use std::process::ExitCode;

use clap::Parser;

/// Compress LLM checkpoints with quantization and canonical Huffman coding.
#[derive(Debug, Parser)]
#[command(name = "entro", version, about)]
struct Cli {}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("entro: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let _cli = Cli::parse();
    eprintln!("entro: no subcommands yet; the pipeline crates are being written");
    Ok(ExitCode::from(2))
}
