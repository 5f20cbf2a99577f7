//! The `.entro` container: quantized, Huffman-coded checkpoints on disk, and
//! safetensors import and export.
//!
//! A `.entro` file holds a whole checkpoint in the source's tensor order. Each
//! tensor is either **quantized** (entro-quant parameters, an entro-huffman
//! canonical codebook, and independently decodable chunks, each with its own
//! CRC-32C), **lossless** (F32, F16 and BF16 coded bit-exactly by the
//! [`lossless`] codec in independently decodable chunks, each with its own
//! CRC-32C; see [`EntroWriter::add_lossless`]) or **kept exactly** (the
//! original bytes and their CRC-32C). The byte layout is specified in
//! `FORMAT.md`, beside this crate's manifest.
//!
//! - [`EntroWriter`] streams a file to disk one tensor at a time and renames
//!   it into place only when complete.
//! - [`EntroFile`] memory-maps a file and validates all of its structure
//!   before handing out zero-copy payload and chunk slices; payload
//!   checksums are checked per chunk at decode time ([`EntroFile::verify_chunk`]).
//!   Every length and offset read from a file is bounds-checked against the
//!   [`limits`]; no input makes it panic.
//! - [`safetensors`] reads single-file and sharded Hugging Face checkpoints
//!   through memory maps and writes standard safetensors back.
//!
//! Errors come in categories ([`ErrorKind`]): i/o, malformed input (with the
//! offset and what was expected), unsupported version or encoding, limits
//! exceeded, checksum mismatches, and caller misuse.
//!
//! # Example
//!
//! ```
//! use entro_format::{Dtype, EntroFile, EntroWriter, FileMetadata, encode_quantized};
//! use entro_huffman::DecodeTable;
//! use entro_quant::{FloatSlice, QuantConfig, quantize};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let folder = tempfile::tempdir()?;
//! let path = folder.path().join("model.entro");
//!
//! // Quantize a 2-D tensor at 8 bits and Huffman-code it in chunks of 256 codes.
//! let shape = [16, 64];
//! let weights: Vec<f32> = (0..1024).map(|i| ((i * 37 % 101) as f32 - 50.0) / 1000.0).collect();
//! let mut codes = vec![0u8; weights.len()];
//! let report = quantize("proj", FloatSlice::F32(&weights), &shape, &QuantConfig::default(), &mut codes)?;
//! let encoded = encode_quantized("proj", &codes, &shape, report.params, report.stats, 256)?;
//!
//! let mut writer = EntroWriter::create(&path, FileMetadata::default())?;
//! writer.add_quantized("proj", &shape, Dtype::F32, &encoded)?;
//! writer.add_raw("norm", &[4], Dtype::F32, &[0u8; 16])?;
//! let summary = writer.finish()?;
//! assert_eq!(summary.tensors, 2);
//!
//! // Reading validates the header; each chunk is checked and decoded on its own.
//! let file = EntroFile::open(&path)?;
//! let entry = file.tensor("proj").unwrap();
//! let quantized = entry.quantized().unwrap();
//! let table = DecodeTable::new(quantized.codebook());
//! let mut decoded = vec![0u8; codes.len()];
//! for (index, chunk) in quantized.chunks().iter().enumerate() {
//!     file.verify_chunk(entry, index)?;
//!     let start = chunk.first_code as usize;
//!     let out = &mut decoded[start..start + chunk.codes as usize];
//!     table.decode_chunk(index, file.chunk_bytes(entry, index)?, out)?;
//! }
//! assert_eq!(decoded, codes);
//! assert_eq!(file.read_raw(file.tensor("norm").unwrap())?, &[0u8; 16]);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod atomic;
mod block_params;
mod bytes;
mod chunk_table;
mod dtype;
mod entry;
mod error;
mod header;
mod layout;
pub mod limits;
pub mod lossless;
mod lossless_tensor;
mod metadata;
mod mmap;
mod quant_record;
mod quantized;
mod reader;
mod relative;
pub mod safetensors;
pub mod synthetic;
mod writer;

pub use dtype::Dtype;
pub use entry::{
    ChunkEntry, ENCODING_LOSSLESS, ENCODING_QUANTIZED_CODED_PARAMS, ENCODING_QUANTIZED_HUFFMAN,
    ENCODING_QUANTIZED_RELATIVE, ENCODING_RAW, TensorEncoding, TensorEntry,
};
pub use error::{ChecksumLocation, Error, ErrorKind, Result};
pub use layout::{ALIGNMENT, END_MAGIC, FOOTER_LEN, FORMAT_VERSION, MAGIC, PREAMBLE_LEN, align_up};
pub use lossless_tensor::{EncodedLossless, LosslessEntry, encode_lossless, encode_lossless_with};
pub use metadata::{FileMetadata, MetadataMap};
pub use quantized::{EncodedTensor, QuantizedEntry, encode_quantized};
pub use reader::{EntroFile, FileLayout};
pub use relative::{CodeForm, choose_code_form};
pub use writer::{EntroWriter, WriteSummary};
