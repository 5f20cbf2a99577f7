//! Reading safetensors checkpoints (one file, or an index plus shards) through memory maps.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use byteorder::{ByteOrder, LittleEndian};

use crate::dtype::Dtype;
use crate::error::{Error, Result, as_u64, check_limit};
use crate::limits::{
    MAX_ELEMENTS, MAX_NAME_LEN, MAX_NDIM, MAX_SAFETENSORS_HEADER_LEN, MAX_TENSORS,
};
use crate::metadata::MetadataMap;
use crate::mmap::Backing;
use crate::safetensors::index::{CheckpointSource, ShardIndex, read_index, resolve};
use crate::safetensors::json::Header;

/// One tensor of a safetensors checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetensorsTensor {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    shard: usize,
    /// Absolute byte range within the shard file.
    start: usize,
    len: usize,
}

impl SafetensorsTensor {
    /// The tensor's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The element type.
    #[must_use]
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// The shape, outermost dimension first.
    #[must_use]
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Length of the tensor's data in bytes.
    #[must_use]
    pub fn byte_len(&self) -> usize {
        self.len
    }

    /// Index of the shard file holding the tensor (0 for a single file).
    #[must_use]
    pub fn shard(&self) -> usize {
        self.shard
    }
}

/// One validated safetensors file.
#[derive(Debug)]
pub(crate) struct ParsedFile {
    pub(crate) metadata: Option<MetadataMap>,
    /// Tensors in data-offset order; `shard` is 0 and ranges are absolute in the file.
    pub(crate) tensors: Vec<SafetensorsTensor>,
}

#[derive(Debug)]
struct Shard {
    path: PathBuf,
    backing: Backing,
}

/// A safetensors checkpoint opened for reading: a single `.safetensors` file
/// or a sharded one (`model.safetensors.index.json` plus its shards), each
/// file memory-mapped and validated up front.
///
/// Tensors come in a stable order: a single file's data-offset order (which is
/// its header order for files written by the safetensors libraries), or the
/// index's `weight_map` order for sharded checkpoints.
#[derive(Debug)]
pub struct SafetensorsCheckpoint {
    shards: Vec<Shard>,
    tensors: Vec<SafetensorsTensor>,
    by_name: HashMap<String, usize>,
    metadata: Option<MetadataMap>,
    index_path: Option<PathBuf>,
}

