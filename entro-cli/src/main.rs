//! The `entro` command line tool: compress LLM checkpoints with per-tensor
//! quantization and canonical Huffman coding, inspect, verify, benchmark and
//! decompress them. Exit codes: 0 success, 1 failure, 2 usage error, 130
//! interrupted.
#![deny(unsafe_code)]

mod args;
mod cli;
mod commands;
mod encode;
mod error;
mod format;
mod interrupt;
mod lossless_encode;
mod open;
mod page_release;
mod tensor_data;
mod ui;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::{Interrupted, UsageError};
use crate::ui::{Ui, Verbosity};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with status 0; mistakes to stderr with 2.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => exit_for(&err),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let ui = Ui::new(verbosity);
    interrupt::install();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    commands::dispatch(cli.command, &ui, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Prints `err` as one line and picks the exit code.
fn exit_for(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        // `entro inspect big.entro | head`: the reader left, which is not our failure.
        return ExitCode::SUCCESS;
    }
    eprintln!("entro: error: {err:#}");
    if err.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(2)
    } else if err.downcast_ref::<Interrupted>().is_some() {
        ExitCode::from(interrupt::EXIT_INTERRUPTED)
    } else {
        ExitCode::FAILURE
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
