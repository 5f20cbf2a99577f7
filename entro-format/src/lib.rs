//! The `.entro` container: quantized, Huffman-coded checkpoints on disk, and
//! safetensors import and export.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod atomic;
mod bytes;
mod dtype;
mod entry;
mod error;
mod header;
mod layout;
pub mod limits;
mod metadata;
mod mmap;
mod quant_record;
mod quantized;
mod reader;
pub mod safetensors;
pub mod synthetic;
mod writer;

pub use dtype::Dtype;
pub use entry::{
    ChunkEntry, ENCODING_QUANTIZED_HUFFMAN, ENCODING_RAW, ENCODING_RESERVED_LOSSLESS,
    TensorEncoding, TensorEntry,
};
pub use error::{ChecksumLocation, Error, ErrorKind, Result};
pub use layout::{ALIGNMENT, END_MAGIC, FOOTER_LEN, FORMAT_VERSION, MAGIC, PREAMBLE_LEN, align_up};
pub use metadata::{FileMetadata, MetadataMap};
pub use quantized::{EncodedTensor, QuantizedEntry, encode_quantized};
pub use reader::{EntroFile, FileLayout};
pub use writer::{EntroWriter, WriteSummary};