impl SafetensorsCheckpoint {
    /// Opens a `.safetensors` file, a `*.safetensors.index.json`, or a folder
    /// holding `model.safetensors.index.json`, `model.safetensors`, or exactly
    /// one of either kind.
    ///
    /// # Errors
    ///
    /// [`Error::Io`], [`Error::Safetensors`] for malformed files or indexes,
    /// [`Error::LimitExceeded`], and [`Error::InvalidArgument`] when a folder
    /// holds no checkpoint or several candidates.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        match resolve(path.as_ref())? {
            CheckpointSource::Single(path) => {
                let backing = Backing::open(&path)?;
                let parsed = parse_file(backing.bytes(), &path)?;
                Self::assemble(
                    vec![Shard { path, backing }],
                    parsed.tensors,
                    parsed.metadata,
                    None,
                )
            }
            CheckpointSource::Index(index_path) => open_sharded(index_path),
        }
    }

    /// Validates one safetensors file held in memory, as [`SafetensorsCheckpoint::open`] does.
    ///
    /// # Errors
    ///
    /// [`Error::Safetensors`] or [`Error::LimitExceeded`].
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let backing = Backing::Owned(bytes.into());
        let path = PathBuf::from("<memory>");
        let parsed = parse_file(backing.bytes(), &path)?;
        Self::assemble(
            vec![Shard { path, backing }],
            parsed.tensors,
            parsed.metadata,
            None,
        )
    }

    fn assemble(
        shards: Vec<Shard>,
        tensors: Vec<SafetensorsTensor>,
        metadata: Option<MetadataMap>,
        index_path: Option<PathBuf>,
    ) -> Result<Self> {
        check_limit("tensor count", as_u64(tensors.len()), as_u64(MAX_TENSORS))?;
        let by_name = tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Ok(Self {
            shards,
            tensors,
            by_name,
            metadata,
            index_path,
        })
    }

    /// All tensors, in the checkpoint's order.
    #[must_use]
    pub fn tensors(&self) -> &[SafetensorsTensor] {
        &self.tensors
    }

    /// The tensor called `name`.
    #[must_use]
    pub fn tensor(&self, name: &str) -> Option<&SafetensorsTensor> {
        self.by_name.get(name).and_then(|&i| self.tensors.get(i))
    }

    /// The tensor's raw little-endian bytes, straight from the memory map.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `tensor` does not come from this checkpoint.
    pub fn data(&self, tensor: &SafetensorsTensor) -> Result<&[u8]> {
        let end = tensor.start.checked_add(tensor.len);
        self.shards
            .get(tensor.shard)
            .zip(end)
            .and_then(|(shard, end)| shard.backing.bytes().get(tensor.start..end))
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "tensor `{}` does not belong to this checkpoint",
                    tensor.name
                ))
            })
    }

    /// The checkpoint's `__metadata__` (of the first shard, for sharded checkpoints).
    #[must_use]
    pub fn metadata(&self) -> Option<&MetadataMap> {
        self.metadata.as_ref()
    }

    /// The files holding tensor data, in shard order.
    pub fn shard_paths(&self) -> impl ExactSizeIterator<Item = &Path> {
        self.shards.iter().map(|shard| shard.path.as_path())
    }

    /// The index file, for sharded checkpoints.
    #[must_use]
    pub fn index_path(&self) -> Option<&Path> {
        self.index_path.as_deref()
    }

    /// Total bytes of tensor data.
    #[must_use]
    pub fn data_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| as_u64(t.len)).sum()
    }
}

fn open_sharded(index_path: PathBuf) -> Result<SafetensorsCheckpoint> {
    let ShardIndex {
        shards: shard_paths,
        weight_map,
    } = read_index(&index_path)?;
    let shard_of: HashMap<&str, usize> = weight_map
        .iter()
        .map(|(name, shard)| (name.as_str(), *shard))
        .collect();
    let mut shards = Vec::with_capacity(shard_paths.len());
    let mut located: HashMap<String, SafetensorsTensor> = HashMap::new();
    let mut metadata = None;
    for (shard_index, path) in shard_paths.into_iter().enumerate() {
        let backing = Backing::open(&path)?;
        let parsed = parse_file(backing.bytes(), &path)?;
        if shard_index == 0 {
            metadata = parsed.metadata;
        }
        for mut tensor in parsed.tensors {
            tensor.shard = shard_index;
            if shard_of.get(tensor.name.as_str()) != Some(&shard_index) {
                return Err(Error::Safetensors {
                    path: index_path.clone(),
                    expected: format!(
                        "tensor `{}` of {} listed for that shard",
                        tensor.name,
                        path.display()
                    ),
                    found: "no such entry in `weight_map`".to_owned(),
                });
            }
            located.insert(tensor.name.clone(), tensor);
        }
        shards.push(Shard { path, backing });
    }
    let mut tensors = Vec::with_capacity(weight_map.len());
    for (name, shard_index) in &weight_map {
        let Some(tensor) = located.remove(name) else {
            let shard = shards
                .get(*shard_index)
                .map_or_else(String::new, |s| s.path.display().to_string());
            return Err(Error::Safetensors {
                path: index_path.clone(),
                expected: format!("tensor `{name}` in {shard}"),
                found: "no such tensor in the shard".to_owned(),
            });
        };
        tensors.push(tensor);
    }
    SafetensorsCheckpoint::assemble(shards, tensors, metadata, Some(index_path))
}

