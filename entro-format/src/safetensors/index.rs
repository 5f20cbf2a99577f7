//! Finding a checkpoint on disk and reading sharded-checkpoint indexes.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result, as_u64, check_limit};
use crate::limits::{MAX_INDEX_JSON_LEN, MAX_SHARDS, MAX_TENSORS};
use crate::safetensors::json::Index;

/// The file name Hugging Face gives a single-file checkpoint.
pub const SINGLE_FILE_NAME: &str = "model.safetensors";
/// The file name Hugging Face gives the index of a sharded checkpoint.
pub const INDEX_FILE_NAME: &str = "model.safetensors.index.json";

/// What [`resolve`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckpointSource {
    Single(PathBuf),
    Index(PathBuf),
}

/// Decides what `path` names: a file is taken by its name (`.json` means an
/// index); a folder is searched for the Hugging Face names first, then for
/// exactly one index or exactly one `.safetensors` file.
pub(crate) fn resolve(path: &Path) -> Result<CheckpointSource> {
    let metadata = fs::metadata(path).map_err(|source| Error::io(path, source))?;
    if !metadata.is_dir() {
        let is_json = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
        return Ok(if is_json {
            CheckpointSource::Index(path.to_path_buf())
        } else {
            CheckpointSource::Single(path.to_path_buf())
        });
    }
    let index = path.join(INDEX_FILE_NAME);
    if index.is_file() {
        return Ok(CheckpointSource::Index(index));
    }
    let single = path.join(SINGLE_FILE_NAME);
    if single.is_file() {
        return Ok(CheckpointSource::Single(single));
    }
    let mut indexes = Vec::new();
    let mut files = Vec::new();
    for entry in fs::read_dir(path).map_err(|source| Error::io(path, source))? {
        let entry = entry.map_err(|source| Error::io(path, source))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".safetensors.index.json") {
            indexes.push(entry.path());
        } else if name.ends_with(".safetensors") {
            files.push(entry.path());
        }
    }
    match (indexes.as_slice(), files.as_slice()) {
        ([index], _) => Ok(CheckpointSource::Index(index.clone())),
        ([], [file]) => Ok(CheckpointSource::Single(file.clone())),
        _ => Err(Error::invalid_argument(format!(
            "{} holds {} safetensors index files and {} safetensors files; name the one to use",
            path.display(),
            indexes.len(),
            files.len()
        ))),
    }
}

/// A parsed index with its shard file names resolved.
#[derive(Debug)]
pub(crate) struct ShardIndex {
    /// Shard files, in order of first mention.
    pub(crate) shards: Vec<PathBuf>,
    /// Each tensor and its shard (an index into `shards`), in `weight_map` order.
    pub(crate) weight_map: Vec<(String, usize)>,
}

/// Reads and checks an index file.
pub(crate) fn read_index(path: &Path) -> Result<ShardIndex> {
    let len = fs::metadata(path)
        .map_err(|source| Error::io(path, source))?
        .len();
    check_limit("safetensors index length", len, MAX_INDEX_JSON_LEN)?;
    let bytes = fs::read(path).map_err(|source| Error::io(path, source))?;
    let bad = |expected: String, found: String| Error::Safetensors {
        path: path.to_path_buf(),
        expected,
        found,
    };
    let index: Index = serde_json::from_slice(&bytes).map_err(|err| {
        bad(
            "a JSON index with a `weight_map` of strings".into(),
            err.to_string(),
        )
    })?;
    check_limit(
        "tensor count",
        as_u64(index.weight_map.len()),
        as_u64(MAX_TENSORS),
    )?;
    if index.weight_map.is_empty() {
        return Err(bad(
            "a `weight_map` naming at least one tensor".into(),
            "an empty map".into(),
        ));
    }
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut shard_ids: HashMap<String, usize> = HashMap::new();
    let mut shards = Vec::new();
    let mut weight_map = Vec::with_capacity(index.weight_map.len());
    for (name, file) in index.weight_map {
        let next_id = shards.len();
        let id = match shard_ids.get(&file) {
            Some(&id) => id,
            None => {
                if !is_plain_file_name(&file) {
                    return Err(bad(
                        format!("a shard file name in the index's folder for `{name}`"),
                        format!("`{file}`"),
                    ));
                }
                check_limit(
                    "shard count",
                    as_u64(next_id).saturating_add(1),
                    as_u64(MAX_SHARDS),
                )?;
                shards.push(folder.join(&file));
                shard_ids.insert(file, next_id);
                next_id
            }
        };
        weight_map.push((name, id));
    }
    Ok(ShardIndex { shards, weight_map })
}

/// A single normal path component: no folders, no `..`, nothing absolute.
fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(Component::Normal(_)))
        && components.next().is_none()
        && !name.contains(['/', '\\'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_file_names_are_shards() {
        assert!(is_plain_file_name("model-00001-of-00002.safetensors"));
        for name in [
            "",
            ".",
            "..",
            "../x.safetensors",
            "/etc/passwd",
            "a/b",
            "a\\b",
        ] {
            assert!(!is_plain_file_name(name), "{name}");
        }
    }
}
