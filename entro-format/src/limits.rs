//! Named upper bounds on every count and length read from a file.
//!
//! A reader checks each number against one of these before it indexes or
//! allocates, so a hostile or damaged file costs at most a bounded amount of
//! memory and time. The values are far above what real checkpoints need (the
//! largest published tensors have a few billion elements) and are part of the
//! format: FORMAT.md lists them, and a writer refuses to exceed them.

/// Most tensors in one `.entro` file.
pub const MAX_TENSORS: usize = 1 << 20;

/// Longest tensor name, in UTF-8 bytes.
pub const MAX_NAME_LEN: usize = 4096;

/// Most dimensions of one tensor.
pub const MAX_NDIM: usize = 32;

/// Most elements in one tensor (about 68.7 billion).
pub const MAX_ELEMENTS: u64 = 1 << 36;

/// Most Huffman chunks in one tensor.
pub const MAX_CHUNKS: usize = 1 << 24;

/// Most quantization blocks (scale and zero point pairs) in one tensor.
pub const MAX_BLOCKS: usize = 1 << 28;

/// Longest serialized canonical codebook, in bytes.
pub const MAX_CODEBOOK_LEN: usize = 4096;

/// Longest header (the part between the payloads and the footer), in bytes.
pub const MAX_HEADER_LEN: u64 = 1 << 30;

/// Most entries in one metadata map.
pub const MAX_METADATA_ENTRIES: usize = 1 << 16;

/// Longest metadata key or value, in UTF-8 bytes.
pub const MAX_METADATA_STRING_LEN: usize = 1 << 24;

/// Longest JSON header of a safetensors file (the `safetensors` crate uses the same bound).
pub const MAX_SAFETENSORS_HEADER_LEN: u64 = 100_000_000;

/// Most shards in a sharded safetensors checkpoint.
pub const MAX_SHARDS: usize = 1 << 16;

/// Longest `model.safetensors.index.json`, in bytes.
pub const MAX_INDEX_JSON_LEN: u64 = 1 << 28;
