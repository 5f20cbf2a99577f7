//! The two kinds of failure the exit code tells apart, beyond "it failed".

use std::fmt;

/// The command line asks for something impossible (a bad flag value, say).
/// Exit code 2, like clap's own parse errors.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The user pressed Ctrl-C (or the process got SIGTERM) and the command
/// stopped cleanly, removing its partial output.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted; no output was written")
    }
}

impl std::error::Error for Interrupted {}

/// Shorthand for a usage error with a formatted message.
macro_rules! usage {
    ($($arg:tt)*) => {
        $crate::error::UsageError(format!($($arg)*))
    };
}
pub(crate) use usage;
