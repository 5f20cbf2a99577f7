//! What a `.entro` file says about one tensor.

use crate::dtype::Dtype;
use crate::lossless_tensor::LosslessEntry;
use crate::quantized::QuantizedEntry;

/// On-disk tag of [`TensorEncoding::Raw`].
pub const ENCODING_RAW: u8 = 0;
/// On-disk tag of [`TensorEncoding::Quantized`].
pub const ENCODING_QUANTIZED_HUFFMAN: u8 = 1;
/// On-disk tag of [`TensorEncoding::Lossless`].
pub const ENCODING_LOSSLESS: u8 = 2;
/// On-disk tag of a [`TensorEncoding::Quantized`] whose block parameters are entropy-coded
/// (written for fine granularities: 64 or more blocks).
pub const ENCODING_QUANTIZED_CODED_PARAMS: u8 = 3;
/// On-disk tag of a [`TensorEncoding::Quantized`] with entropy-coded block parameters whose codes
/// are stored relative to their block's zero point ([`crate::CodeForm::RelativeToZeroPoints`]).
pub const ENCODING_QUANTIZED_RELATIVE: u8 = 4;

/// One tensor of a `.entro` file, as its header record describes it.
///
/// Entries come from [`crate::EntroFile`], which has validated every field
/// against the file, so offsets and lengths here are known to be in bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    pub(crate) name: String,
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) elements: u64,
    pub(crate) payload_offset: u64,
    pub(crate) payload_len: u64,
    pub(crate) encoding: TensorEncoding,
}

impl TensorEntry {
    /// The tensor's name, as in the source checkpoint.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The element type the source checkpoint stored.
    #[must_use]
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// The shape, outermost dimension first (empty for a scalar).
    #[must_use]
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements (the product of the shape).
    #[must_use]
    pub fn elements(&self) -> u64 {
        self.elements
    }

    /// Absolute byte offset of the payload in the file (a multiple of [`crate::ALIGNMENT`]).
    #[must_use]
    pub fn payload_offset(&self) -> u64 {
        self.payload_offset
    }

    /// Payload length in bytes.
    #[must_use]
    pub fn payload_len(&self) -> u64 {
        self.payload_len
    }

    /// How the payload encodes the tensor.
    #[must_use]
    pub fn encoding(&self) -> &TensorEncoding {
        &self.encoding
    }

    /// The quantization details, if the tensor is quantized.
    #[must_use]
    pub fn quantized(&self) -> Option<&QuantizedEntry> {
        match &self.encoding {
            TensorEncoding::Quantized(quantized) => Some(quantized),
            TensorEncoding::Raw { .. } | TensorEncoding::Lossless(_) => None,
        }
    }

    /// The chunk table and float layout, if the tensor is stored losslessly.
    #[must_use]
    pub fn lossless(&self) -> Option<&LosslessEntry> {
        match &self.encoding {
            TensorEncoding::Lossless(lossless) => Some(lossless),
            TensorEncoding::Raw { .. } | TensorEncoding::Quantized(_) => None,
        }
    }

    /// The independently decodable chunks of a quantized or lossless tensor,
    /// in element order (empty for a raw tensor).
    #[must_use]
    pub fn chunks(&self) -> &[ChunkEntry] {
        match &self.encoding {
            TensorEncoding::Raw { .. } => &[],
            TensorEncoding::Quantized(quantized) => quantized.chunks(),
            TensorEncoding::Lossless(lossless) => lossless.chunks(),
        }
    }

    /// Bytes of the tensor in its original dtype (what a decoder writes out).
    #[must_use]
    pub fn original_byte_len(&self) -> Option<u64> {
        self.dtype.byte_len(self.elements)
    }
}

/// How a tensor's payload is encoded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TensorEncoding {
    /// Kept exactly: the payload is the original little-endian bytes.
    Raw {
        /// CRC-32C of the whole payload.
        crc32c: u32,
    },
    /// Quantized, then Huffman-coded in independently decodable chunks.
    Quantized(Box<QuantizedEntry>),
    /// Stored bit-exactly by the [`crate::lossless`] codec, in independently
    /// decodable chunks (F32, F16 and BF16 tensors only).
    Lossless(Box<LosslessEntry>),
}

impl TensorEncoding {
    /// The on-disk tag.
    #[must_use]
    pub fn tag(&self) -> u8 {
        match self {
            Self::Raw { .. } => ENCODING_RAW,
            Self::Quantized(quantized)
                if quantized.code_form() == crate::CodeForm::RelativeToZeroPoints =>
            {
                ENCODING_QUANTIZED_RELATIVE
            }
            Self::Quantized(quantized) if quantized.params_coded() => {
                ENCODING_QUANTIZED_CODED_PARAMS
            }
            Self::Quantized(_) => ENCODING_QUANTIZED_HUFFMAN,
            Self::Lossless(_) => ENCODING_LOSSLESS,
        }
    }

    /// A short lowercase name (`"raw"`, `"quantized"`, `"lossless"`), for listings.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Raw { .. } => "raw",
            Self::Quantized(_) => "quantized",
            Self::Lossless(_) => "lossless",
        }
    }
}

/// One independently decodable chunk of a quantized tensor (Huffman-coded
/// codes) or of a lossless tensor (coded elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkEntry {
    /// Number of codes (weights), or elements of a lossless tensor, the chunk decodes to.
    pub codes: u32,
    /// Index of the chunk's first code (element) within the tensor (sum of the earlier chunks' counts).
    pub first_code: u64,
    /// Byte offset of the chunk within the tensor's payload.
    pub offset: u64,
    /// Byte length of the chunk.
    pub len: u32,
    /// CRC-32C of the chunk's bytes.
    pub crc32c: u32,
}
