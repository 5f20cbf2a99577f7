//! `cargo xtask ci`: the checks that `.ci/run` makes, runnable locally.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs `.ci/run` from the workspace root, so that there is one definition of CI.
pub(crate) fn run(args: &[String]) -> Result<()> {
    if let Some(extra) = args.first() {
        bail!("`ci` takes no arguments, got `{extra}`");
    }
    let root = crate::util::workspace_root();
    let status = Command::new("bash")
        .arg(root.join(".ci/run"))
        .current_dir(&root)
        .status()
        .context("could not start bash to run .ci/run")?;
    if !status.success() {
        bail!(".ci/run failed ({status})");
    }
    Ok(())
}
