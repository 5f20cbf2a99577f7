//! What tensors decode to: requested targets, per-tensor output kinds, and the buffers that hold them.

use std::fmt;

use entro_format::{Dtype, TensorEntry};
use half::{bf16, f16};

/// A floating-point element type decoding can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FloatDtype {
    /// IEEE single precision.
    F32,
    /// IEEE half precision (rounded to nearest from the f32 value).
    F16,
    /// bfloat16 (rounded to nearest from the f32 value).
    BF16,
}

impl FloatDtype {
    /// The matching container dtype.
    #[must_use]
    pub fn dtype(self) -> Dtype {
        match self {
            Self::F32 => Dtype::F32,
            Self::F16 => Dtype::F16,
            Self::BF16 => Dtype::BF16,
        }
    }

    /// The float type `dtype` is, if it is F32, F16 or BF16.
    #[must_use]
    pub fn from_dtype(dtype: Dtype) -> Option<Self> {
        match dtype {
            Dtype::F32 => Some(Self::F32),
            Dtype::F16 => Some(Self::F16),
            Dtype::BF16 => Some(Self::BF16),
            _ => None,
        }
    }

    /// Bytes per element.
    #[must_use]
    pub fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
        }
    }
}

/// What to decode a whole model, a selection of tensors or a layer into.
///
/// Quantized tensors always decode to what is asked. Lossless tensors decode bit-exactly to their
/// own dtype and are converted to the others (exactly, or rounded to nearest); they have no codes.
/// Tensors kept exactly ("raw") are converted where that is meaningful and otherwise kept as they
/// are; see [`Target::kind_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The quantization codes, one `u8` per weight. Raw tensors have no codes and are left out;
    /// asking for the codes of a lossless tensor is an error
    /// ([`crate::Error::UnsupportedConversion`]).
    Codes,
    /// Dequantized `f32` values in a `Vec<f32>`.
    F32,
    /// Dequantized values rounded to nearest `f16`, in a `Vec<f16>`.
    F16,
    /// Dequantized values rounded to nearest `bf16`, in a `Vec<bf16>`.
    BF16,
    /// Little-endian bytes in each tensor's original dtype: quantized tensors dequantized to
    /// the F32, F16 or BF16 they came from, lossless tensors decoded bit for bit, raw tensors
    /// copied. This is what `decompress` writes.
    Original,
    /// Little-endian bytes of the given float type.
    Bytes(FloatDtype),
}

impl Target {
    /// What `entry` becomes under this target, or `None` when it is left out (a raw tensor under
    /// [`Target::Codes`]; a lossless tensor gets [`OutputKind::Codes`], which decoding refuses).
    ///
    /// Raw tensors whose dtype is not F32, F16 or BF16 (integers, F64, 8-bit floats...) are never
    /// converted: float targets give them back as [`OutputKind::Bytes`] of their own dtype.
    #[must_use]
    pub fn kind_for(self, entry: &TensorEntry) -> Option<OutputKind> {
        let convertible =
            entry.quantized().is_some() || FloatDtype::from_dtype(entry.dtype()).is_some();
        let original = OutputKind::Bytes(entry.dtype());
        Some(match self {
            Self::Codes if entry.quantized().is_some() || entry.lossless().is_some() => {
                OutputKind::Codes
            }
            Self::Codes => return None,
            Self::F32 if convertible => OutputKind::F32,
            Self::F16 if convertible => OutputKind::F16,
            Self::BF16 if convertible => OutputKind::BF16,
            Self::Bytes(float) if convertible => OutputKind::Bytes(float.dtype()),
            Self::F32 | Self::F16 | Self::BF16 | Self::Bytes(_) | Self::Original => original,
        })
    }
}

/// What one tensor decodes to: the element type of its output buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputKind {
    /// `u8` quantization codes.
    Codes,
    /// Typed `f32` values.
    F32,
    /// Typed `f16` values.
    F16,
    /// Typed `bf16` values.
    BF16,
    /// Little-endian bytes of a dtype.
    Bytes(Dtype),
}

