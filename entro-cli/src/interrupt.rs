//! Ctrl-C handling: long commands poll a flag between steps, so that an
//! interrupted run unwinds normally and its writers delete their temporary files.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Interrupted;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Exit status after an interrupt, as shells report SIGINT (128 + 2).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// Installs the handler. The first Ctrl-C sets the flag; a second one exits at
/// once (which may leave a hidden `.tmp-*` file beside the output).
pub(crate) fn install() {
    // Failing to install (a handler already set by an embedding program) only
    // costs the clean-up on Ctrl-C, so it is not worth failing the command.
    let _ = ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

/// Returns [`Interrupted`] once the user asked to stop.
pub(crate) fn check() -> Result<(), Interrupted> {
    if REQUESTED.load(Ordering::Relaxed) {
        Err(Interrupted)
    } else {
        Ok(())
    }
}