/// Validates one safetensors file the way the `safetensors` crate does (header
/// length, JSON, dtypes, shapes, and data offsets that tile the data section
/// exactly), with checked arithmetic and this crate's limits.
pub(crate) fn parse_file(file: &[u8], path: &Path) -> Result<ParsedFile> {
    let bad = |expected: String, found: String| Error::Safetensors {
        path: path.to_path_buf(),
        expected,
        found,
    };
    let prefix = file.get(..8).ok_or_else(|| {
        bad(
            "an 8-byte header length".into(),
            format!("a {}-byte file", file.len()),
        )
    })?;
    let header_len = LittleEndian::read_u64(prefix);
    check_limit(
        "safetensors header length",
        header_len,
        MAX_SAFETENSORS_HEADER_LEN,
    )?;
    let header_end = usize::try_from(header_len)
        .ok()
        .and_then(|len| len.checked_add(8));
    let header_bytes = header_end.and_then(|end| file.get(8..end)).ok_or_else(|| {
        bad(
            format!("a {header_len}-byte JSON header"),
            format!("a {}-byte file", file.len()),
        )
    })?;
    let header: Header = serde_json::from_slice(header_bytes)
        .map_err(|err| bad("a valid JSON header".into(), err.to_string()))?;
    let data_start = header_end.unwrap_or(file.len());
    let data_len = as_u64(file.len().saturating_sub(data_start));
    check_limit(
        "tensor count",
        as_u64(header.tensors.len()),
        as_u64(MAX_TENSORS),
    )?;
    let mut tensors = Vec::with_capacity(header.tensors.len());
    for raw in header.tensors {
        check_limit(
            "tensor name length",
            as_u64(raw.name.len()),
            as_u64(MAX_NAME_LEN),
        )?;
        check_limit(
            "tensor dimensions",
            as_u64(raw.shape.len()),
            as_u64(MAX_NDIM),
        )?;
        let dtype = Dtype::from_safetensors_name(&raw.dtype).ok_or_else(|| {
            bad(
                format!("a known dtype for `{}`", raw.name),
                format!("`{}`", raw.dtype),
            )
        })?;
        let mut elements: u64 = 1;
        let mut shape = Vec::with_capacity(raw.shape.len());
        for &dim in &raw.shape {
            elements = elements.saturating_mul(dim);
            check_limit("tensor elements", elements, MAX_ELEMENTS)?;
            shape.push(
                usize::try_from(dim).map_err(|_| Error::limit("dimension", MAX_ELEMENTS, dim))?,
            );
        }
        let size = dtype.byte_len(elements).ok_or_else(|| {
            bad(
                format!("whole bytes for `{}`", raw.name),
                format!("{elements} elements of {dtype}"),
            )
        })?;
        let (begin, end) = raw.data_offsets;
        if end.checked_sub(begin) != Some(size) {
            return Err(bad(
                format!("data offsets spanning {size} bytes for `{}`", raw.name),
                format!("[{begin}, {end}]"),
            ));
        }
        let (Some(start), Some(len)) = (
            usize::try_from(begin)
                .ok()
                .and_then(|begin| begin.checked_add(data_start)),
            usize::try_from(size).ok(),
        ) else {
            return Err(Error::limit("tensor bytes", as_u64(usize::MAX), size));
        };
        tensors.push(SafetensorsTensor {
            name: raw.name,
            dtype,
            shape,
            shard: 0,
            start,
            len,
        });
    }
    // A stable sort keeps header order among zero-length tensors at the same offset.
    tensors.sort_by_key(|tensor| tensor.start);
    let mut next = data_start;
    for tensor in &tensors {
        if tensor.start != next {
            return Err(bad(
                format!(
                    "`{}` to start at data offset {} (no gaps or overlaps)",
                    tensor.name,
                    next.saturating_sub(data_start)
                ),
                format!("offset {}", tensor.start.saturating_sub(data_start)),
            ));
        }
        next = tensor.start.saturating_add(tensor.len);
    }
    if next != file.len() {
        return Err(bad(
            format!("tensor data ending at the end of the file ({data_len} bytes)"),
            format!("{} bytes", next.saturating_sub(data_start)),
        ));
    }
    Ok(ParsedFile {
        metadata: header.metadata,
        tensors,
    })
}
