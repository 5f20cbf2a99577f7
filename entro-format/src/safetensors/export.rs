//! Streaming safetensors export, single-file or sharded the Hugging Face way.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::atomic::AtomicFile;
use crate::dtype::Dtype;
use crate::error::{Error, Result, as_u64, check_limit};
use crate::limits::{MAX_ELEMENTS, MAX_SAFETENSORS_HEADER_LEN, MAX_TENSORS};
use crate::metadata::MetadataMap;
use crate::safetensors::index::INDEX_FILE_NAME;

/// A tensor to export: everything but the data, which is streamed later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// The tensor's name (not `__metadata__`).
    pub name: String,
    /// The element type of the data that will be written.
    pub dtype: Dtype,
    /// The shape, outermost dimension first.
    pub shape: Vec<usize>,
}

#[derive(Debug)]
struct PlannedShard {
    path: PathBuf,
    /// Index of the shard's first tensor; the shard ends where the next begins.
    first: usize,
}

/// Writes a standard safetensors checkpoint from tensors streamed in order.
///
/// The tensor list is given up front, so every header can be written before
/// any data; data then streams through, a tensor (or part of one) at a time.
/// Files are written under temporary names and renamed into place by
/// [`SafetensorsWriter::finish`] (shards first, index last); dropping the
/// writer unfinished leaves nothing behind.
#[derive(Debug)]
pub struct SafetensorsWriter {
    specs: Vec<TensorSpec>,
    sizes: Vec<u64>,
    metadata: Option<MetadataMap>,
    shards: Vec<PlannedShard>,
    index_path: Option<PathBuf>,
    /// The shard being written and the tensor being filled.
    shard: usize,
    tensor: usize,
    written: u64,
    open: Option<AtomicFile>,
    done: Vec<AtomicFile>,
}

impl SafetensorsWriter {
    /// Plans a single `.safetensors` file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for repeated or reserved names or shapes
    /// that do not fill whole bytes; [`Error::LimitExceeded`]; [`Error::Io`].
    pub fn create(
        path: impl AsRef<Path>,
        tensors: Vec<TensorSpec>,
        metadata: Option<&MetadataMap>,
    ) -> Result<Self> {
        let shards = vec![PlannedShard {
            path: path.as_ref().to_path_buf(),
            first: 0,
        }];
        Self::start(tensors, metadata, shards, None)
    }

    /// Plans a sharded checkpoint in `folder`: `model-0000i-of-0000n.safetensors`
    /// files of at most `max_shard_bytes` of tensor data each (a larger tensor
    /// gets a shard of its own), plus `model.safetensors.index.json`. Every
    /// shard carries `metadata` as its `__metadata__`.
    ///
    /// # Errors
    ///
    /// As [`SafetensorsWriter::create`]; [`Error::InvalidArgument`] if
    /// `max_shard_bytes` is zero or there are no tensors.
    pub fn create_sharded(
        folder: impl AsRef<Path>,
        tensors: Vec<TensorSpec>,
        metadata: Option<&MetadataMap>,
        max_shard_bytes: u64,
    ) -> Result<Self> {
        if max_shard_bytes == 0 {
            return Err(Error::invalid_argument(
                "the maximum shard size must be positive",
            ));
        }
        if tensors.is_empty() {
            // An index must name at least one tensor to be read back.
            return Err(Error::invalid_argument(
                "a sharded checkpoint needs at least one tensor",
            ));
        }
        let sizes = tensor_sizes(&tensors)?;
        let mut firsts = vec![0];
        let mut filled: u64 = 0;
        for (i, &size) in sizes.iter().enumerate() {
            if filled > 0 && filled.saturating_add(size) > max_shard_bytes {
                firsts.push(i);
                filled = 0;
            }
            filled = filled.saturating_add(size);
        }
        let count = firsts.len();
        let folder = folder.as_ref();
        let shards = firsts
            .into_iter()
            .enumerate()
            .map(|(i, first)| PlannedShard {
                path: folder.join(format!("model-{:05}-of-{count:05}.safetensors", i + 1)),
                first,
            })
            .collect();
        Self::start(
            tensors,
            metadata,
            shards,
            Some(folder.join(INDEX_FILE_NAME)),
        )
    }

