//! A canonical, length-limited Huffman codec for byte symbols, built for quantized LLM weights.
//!
//! - [`Codebook`]: optimal length-limited code lengths (package-merge) from codes or a
//!   [`Histogram`], stored as lengths only; [`Codebook::to_bytes`] / [`Codebook::from_bytes`]
//!   serialize it compactly and validate everything on read.
//! - [`Alphabet::NibblePairs`] codes two 4-bit codes per symbol, which beats Huffman's floor of
//!   1 bit per symbol on low-entropy 4-bit streams; [`Codebook::build_best`] picks the smaller one.
//! - [`encode`] cuts a stream into chunks of a fixed code count, each decodable on its own from its
//!   own bytes and made of several bit streams: 64 where the codes of a byte codebook all fit
//!   [`FAST_CODE_LENGTH`] bits (the *wide* layout, decoded sixteen streams per AVX-512 register
//!   where the CPU has it), else 4.
//! - [`DecodeTable`] decodes a chunk with the vector loop where it runs, else with a 12-bit
//!   multi-symbol table (up to six codes per lookup), four streams at a time, straight to `u8`
//!   codes or through a lookup table to any `Copy` type
//!   ([`DecodeTable::decode_chunk_mapped`], e.g. fused dequantization to `f32`); [`DecodeTable16`]
//!   writes 16-bit values (`f16`/`bf16` bit patterns) from its own entries. Corrupt input gives a
//!   [`DecodeError`] naming the chunk and the bit offset; it never panics, hangs or reads out of bounds.
//!
//! ```
//! use entro_huffman::{Alphabet, Codebook, DecodeTable, encode, DEFAULT_MAX_CODE_LENGTH};
//!
//! // Skewed 4-bit codes, as per-tensor quantization produces them.
//! let codes: Vec<u8> = (0..10_000u32).map(|i| [7, 7, 7, 8, 6, 7, 9, 7][(i % 8) as usize]).collect();
//! let codebook = Codebook::build_best(&codes, 4, DEFAULT_MAX_CODE_LENGTH)?;
//! assert_eq!(codebook.alphabet(), Alphabet::NibblePairs);
//!
//! // The codebook travels as a few bytes of code lengths, the codes as chunks.
//! let mut header = Vec::new();
//! codebook.to_bytes(&mut header);
//! let mut stream = Vec::new();
//! let chunks = encode(&codes, &codebook, 4096, &mut stream)?;
//! assert_eq!(chunks.len(), 3);
//!
//! // A reader validates the codebook and decodes any chunk on its own.
//! let (read_back, _) = Codebook::from_bytes(&header)?;
//! let table = DecodeTable::new(&read_back);
//! let last = chunks[2];
//! let start = last.offset as usize;
//! let mut out = vec![0u8; last.codes as usize];
//! table.decode_chunk(2, &stream[start..start + last.len as usize], &mut out)?;
//! assert_eq!(out, codes[8192..]);
//!
//! // Or straight to dequantized values.
//! let lut: [f32; 256] = std::array::from_fn(|code| (code as f32 - 7.0) * 0.5);
//! let mut weights = vec![0f32; last.codes as usize];
//! table.decode_chunk_mapped(2, &stream[start..start + last.len as usize], &lut, &mut weights)?;
//! assert_eq!(weights[0], lut[usize::from(codes[8192])]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Safety
//! The crate denies `unsafe` except in the decoder's hot loops (`decode/kernel.rs`, and the AVX-512
//! loop in `decode/wide_kernel.rs`), which run in batches whose every read and write is proven in
//! bounds before the batch starts; see those modules' documentation. Tests check the vector loop
//! against the scalar one on valid and corrupted chunks, and the fuzz targets decode both.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod alphabet;
mod chunk;
mod codebook;
mod decode;
mod encode;
mod error;
mod histogram;
mod length_limit;
mod serialize;

pub use alphabet::Alphabet;
pub use chunk::chunk_overhead_bytes;
pub use codebook::Codebook;
pub use decode::{DecodeTable, DecodeTable16};
pub use encode::{ChunkInfo, encode};
pub use error::{BuildError, CodebookError, DecodeError, EncodeError};
pub use histogram::Histogram;

/// Longest code length any codebook may use; [`Codebook::from_bytes`] rejects longer ones.
pub const MAX_CODE_LENGTH: u8 = 15;

/// The length limit builders should use. On a real checkpoint quantized per tensor, a limit of 14
/// costs 0.06 % in size over a limit of 15 at both 8 and 4 bits, while 12 for every tensor would
/// miss the 1.03 x entropy target at 4 bits (see the `checkpoint_ratio` example);
/// [`Codebook::build_best`] takes [`FAST_CODE_LENGTH`] per byte codebook where that costs at most
/// [`FAST_LENGTH_MAX_COST`].
pub const DEFAULT_MAX_CODE_LENGTH: u8 = 14;

/// Longest code of a byte codebook whose chunks take the wide layout, which the AVX-512 loop
/// decodes (on SmolLM2-135M's per-tensor 8-bit codes about 1.9 x as fast as the scalar loop, see the
/// `decode` benchmark); the scalar loops also resolve such codes in one table lookup.
pub const FAST_CODE_LENGTH: u8 = 12;

/// How much larger, as `(parts, per)`, a byte code limited to [`FAST_CODE_LENGTH`] may be than the
/// optimal one for [`Codebook::build_best`] to prefer it: 1 %. Every per-tensor 8-bit codebook of
/// SmolLM2-135M qualifies, for 0.5 % more bits than the optimal codes (0.25 % more again for the
/// wide chunks' longer headers).
pub const FAST_LENGTH_MAX_COST: (u64, u64) = (1, 100);

/// Default codes per chunk: 64 Ki codes (64 KiB of `u8` output, 256 KiB of `f32`), small enough for
/// parallel decoding and cache-friendly output, large enough that the chunk header (12 bytes, or
/// 126 in the wide layout) and a container's index entry are noise.
pub const DEFAULT_CHUNK_CODES: usize = 1 << 16;

/// Largest codes-per-chunk [`encode`] accepts (16 Mi), so that a chunk's code count and size fit
/// 32-bit fields.
pub const MAX_CHUNK_CODES: usize = 1 << 24;
