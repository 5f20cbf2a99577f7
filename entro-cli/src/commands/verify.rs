//! `entro verify`: every checksum checked and every chunk decoded; exit 0
//! only for an intact file.

use std::io::Write;

use anyhow::bail;
use entro_decode::{DecodeOptions, Decoder};

use crate::args::VerifyArgs;
use crate::format::human_count;
use crate::open;
use crate::ui::{Ui, Verbosity};

/// Problems listed one per line before the final error.
const PROBLEMS_LISTED: usize = 20;

pub(crate) fn run(args: &VerifyArgs, ui: &Ui, out: &mut dyn Write) -> anyhow::Result<()> {
    let path = args.file.display().to_string();
    // Opening checks the preamble, footer, header checksum and every record.
    let file = open::entro_file(&args.file)?;
    let decoder = Decoder::new(DecodeOptions {
        threads: args.threads,
        verify_checksums: true,
    })?;
    let total: u64 = file.tensors().iter().map(|t| t.elements()).sum();
    let bar = ui.count_bar(total, "verify");
    let report = decoder.verify_with_progress(&file, &|n| bar.inc(n));
    bar.finish_and_clear();
    match report.failures.split_first() {
        None => {
            if ui.verbosity() > Verbosity::Quiet {
                writeln!(
                    out,
                    "ok: {path}: {} tensors, {} chunks, {} weights intact",
                    report.tensors,
                    report.chunks,
                    human_count(report.elements)
                )?;
            }
            Ok(())
        }
        Some((first, rest)) => {
            for problem in rest.iter().take(PROBLEMS_LISTED) {
                eprintln!("entro: also damaged: {path}: {problem}");
            }
            let more = rest.len().saturating_sub(PROBLEMS_LISTED);
            if more > 0 {
                eprintln!("entro: ... and {more} more problems");
            }
            let count = report.failures.len();
            bail!(
                "{path}: {first}{}",
                if count > 1 {
                    format!(" ({count} problems in all)")
                } else {
                    String::new()
                }
            )
        }
    }
}
