//! The high-error warnings of `compress`: the first few in full, then a count.

use entro_quant::{Granularity, QuantConfig, QuantReport};

use super::WARN_REL_RMS;
use crate::ui::Ui;

/// Warnings listed one by one before the rest are only counted (all with `-v`).
const WARNINGS_LISTED: usize = 5;

/// The high-error warnings of one run: the first few in full, then a count.
#[derive(Debug, Default)]
pub(super) struct Warnings {
    count: usize,
}

impl Warnings {
    pub(super) fn check(
        &mut self,
        ui: &Ui,
        name: &str,
        report: &QuantReport,
        config: &QuantConfig,
    ) {
        let error = report.stats.rel_rms_error;
        if error <= WARN_REL_RMS {
            return;
        }
        self.count += 1;
        if self.count <= WARNINGS_LISTED || ui.verbosity() >= crate::ui::Verbosity::Verbose {
            ui.warn(format!(
                "tensor `{name}`: relative RMS error {:.1}% (above {:.0}%) at {} bits, granularity {}; {}",
                error * 100.0,
                WARN_REL_RMS * 100.0,
                config.bits,
                config.granularity,
                finer_suggestion(config)
            ));
        }
    }

    pub(super) fn finish(&self, ui: &Ui) {
        if self.count > WARNINGS_LISTED && ui.verbosity() < crate::ui::Verbosity::Verbose {
            let more = self.count - WARNINGS_LISTED;
            ui.warn(format!(
                "{more} more {} above {:.0}% relative RMS error (`entro inspect` lists every tensor's error, `-v` warns about each)",
                if more == 1 { "tensor is" } else { "tensors are" },
                WARN_REL_RMS * 100.0
            ));
        }
    }
}

/// What to try next for a tensor whose error is too large.
fn finer_suggestion(config: &QuantConfig) -> String {
    match config.granularity {
        Granularity::Tensor => "try --granularity channel or --granularity group:64".to_owned(),
        Granularity::Channel => "try --granularity group:64".to_owned(),
        Granularity::Group(group) if group > 16 => {
            format!("try --granularity group:{}", (group / 2).max(16))
        }
        Granularity::Group(_) if config.bits < 8 => "try more --bits".to_owned(),
        Granularity::Group(_) => "try --keep for this tensor".to_owned(),
    }
}