impl OutputKind {
    /// The element type, as a container dtype (`U8` for codes).
    #[must_use]
    pub fn dtype(self) -> Dtype {
        match self {
            Self::Codes => Dtype::U8,
            Self::F32 => Dtype::F32,
            Self::F16 => Dtype::F16,
            Self::BF16 => Dtype::BF16,
            Self::Bytes(dtype) => dtype,
        }
    }

    /// Bytes taken by `elements` elements of this kind (`None` on overflow or a partial byte).
    #[must_use]
    pub fn byte_len(self, elements: u64) -> Option<u64> {
        self.dtype().byte_len(elements)
    }
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Codes => f.write_str("codes"),
            Self::F32 => f.write_str("f32"),
            Self::F16 => f.write_str("f16"),
            Self::BF16 => f.write_str("bf16"),
            Self::Bytes(dtype) => write!(f, "{dtype} bytes"),
        }
    }
}

/// A caller's buffer for one tensor. Its length must match the tensor exactly: elements for the
/// typed variants, bytes for [`Output::Bytes`].
#[derive(Debug)]
pub enum Output<'a> {
    /// Quantization codes (quantized tensors only).
    Codes(&'a mut [u8]),
    /// Dequantized `f32`; raw F32, F16 and BF16 tensors are converted exactly.
    F32(&'a mut [f32]),
    /// Dequantized `f16`; raw float tensors are copied or rounded to nearest.
    F16(&'a mut [f16]),
    /// Dequantized `bf16`; raw float tensors are copied or rounded to nearest.
    BF16(&'a mut [bf16]),
    /// Little-endian bytes of `dtype`: F32, F16 or BF16 for any float tensor, or the tensor's own
    /// dtype for a raw tensor (copied).
    Bytes {
        /// The element type to write.
        dtype: Dtype,
        /// The buffer, `elements * size_of(dtype)` bytes long.
        bytes: &'a mut [u8],
    },
}

impl Output<'_> {
    /// What this buffer receives.
    #[must_use]
    pub fn kind(&self) -> OutputKind {
        match self {
            Self::Codes(_) => OutputKind::Codes,
            Self::F32(_) => OutputKind::F32,
            Self::F16(_) => OutputKind::F16,
            Self::BF16(_) => OutputKind::BF16,
            Self::Bytes { dtype, .. } => OutputKind::Bytes(*dtype),
        }
    }

    /// Length of the buffer in its own units (elements, or bytes for [`Output::Bytes`]).
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Codes(out) => out.len(),
            Self::F32(out) => out.len(),
            Self::F16(out) => out.len(),
            Self::BF16(out) => out.len(),
            Self::Bytes { bytes, .. } => bytes.len(),
        }
    }

    /// Whether the buffer is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An owned output buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedBuffer {
    /// Quantization codes.
    Codes(Vec<u8>),
    /// `f32` values.
    F32(Vec<f32>),
    /// `f16` values.
    F16(Vec<f16>),
    /// `bf16` values.
    BF16(Vec<bf16>),
    /// Little-endian bytes of `dtype`.
    Bytes {
        /// The element type.
        dtype: Dtype,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

impl TypedBuffer {
    /// A zero-filled buffer for `elements` elements of `kind`, or `None` if its size does not fit
    /// in memory (or is a partial byte).
    #[must_use]
    pub fn zeroed(kind: OutputKind, elements: u64) -> Option<Self> {
        let len = usize::try_from(kind.byte_len(elements)?).ok()?;
        let count = usize::try_from(elements).ok()?;
        // Zeroed allocations: the operating system hands out zero pages, so nothing is written twice.
        Some(match kind {
            OutputKind::Codes => Self::Codes(vec![0; count]),
            OutputKind::F32 => Self::F32(vec![0.0; count]),
            OutputKind::F16 => Self::F16(bytemuck::zeroed_vec(count)),
            OutputKind::BF16 => Self::BF16(bytemuck::zeroed_vec(count)),
            OutputKind::Bytes(dtype) => Self::Bytes {
                dtype,
                bytes: vec![0; len],
            },
        })
    }

    /// What the buffer holds.
    #[must_use]
    pub fn kind(&self) -> OutputKind {
        match self {
            Self::Codes(_) => OutputKind::Codes,
            Self::F32(_) => OutputKind::F32,
            Self::F16(_) => OutputKind::F16,
            Self::BF16(_) => OutputKind::BF16,
            Self::Bytes { dtype, .. } => OutputKind::Bytes(*dtype),
        }
    }

    /// The buffer as an [`Output`] to decode into again (for example in a benchmark loop).
    pub fn as_output(&mut self) -> Output<'_> {
        match self {
            Self::Codes(out) => Output::Codes(out),
            Self::F32(out) => Output::F32(out),
            Self::F16(out) => Output::F16(out),
            Self::BF16(out) => Output::BF16(out),
            Self::Bytes { dtype, bytes } => Output::Bytes {
                dtype: *dtype,
                bytes,
            },
        }
    }

    /// Size of the contents in bytes.
    #[must_use]
    pub fn byte_len(&self) -> usize {
        match self {
            Self::Codes(out) => out.len(),
            Self::F32(out) => out.len() * 4,
            Self::F16(out) => out.len() * 2,
            Self::BF16(out) => out.len() * 2,
            Self::Bytes { bytes, .. } => bytes.len(),
        }
    }

    /// The contents as little-endian bytes: borrowed for codes and byte buffers, converted for
    /// typed floats.
    #[must_use]
    pub fn to_le_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        use std::borrow::Cow;
        match self {
            Self::Codes(out) => Cow::Borrowed(out),
            Self::Bytes { bytes, .. } => Cow::Borrowed(bytes),
            Self::F32(out) => Cow::Owned(out.iter().flat_map(|v| v.to_le_bytes()).collect()),
            Self::F16(out) => Cow::Owned(out.iter().flat_map(|v| v.to_le_bytes()).collect()),
            Self::BF16(out) => Cow::Owned(out.iter().flat_map(|v| v.to_le_bytes()).collect()),
        }
    }
}

