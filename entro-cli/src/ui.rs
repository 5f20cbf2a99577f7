//! What the user sees on stderr: warnings, notes, and progress bars that
//! appear only on a terminal.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How much to say on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// Warnings, a summary line, and progress bars on a terminal.
    Normal,
    /// Also one line per tensor (`-v`).
    Verbose,
}

/// The stderr side of a command.
#[derive(Debug)]
pub(crate) struct Ui {
    verbosity: Verbosity,
    bars: MultiProgress,
}

impl Ui {
    /// Progress bars are drawn only when stderr is a terminal and not `-q`.
    pub(crate) fn new(verbosity: Verbosity) -> Self {
        let draw = verbosity > Verbosity::Quiet && std::io::stderr().is_terminal();
        let target = if draw {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            verbosity,
            bars: MultiProgress::with_draw_target(target),
        }
    }

    pub(crate) fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// A `warning:` line, unless `-q`.
    pub(crate) fn warn(&self, message: impl AsRef<str>) {
        if self.verbosity > Verbosity::Quiet {
            self.print(&format!("warning: {}", message.as_ref()));
        }
    }

    /// A progress note (what was written, where), unless `-q`.
    pub(crate) fn note(&self, message: impl AsRef<str>) {
        if self.verbosity > Verbosity::Quiet {
            self.print(message.as_ref());
        }
    }

    /// A detail line, only with `-v`.
    pub(crate) fn detail(&self, message: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Verbose {
            self.print(message.as_ref());
        }
    }

    fn print(&self, line: &str) {
        self.bars.suspend(|| eprintln!("{line}"));
    }

    /// A bar counting bytes; hidden when bars are off.
    pub(crate) fn bytes_bar(&self, total: u64, prefix: &'static str) -> ProgressBar {
        let style = ProgressStyle::with_template(
            "{prefix:>10} [{bar:32}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} eta {eta} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        self.bars.add(
            ProgressBar::new(total)
                .with_style(style)
                .with_prefix(prefix),
        )
    }

    /// A bar counting items (weights, decode runs).
    pub(crate) fn count_bar(&self, total: u64, prefix: &'static str) -> ProgressBar {
        let style = ProgressStyle::with_template(
            "{prefix:>10} [{bar:32}] {human_pos}/{human_len} eta {eta} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        self.bars.add(
            ProgressBar::new(total)
                .with_style(style)
                .with_prefix(prefix),
        )
    }
}