    fn start(
        specs: Vec<TensorSpec>,
        metadata: Option<&MetadataMap>,
        shards: Vec<PlannedShard>,
        index_path: Option<PathBuf>,
    ) -> Result<Self> {
        let sizes = tensor_sizes(&specs)?;
        let mut writer = Self {
            specs,
            sizes,
            metadata: metadata.cloned(),
            shards,
            index_path,
            shard: 0,
            tensor: 0,
            written: 0,
            open: None,
            done: Vec::new(),
        };
        writer.open_shard()?;
        Ok(writer)
    }

    /// The tensor whose data is expected next, if any.
    #[must_use]
    pub fn next_tensor(&self) -> Option<&TensorSpec> {
        self.specs.get(self.tensor)
    }

    /// Appends `bytes` to the current tensor's data (they may be part of it).
    /// A tensor is complete once all its bytes are written; a tensor of zero
    /// bytes is completed by an empty write.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `bytes` run past the current tensor or
    /// all tensors are complete (nothing is written then); [`Error::Io`].
    pub fn write_data(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(&size) = self.sizes.get(self.tensor) else {
            return Err(Error::invalid_argument(
                "every tensor's data was already written",
            ));
        };
        let written = self.written.saturating_add(as_u64(bytes.len()));
        if written > size {
            return Err(Error::invalid_argument(format!(
                "tensor `{}` takes {size} bytes; {written} would be written",
                self.specs.get(self.tensor).map_or("", |s| s.name.as_str())
            )));
        }
        self.open_file()?.write_all(bytes)?;
        self.written = written;
        if written == size {
            self.complete_tensor()?;
        }
        Ok(())
    }

    /// Writes the whole data of the next tensor, which must be called `name`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for another name, a partly written tensor,
    /// or the wrong length; [`Error::Io`].
    pub fn write_tensor(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let expected = self.next_tensor().map(|spec| spec.name.as_str());
        if expected != Some(name) || self.written != 0 {
            return Err(Error::invalid_argument(format!(
                "tensor `{name}` given, but the next expected is {}",
                expected.map_or_else(|| "none".to_owned(), |n| format!("`{n}` from its start"))
            )));
        }
        let size = self.sizes.get(self.tensor).copied().unwrap_or(0);
        if as_u64(bytes.len()) != size {
            return Err(Error::invalid_argument(format!(
                "tensor `{name}` takes {size} bytes, {} given",
                bytes.len()
            )));
        }
        self.write_data(bytes)
    }

    /// Checks that every tensor was written, then renames all files into place.
    /// Returns the paths written (shards, then the index).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if data is missing; [`Error::Io`].
    pub fn finish(mut self) -> Result<Vec<PathBuf>> {
        if let Some(spec) = self.next_tensor() {
            return Err(Error::invalid_argument(format!(
                "tensor `{}` and those after it were not written",
                spec.name
            )));
        }
        if let Some(mut file) = self.open.take() {
            file.sync()?;
            self.done.push(file);
        }
        let mut paths: Vec<PathBuf> = self
            .done
            .iter()
            .map(|f| f.final_path().to_path_buf())
            .collect();
        let index = match &self.index_path {
            Some(path) => {
                let mut file = AtomicFile::create(path)?;
                file.write_all(self.index_json()?.as_bytes())?;
                file.sync()?;
                paths.push(path.clone());
                Some(file)
            }
            None => None,
        };
        for file in self.done.drain(..).chain(index) {
            file.persist()?;
        }
        Ok(paths)
    }

    fn open_file(&mut self) -> Result<&mut AtomicFile> {
        if self.open.is_none() {
            self.open_shard()?;
        }
        self.open
            .as_mut()
            .ok_or_else(|| Error::invalid_argument("no shard left to write"))
    }

    /// Creates the current shard's file and writes its header.
    fn open_shard(&mut self) -> Result<()> {
        let Some(shard) = self.shards.get(self.shard) else {
            return Ok(());
        };
        let end = self
            .shards
            .get(self.shard + 1)
            .map_or(self.specs.len(), |next| next.first);
        let range = shard.first..end;
        let header = header_json(
            self.specs.get(range.clone()).unwrap_or_default(),
            self.sizes.get(range).unwrap_or_default(),
            self.metadata.as_ref(),
        )?;
        let mut file = AtomicFile::create(&shard.path)?;
        file.write_all(&as_u64(header.len()).to_le_bytes())?;
        file.write_all(&header)?;
        self.open = Some(file);
        Ok(())
    }

