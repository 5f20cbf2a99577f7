//! Parallel decoding of `.entro` checkpoints: the third stage of EntroLLM (Sanyal et al., arXiv
//! 2505.02380), turning a memory-mapped file back into weights as fast as the cores allow.
//!
//! - A [`Decoder`] owns a pool of worker threads ([`DecodeOptions::threads`], by default the
//!   machine's available parallelism). The chunks of all requested tensors form one job list, so
//!   small tensors never leave threads idle; every job writes its own disjoint piece of the output,
//!   so the result is the same for every thread count and chunk size.
//! - Outputs go straight into caller buffers ([`Output`]): `u8` codes, or `f32` / `f16` / `bf16`
//!   (typed or as little-endian bytes) dequantized inside the Huffman decoding loop through a
//!   256-entry lookup table, so no code buffer is made. Values are bit for bit those of
//!   [`entro_quant::dequantize`]. Tensors stored losslessly (`entro compress --lossless`) decode
//!   chunk by chunk in the same job list, bit for bit to their own dtype (straight into the output)
//!   or converted to another float type. Tensors kept exactly are copied, or converted between
//!   float types (exactly, or rounded to nearest).
//! - Three ways in: one tensor ([`Decoder::decode_tensor`]), many or all tensors
//!   ([`Decoder::decode_into`], [`Decoder::decode_model`]), or layer by layer with the next layer
//!   decoded in the background ([`Decoder::layers`]).
//! - Chunk checksums are checked as part of decoding (unless turned off); a bad chunk is an
//!   [`Error`] naming the tensor and the chunk. [`Decoder::verify`] checks a whole file and lists
//!   every problem.
//!
//! ```
//! use entro_decode::{DecodeOptions, Decoder, Output, Target};
//! use entro_format::{EntroFile, EntroWriter, FileMetadata, encode_quantized};
//! use entro_quant::{FloatSlice, QuantConfig, dequantize, FloatSliceMut, quantize};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Write a small .entro file with one quantized tensor.
//! let weights: Vec<f32> = (0..4096).map(|i| ((i * 37 % 101) as f32 - 50.0) / 200.0).collect();
//! let shape = [64, 64];
//! let mut codes = vec![0u8; weights.len()];
//! let report = quantize("w", FloatSlice::F32(&weights), &shape, &QuantConfig::default(), &mut codes)?;
//! let encoded = encode_quantized("w", &codes, &shape, report.params.clone(), report.stats, 1000)?;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("tiny.entro");
//! let mut writer = EntroWriter::create(&path, FileMetadata::default())?;
//! writer.add_quantized("w", &shape, entro_format::Dtype::F32, &encoded)?;
//! writer.finish()?;
//!
//! // Decode it on two threads, straight to f16.
//! let file = EntroFile::open(&path)?;
//! let decoder = Decoder::new(DecodeOptions { threads: 2, verify_checksums: true })?;
//! let entry = file.tensor("w").expect("the tensor is there");
//! let mut halves = vec![half::f16::ZERO; weights.len()];
//! decoder.decode_tensor(&file, entry, Output::F16(&mut halves))?;
//!
//! // The same values as dequantizing the codes directly.
//! let mut expected = vec![half::f16::ZERO; weights.len()];
//! dequantize(&codes, &report.params, &shape, FloatSliceMut::F16(&mut expected))?;
//! assert_eq!(halves, expected);
//!
//! // Or decode the whole model into new buffers.
//! let model = decoder.decode_model(&file, Target::Codes)?;
//! assert_eq!(model[0].data, entro_decode::TypedBuffer::Codes(codes));
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod convert;
mod decoder;
mod error;
mod layers;
mod lossless;
mod plan;
mod run;
mod target;
mod verify;

pub use decoder::{DecodeOptions, Decoder, TensorOutput};
pub use error::{Error, ErrorKind, Result};
pub use layers::{DecodedLayer, LayerGroup, LayerIter, layer_groups, layer_prefix};
pub use target::{DecodedTensor, FloatDtype, Output, OutputKind, Target, TypedBuffer};
pub use verify::VerifyReport;
