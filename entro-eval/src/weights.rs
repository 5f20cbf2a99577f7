//! Model weights as `f32` candle tensors, loaded from safetensors or decoded from `.entro` files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use entro_decode::{DecodeOptions, Decoder, FloatDtype, Output, TensorOutput};
use entro_format::EntroFile;
use entro_format::safetensors::SafetensorsCheckpoint;

use crate::{Error, Result};

/// A checkpoint's floating-point tensors, all converted to `f32` on the CPU.
///
/// Whatever the stored type (F32, F16, BF16, or quantized codes in a `.entro` file), models run in
/// `f32`, so that the only difference between two checkpoints of one model is their weights.
/// Tensors of other types (integer buffers such as BERT's `position_ids`) are left out: the models
/// of this crate do not read them.
#[derive(Debug, Clone)]
pub struct Weights {
    tensors: HashMap<String, Tensor>,
    /// Elements of every tensor of the checkpoint, the ones left out included.
    parameters: u64,
    /// Bytes of the checkpoint's files on disk.
    file_bytes: u64,
}

impl Weights {
    /// Loads a safetensors checkpoint: a `.safetensors` file, a `*.safetensors.index.json`, or a
    /// folder holding either (see [`SafetensorsCheckpoint::open`]).
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] when the checkpoint cannot be opened or read; [`Error::Io`] when a
    /// file's size cannot be read.
    pub fn from_safetensors(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let checkpoint_error = |source| Error::Checkpoint {
            path: path.to_path_buf(),
            source,
        };
        let checkpoint = SafetensorsCheckpoint::open(path).map_err(checkpoint_error)?;
        let mut tensors = HashMap::new();
        let mut parameters = 0u64;
        for tensor in checkpoint.tensors() {
            let elements = element_count(tensor.shape());
            parameters = parameters.saturating_add(elements);
            let bytes = checkpoint.data(tensor).map_err(checkpoint_error)?;
            let Some(values) = tensor.dtype().widen_to_f32(bytes) else {
                continue;
            };
            let loaded = Tensor::from_vec(values, tensor.shape(), &Device::Cpu)?;
            tensors.insert(tensor.name().to_owned(), loaded);
        }
        let mut file_bytes = 0u64;
        for shard in checkpoint.shard_paths() {
            file_bytes = file_bytes.saturating_add(file_len(shard)?);
        }
        if let Some(index) = checkpoint.index_path() {
            file_bytes = file_bytes.saturating_add(file_len(index)?);
        }
        Ok(Self {
            tensors,
            parameters,
            file_bytes,
        })
    }

    /// Decodes a `.entro` file straight into tensors, in memory, on `threads` worker threads
    /// (0: all cores), with every chunk's checksum checked.
    ///
    /// Each float tensor is decoded to its original type first (quantized tensors dequantized
    /// inside the Huffman decoder and rounded as `entro decompress` rounds them), then widened to
    /// `f32`: the model is exactly the one a decompressed checkpoint gives. Tensors of other types
    /// are left out.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] when the file cannot be opened or is malformed; [`Error::Decode`] when a
    /// chunk is damaged; [`Error::LimitExceeded`] for a tensor too large for memory;
    /// [`Error::Io`] when the file's size cannot be read.
    pub fn from_entro(path: impl AsRef<Path>, threads: usize) -> Result<Self> {
        let path = path.as_ref();
        let file = EntroFile::open(path).map_err(|source| Error::Checkpoint {
            path: path.to_path_buf(),
            source,
        })?;
        let decode_error = |source| Error::Decode {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        let decoder = Decoder::new(DecodeOptions {
            threads,
            verify_checksums: true,
        })
        .map_err(decode_error)?;
        let floats: Vec<_> = file
            .tensors()
            .iter()
            .filter(|entry| FloatDtype::from_dtype(entry.dtype()).is_some())
            .collect();
        let mut buffers = Vec::with_capacity(floats.len());
        for entry in &floats {
            let len = entry
                .original_byte_len()
                .and_then(|len| usize::try_from(len).ok())
                .ok_or(Error::LimitExceeded {
                    what: "tensor elements",
                    found: entry.elements(),
                    limit: usize::MAX as u64,
                })?;
            buffers.push(vec![0u8; len]);
        }
        let outputs = floats
            .iter()
            .zip(buffers.iter_mut())
            .map(|(entry, bytes)| TensorOutput {
                tensor: entry,
                output: Output::Bytes {
                    dtype: entry.dtype(),
                    bytes,
                },
            })
            .collect();
        decoder.decode_into(&file, outputs).map_err(decode_error)?;
        let mut tensors = HashMap::with_capacity(floats.len());
        for (entry, bytes) in floats.iter().zip(buffers) {
            let values = entry.dtype().widen_to_f32(&bytes).unwrap_or_default();
            let tensor = Tensor::from_vec(values, entry.shape(), &Device::Cpu)?;
            tensors.insert(entry.name().to_owned(), tensor);
        }
        let parameters = file
            .tensors()
            .iter()
            .fold(0u64, |sum, entry| sum.saturating_add(entry.elements()));
        Ok(Self {
            tensors,
            parameters,
            file_bytes: file_len(path)?,
        })
    }

    /// Wraps tensors made in memory (they are converted to `f32`). `parameters` and
    /// [`file_bytes`](Self::file_bytes) count only these tensors, at 4 bytes each.
    ///
    /// # Errors
    ///
    /// [`Error::Candle`] when a tensor cannot be converted.
    pub fn from_tensors(tensors: HashMap<String, Tensor>) -> Result<Self> {
        let mut converted = HashMap::with_capacity(tensors.len());
        let mut parameters = 0u64;
        for (name, tensor) in tensors {
            parameters = parameters.saturating_add(tensor.elem_count() as u64);
            converted.insert(name, tensor.to_dtype(DType::F32)?);
        }
        Ok(Self {
            tensors: converted,
            parameters,
            file_bytes: parameters.saturating_mul(4),
        })
    }

    /// The tensor called `name`, if the checkpoint has it (as a float tensor).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }

    /// Whether the checkpoint has a float tensor called `name`.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Names of the float tensors, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Elements of every tensor of the checkpoint (the ones left out included).
    #[must_use]
    pub fn parameters(&self) -> u64 {
        self.parameters
    }

    /// Bytes of the checkpoint's files: everything a user stores to keep this model.
    #[must_use]
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// Storage cost per weight: `file_bytes * 8 / parameters` (0 for an empty checkpoint).
    #[must_use]
    pub fn bits_per_weight(&self) -> f64 {
        if self.parameters == 0 {
            return 0.0;
        }
        self.file_bytes as f64 * 8.0 / self.parameters as f64
    }

    /// A candle variable builder over these tensors, for model constructors.
    #[must_use]
    pub fn var_builder(&self) -> VarBuilder<'static> {
        VarBuilder::from_tensors(self.tensors.clone(), DType::F32, &Device::Cpu)
    }

    /// The tensor called `name` with exactly `shape`.
    ///
    /// # Errors
    ///
    /// [`Error::Tensor`] when it is missing or has another shape.
    pub fn require(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let tensor = self.get(name).ok_or_else(|| Error::Tensor {
            name: name.to_owned(),
            expected: format!("a float tensor of shape {shape:?}"),
            found: "nothing".to_owned(),
        })?;
        if tensor.dims() != shape {
            return Err(Error::Tensor {
                name: name.to_owned(),
                expected: format!("shape {shape:?}"),
                found: format!("shape {:?}", tensor.dims()),
            });
        }
        Ok(tensor.clone())
    }
}

fn element_count(shape: &[usize]) -> u64 {
    shape
        .iter()
        .fold(1u64, |product, &dim| product.saturating_mul(dim as u64))
}

fn file_len(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|metadata| metadata.len())
        .map_err(|source| Error::Io {
            path: PathBuf::from(path),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_misshapen_tensors_are_named() {
        let mut tensors = HashMap::new();
        tensors.insert(
            "w".to_owned(),
            Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap(),
        );
        let weights = Weights::from_tensors(tensors).unwrap();
        assert_eq!(weights.parameters(), 6);
        assert!(weights.require("w", &[2, 3]).is_ok());
        let err = weights.require("w", &[3, 2]).unwrap_err();
        assert!(matches!(err, Error::Tensor { ref name, .. } if name == "w"));
        let err = weights.require("v", &[1]).unwrap_err();
        assert!(matches!(err, Error::Tensor { ref found, .. } if found == "nothing"));
    }
}