/// One decoded tensor, owning its data.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedTensor {
    /// Position of the tensor in the file (index into [`entro_format::EntroFile::tensors`]).
    pub index: usize,
    /// The tensor's name.
    pub name: String,
    /// Its shape, outermost dimension first.
    pub shape: Vec<usize>,
    /// The element type the source checkpoint stored.
    pub original_dtype: Dtype,
    /// The decoded contents.
    pub data: TypedBuffer,
}

impl DecodedTensor {
    /// A zero-filled buffer for `entry` (at `index` in its file) under `target`, or `None` when the
    /// target leaves the tensor out.
    ///
    /// A lossless tensor's size is bounded only by [`entro_format::limits::MAX_ELEMENTS`]: a chunk
    /// of equal values codes millions of elements in a few bytes, so, as with any decompressor, a
    /// caller decoding untrusted files should check [`TensorEntry::elements`] first.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TooLarge`] if the buffer would not fit in memory;
    /// [`crate::Error::Implausible`] if a quantized tensor claims more codes than its payload holds;
    /// [`crate::Error::UnsupportedConversion`] for the codes of a lossless tensor.
    pub fn allocate(
        index: usize,
        entry: &TensorEntry,
        target: Target,
    ) -> crate::Result<Option<Self>> {
        let Some(kind) = target.kind_for(entry) else {
            return Ok(None);
        };
        if kind == OutputKind::Codes && entry.quantized().is_none() {
            return Err(crate::Error::UnsupportedConversion {
                tensor: entry.name().to_owned(),
                encoding: entry.encoding().name(),
                from: entry.dtype(),
                to: kind,
            });
        }
        crate::plan::check_plausible(entry)?;
        let data =
            TypedBuffer::zeroed(kind, entry.elements()).ok_or_else(|| crate::Error::TooLarge {
                tensor: entry.name().to_owned(),
                elements: entry.elements(),
            })?;
        Ok(Some(Self {
            index,
            name: entry.name().to_owned(),
            shape: entry.shape().to_vec(),
            original_dtype: entry.dtype(),
            data,
        }))
    }
}
