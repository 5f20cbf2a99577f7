//! Small helpers shared by the tasks: paths, flag parsing and running commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// The workspace root (xtask lives one level below it).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// The cargo target directory: `CARGO_TARGET_DIR` if set, else `<root>/target`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The `cargo` that runs this task (so `cargo +nightly xtask` stays on nightly).
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Whether an executable of this name is on `PATH`.
pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// `program args...` as a shell-like line, for messages.
pub(crate) fn display(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&quote(&arg.to_string_lossy()));
    }
    line
}

/// `text` quoted for a POSIX shell where it needs to be.
pub(crate) fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@%".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Runs `command` with inherited output; fails with the command line unless it succeeds.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", display(command));
    let status = command
        .status()
        .with_context(|| format!("could not start `{}`", display(command)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", display(command));
    }
    Ok(())
}

/// Runs `command` and returns its stdout; fails with its stderr unless it succeeds.
pub(crate) fn capture(command: &mut Command) -> Result<String> {
    let output = succeeded(command)?;
    String::from_utf8(output.stdout)
        .with_context(|| format!("`{}` printed non-UTF-8", display(command)))
}

/// Runs `command` and returns its stderr, where `entro` writes what it did (`entro synth`'s
/// "wrote …: synthetic llama, …"); fails with that stderr unless it succeeds.
pub(crate) fn capture_stderr(command: &mut Command) -> Result<String> {
    let output = succeeded(command)?;
    Ok(String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Runs `command` with captured output; fails with its stderr unless it succeeds.
fn succeeded(command: &mut Command) -> Result<Output> {
    let output = output_of(command)?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}):\n{}",
            display(command),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(output)
}

/// Runs `command` with captured stdout and stderr, whatever its exit status.
pub(crate) fn output_of(command: &mut Command) -> Result<Output> {
    command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{}`", display(command)))
}

/// Flags of the form `--name value` or `--name=value`, parsed by hand to keep xtask free of
/// dependencies.
#[derive(Debug)]
pub(crate) struct Flags {
    pairs: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Flags {
    /// Splits `args` into valued flags (names in `valued`) and switches (names in `switches`).
    pub(crate) fn parse(args: &[String], valued: &[&str], switches: &[&str]) -> Result<Self> {
        let mut flags = Flags {
            pairs: Vec::new(),
            switches: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            if valued.contains(&name) {
                let value = match inline {
                    Some(value) => value,
                    None => args
                        .next()
                        .cloned()
                        .with_context(|| format!("{name} needs a value"))?,
                };
                flags.pairs.push((name.to_owned(), value));
            } else if switches.contains(&name) && inline.is_none() {
                flags.switches.push(name.to_owned());
            } else {
                bail!("unexpected argument `{arg}`");
            }
        }
        Ok(flags)
    }

    /// The last value given for `name`.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(flag, _)| flag == name)
            .map(|(_, value)| value.as_str())
    }

    /// The last value of `name` parsed as a number.
    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>> {
        self.value(name)
            .map(|text| {
                text.parse::<u64>()
                    .with_context(|| format!("{name} wants a whole number, got `{text}`"))
            })
            .transpose()
    }

    /// Whether the switch `name` was given.
    pub(crate) fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|flag| flag == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn flags_take_values_both_ways() {
        let flags = Flags::parse(
            &args(&["--seconds", "5", "--target=a", "--keep"]),
            &["--seconds", "--target"],
            &["--keep"],
        )
        .unwrap();
        assert_eq!(flags.number("--seconds").unwrap(), Some(5));
        assert_eq!(flags.value("--target"), Some("a"));
        assert!(flags.switch("--keep"));
        assert_eq!(flags.value("--host"), None);
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(Flags::parse(&args(&["--seconds"]), &["--seconds"], &[]).is_err());
        assert!(Flags::parse(&args(&["--nope"]), &["--seconds"], &[]).is_err());
        let flags = Flags::parse(&args(&["--seconds", "x"]), &["--seconds"], &[]).unwrap();
        assert!(flags.number("--seconds").is_err());
    }

    #[test]
    fn captures_keep_stdout_and_stderr_apart() {
        let mut both = Command::new("sh");
        both.args(["-c", "echo out; echo err >&2"]);
        assert_eq!(capture(&mut both).unwrap(), "out\n");
        assert_eq!(capture_stderr(&mut both).unwrap(), "err\n");
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo why >&2; exit 3"]);
        let err = capture_stderr(&mut failing).unwrap_err().to_string();
        assert!(err.contains("why"), "{err}");
    }

    #[test]
    fn command_lines_are_quoted_for_the_shell() {
        let mut command = Command::new("ssh");
        command.args(["host", "echo it's here", "a/b.entro"]);
        assert_eq!(display(&command), r"ssh host 'echo it'\''s here' a/b.entro");
    }
}
