//! Opening inputs with errors that always name the file.

use std::path::Path;

use anyhow::anyhow;
use entro_format::EntroFile;
use entro_format::safetensors::SafetensorsCheckpoint;

/// Opens and validates a `.entro` file.
pub(crate) fn entro_file(path: &Path) -> anyhow::Result<EntroFile> {
    EntroFile::open(path).map_err(|err| named(err, path))
}

/// Opens a safetensors checkpoint (file, index, or folder).
pub(crate) fn checkpoint(path: &Path) -> anyhow::Result<SafetensorsCheckpoint> {
    SafetensorsCheckpoint::open(path).map_err(|err| named(err, path))
}

/// Prefixes the path unless the message already carries one.
fn named(err: entro_format::Error, path: &Path) -> anyhow::Error {
    match err {
        entro_format::Error::Io { .. } | entro_format::Error::Safetensors { .. } => err.into(),
        other => anyhow!("{}: {other}", path.display()),
    }
}