    fn complete_tensor(&mut self) -> Result<()> {
        self.tensor += 1;
        self.written = 0;
        let next_first = self.shards.get(self.shard + 1).map(|next| next.first);
        if next_first == Some(self.tensor) {
            if let Some(mut file) = self.open.take() {
                file.sync()?;
                self.done.push(file);
            }
            self.shard += 1;
        }
        Ok(())
    }

    fn index_json(&self) -> Result<String> {
        let total: u64 = self.sizes.iter().sum();
        let mut json = format!(
            "{{\n  \"metadata\": {{\n    \"total_size\": {total}\n  }},\n  \"weight_map\": {{"
        );
        let mut shard = 0;
        for (i, spec) in self.specs.iter().enumerate() {
            while self
                .shards
                .get(shard + 1)
                .is_some_and(|next| next.first <= i)
            {
                shard += 1;
            }
            let file = self
                .shards
                .get(shard)
                .and_then(|s| s.path.file_name())
                .unwrap_or_default();
            let separator = if i == 0 { "" } else { "," };
            let _ = write!(
                json,
                "{separator}\n    {}: {}",
                quote(&spec.name)?,
                quote(&file.to_string_lossy())?
            );
        }
        json.push_str("\n  }\n}\n");
        Ok(json)
    }
}

/// Byte sizes of the tensors, after checking names, shapes and limits.
fn tensor_sizes(specs: &[TensorSpec]) -> Result<Vec<u64>> {
    check_limit("tensor count", as_u64(specs.len()), as_u64(MAX_TENSORS))?;
    let mut names = HashSet::with_capacity(specs.len());
    specs
        .iter()
        .map(|spec| {
            if spec.name == "__metadata__" || !names.insert(spec.name.as_str()) {
                return Err(Error::invalid_argument(format!(
                    "tensor name `{}` is reserved or repeated",
                    spec.name
                )));
            }
            let elements = spec
                .shape
                .iter()
                .try_fold(1u64, |n, &d| n.checked_mul(as_u64(d)));
            let elements = elements.unwrap_or(u64::MAX);
            check_limit("tensor elements", elements, MAX_ELEMENTS)?;
            spec.dtype.byte_len(elements).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "tensor `{}`: {elements} elements of {} do not fill whole bytes",
                    spec.name, spec.dtype
                ))
            })
        })
        .collect()
}

fn quote(text: &str) -> Result<String> {
    serde_json::to_string(text)
        .map_err(|err| Error::invalid_argument(format!("cannot write `{text}` as JSON: {err}")))
}

/// The JSON header of one file, padded with spaces to a multiple of 8 bytes
/// so that the data section starts aligned.
fn header_json(
    specs: &[TensorSpec],
    sizes: &[u64],
    metadata: Option<&MetadataMap>,
) -> Result<Vec<u8>> {
    let mut json = String::from("{");
    let mut first = true;
    let mut separator = || if std::mem::take(&mut first) { "" } else { "," };
    if let Some(metadata) = metadata {
        json.push_str(separator());
        json.push_str("\"__metadata__\":{");
        for (i, (key, value)) in metadata.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(json, "{comma}{}:{}", quote(key)?, quote(value)?);
        }
        json.push('}');
    }
    let mut offset: u64 = 0;
    for (spec, &size) in specs.iter().zip(sizes) {
        let shape = spec
            .shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let end = offset.saturating_add(size);
        let _ = write!(
            json,
            "{}{}:{{\"dtype\":\"{}\",\"shape\":[{shape}],\"data_offsets\":[{offset},{end}]}}",
            separator(),
            quote(&spec.name)?,
            spec.dtype.safetensors_name(),
        );
        offset = end;
    }
    json.push('}');
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    check_limit(
        "safetensors header length",
        as_u64(json.len()),
        MAX_SAFETENSORS_HEADER_LEN,
    )?;
    Ok(json.into_bytes())
}
