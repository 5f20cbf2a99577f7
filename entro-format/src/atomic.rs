//! Files written under a temporary name in the target folder and renamed into
//! place only when complete, so a failure never leaves a partial file behind.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Distinguishes temporary files created by one process.
static NEXT_TEMP_ID: AtomicU64 = AtomicU64::new(0);

/// Buffered output to `.<name>.tmp-<pid>-<n>` beside the final path. Dropping it
/// before [`AtomicFile::persist`] deletes the temporary file.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    writer: Option<BufWriter<File>>,
    temp_path: PathBuf,
    final_path: PathBuf,
    persisted: bool,
}

impl AtomicFile {
    pub(crate) fn create(final_path: &Path) -> Result<Self> {
        let file_name = final_path.file_name().ok_or_else(|| {
            Error::invalid_argument(format!("{} does not name a file", final_path.display()))
        })?;
        let folder = match final_path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let id = NEXT_TEMP_ID.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(file_name);
        temp_name.push(format!(".tmp-{}-{id}", std::process::id()));
        let temp_path = folder.join(temp_name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
            .map_err(|source| Error::io(&temp_path, source))?;
        Ok(Self {
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
            temp_path,
            final_path: final_path.to_path_buf(),
            persisted: false,
        })
    }

    /// The path the file will have once persisted.
    pub(crate) fn final_path(&self) -> &Path {
        &self.final_path
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(closed(&self.final_path));
        };
        writer
            .write_all(bytes)
            .map_err(|source| Error::io(&self.temp_path, source))
    }

    /// Flushes and syncs the data to disk; the file keeps its temporary name.
    pub(crate) fn sync(&mut self) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(closed(&self.final_path));
        };
        writer
            .flush()
            .map_err(|source| Error::io(&self.temp_path, source))?;
        writer
            .get_ref()
            .sync_all()
            .map_err(|source| Error::io(&self.temp_path, source))
    }

    /// Syncs, then renames the temporary file to the final path (replacing any file there).
    pub(crate) fn persist(mut self) -> Result<()> {
        self.sync()?;
        // Close before renaming: some platforms refuse to rename open files.
        self.writer = None;
        fs::rename(&self.temp_path, &self.final_path)
            .map_err(|source| Error::io(&self.final_path, source))?;
        self.persisted = true;
        sync_parent_folder(&self.final_path);
        Ok(())
    }
}

fn closed(path: &Path) -> Error {
    Error::invalid_argument(format!("{} was already closed", path.display()))
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.persisted {
            self.writer = None;
            // Nothing useful can be done if removal fails while unwinding or dropping.
            let _ = fs::remove_file(&self.temp_path);
        }
    }
}

/// Makes the rename durable where the platform allows it. Best effort: a folder
/// that cannot be opened or synced (some file systems, Windows) is not an error.
fn sync_parent_folder(path: &Path) {
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(folder) = File::open(parent) {
            let _ = folder.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_folder(name: &str) -> PathBuf {
        let folder =
            std::env::temp_dir().join(format!("entro-format-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&folder);
        fs::create_dir_all(&folder).unwrap();
        folder
    }

    fn entries(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn persisted_file_appears_and_temp_is_gone() {
        let folder = scratch_folder("persist");
        let target = folder.join("out.bin");
        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"hello").unwrap();
        assert!(!target.exists());
        file.persist().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"hello");
        assert_eq!(entries(&folder), ["out.bin"]);
        fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn dropped_file_leaves_nothing() {
        let folder = scratch_folder("drop");
        let mut file = AtomicFile::create(&folder.join("out.bin")).unwrap();
        file.write_all(b"partial").unwrap();
        assert_eq!(entries(&folder).len(), 1);
        drop(file);
        assert!(entries(&folder).is_empty());
        fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn missing_folder_is_an_io_error() {
        let err = AtomicFile::create(Path::new("/nonexistent-entro-folder/x.entro")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
}
