//! Checks on output paths, made before any work so that a doomed run fails at once.
//! The writers themselves are atomic (temporary file, then rename).

use std::path::Path;

use anyhow::bail;

/// Fails if `output` exists (unless `force`), is a folder, or lies in a
/// folder that does not exist.
pub(crate) fn check_output(output: &Path, force: bool) -> anyhow::Result<()> {
    if output.is_dir() {
        bail!("{} is a folder; name the file to write", output.display());
    }
    if output.exists() && !force {
        bail!(
            "{} already exists; pass --force to replace it",
            output.display()
        );
    }
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!(
            "cannot write {}: folder {} does not exist",
            output.display(),
            parent.display()
        );
    }
    Ok(())
}

/// Fails if `output` is one of the `inputs` (even with `--force`: the run
/// would replace the data it is reading).
pub(crate) fn refuse_overwriting_input<'a>(
    output: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> anyhow::Result<()> {
    let Ok(output) = output.canonicalize() else {
        // A file that does not exist yet cannot be an input.
        return Ok(());
    };
    for input in inputs {
        if input.canonicalize().is_ok_and(|input| input == output) {
            bail!(
                "{} is also the input; write to another file",
                output.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_outputs_need_force_and_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.entro");
        assert!(check_output(&file, false).is_ok());
        std::fs::write(&file, b"x").unwrap();
        let err = check_output(&file, false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        assert!(check_output(&file, true).is_ok());
        assert!(check_output(dir.path(), true).is_err());
        assert!(check_output(&dir.path().join("missing/out.entro"), true).is_err());
        assert!(refuse_overwriting_input(&file, [file.as_path()]).is_err());
        assert!(refuse_overwriting_input(&file, [dir.path()]).is_ok());
    }
}
