//! Tensors stored bit-exactly by the [`crate::lossless`] codec: what the
//! writer takes ([`EncodedLossless`]), what the reader gives back
//! ([`LosslessEntry`]), and the body of their header record.

use crate::bytes::{Cursor, put_varint};
use crate::chunk_table;
use crate::dtype::Dtype;
use crate::entry::ChunkEntry;
use crate::error::{Error, Result, as_u64, check_limit};
use crate::limits::MAX_CHUNKS;
use crate::lossless::{self, EncodeOptions, FloatLayout, MAX_CHUNK_ELEMENTS};

impl Dtype {
    /// The element layout the lossless codec splits, for F32, F16 and BF16
    /// (the dtypes lossless coding accepts); `None` for every other dtype.
    #[must_use]
    pub fn float_layout(self) -> Option<FloatLayout> {
        match self {
            Dtype::F32 => Some(FloatLayout::F32),
            Dtype::F16 => Some(FloatLayout::F16),
            Dtype::BF16 => Some(FloatLayout::BF16),
            _ => None,
        }
    }
}

/// The chunk table of a lossless tensor in a `.entro` file.
///
/// The float layout is not stored: it follows from the tensor's dtype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LosslessEntry {
    pub(crate) layout: FloatLayout,
    pub(crate) chunk_elements: u32,
    pub(crate) chunks: Vec<ChunkEntry>,
}

impl LosslessEntry {
    /// How the codec splits each element (from the tensor's dtype).
    #[must_use]
    pub fn layout(&self) -> FloatLayout {
        self.layout
    }

    /// Elements per chunk (the last chunk may hold fewer).
    #[must_use]
    pub fn chunk_elements(&self) -> u32 {
        self.chunk_elements
    }

    /// The chunk table, in element order; [`ChunkEntry::codes`] counts elements.
    #[must_use]
    pub fn chunks(&self) -> &[ChunkEntry] {
        &self.chunks
    }

    /// The chunk holding element `element`, if in range.
    #[must_use]
    pub fn chunk_of(&self, element: u64) -> Option<usize> {
        let last = self.chunks.last()?;
        if element >= last.first_code.saturating_add(u64::from(last.codes)) {
            return None;
        }
        usize::try_from(element / u64::from(self.chunk_elements.max(1))).ok()
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        put_varint(out, u64::from(self.chunk_elements));
        chunk_table::encode(&self.chunks, out)
    }

    /// Reads and validates the record body of a lossless tensor of `dtype`
    /// with `elements` elements and a payload of `payload_len` bytes.
    pub(crate) fn decode(
        cursor: &mut Cursor<'_>,
        dtype: Dtype,
        elements: u64,
        payload_len: u64,
    ) -> Result<Self> {
        let layout = dtype.float_layout().ok_or_else(|| {
            cursor.error("F32, F16 or BF16 for a lossless tensor", dtype.to_string())
        })?;
        let offset = cursor.offset();
        let chunk_elements = cursor.varint_u32("elements per chunk")?;
        if chunk_elements == 0
            || usize::try_from(chunk_elements).map_or(true, |n| n > MAX_CHUNK_ELEMENTS)
        {
            return Err(Error::format(
                offset,
                format!("1..={MAX_CHUNK_ELEMENTS} elements per chunk"),
                chunk_elements.to_string(),
            ));
        }
        let chunks = chunk_table::decode(cursor, elements, chunk_elements, payload_len)?;
        Ok(Self {
            layout,
            chunk_elements,
            chunks,
        })
    }
}

/// A tensor coded by the lossless codec, ready for
/// [`crate::EntroWriter::add_lossless_encoded`]: its chunks back to back and
/// their table, with a CRC-32C per chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedLossless {
    entry: LosslessEntry,
    payload: Vec<u8>,
}

impl EncodedLossless {
    /// How the elements were split.
    #[must_use]
    pub fn layout(&self) -> FloatLayout {
        self.entry.layout
    }

    /// Elements per chunk (the last chunk may hold fewer).
    #[must_use]
    pub fn chunk_elements(&self) -> u32 {
        self.entry.chunk_elements
    }

    /// Number of elements coded.
    #[must_use]
    pub fn elements(&self) -> u64 {
        self.entry.chunks.last().map_or(0, |last| {
            last.first_code.saturating_add(u64::from(last.codes))
        })
    }

    /// The chunk table (offsets within [`EncodedLossless::payload`]).
    #[must_use]
    pub fn chunks(&self) -> &[ChunkEntry] {
        &self.entry.chunks
    }

    /// The coded bytes of all chunks.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Bytes the tensor takes in a file: the payload and the header record (chunk size and
    /// table), alignment padding left out. To compare with
    /// [`crate::EncodedTensor::file_bytes`].
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] for a chunk table too large to write.
    pub fn file_bytes(&self) -> Result<usize> {
        let mut record = Vec::new();
        self.entry.encode(&mut record)?;
        Ok(self.payload.len() + record.len())
    }

    pub(crate) fn entry(&self) -> &LosslessEntry {
        &self.entry
    }

    /// Joins tensors coded separately from consecutive pieces of one tensor
    /// (for example on several threads) into the coding of the whole, the same
    /// bytes one [`encode_lossless`] call gives, since every chunk is coded on
    /// its own. Every piece but the last must hold only full chunks.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for no pieces, pieces of different layouts or
    /// chunk sizes, or a short chunk before the last piece;
    /// [`Error::LimitExceeded`] for too many chunks.
    pub fn concat(parts: impl IntoIterator<Item = EncodedLossless>) -> Result<Self> {
        let mut parts = parts.into_iter();
        let mut whole = parts
            .next()
            .ok_or_else(|| Error::invalid_argument("no lossless pieces to join"))?;
        for part in parts {
            let (layout, size) = (whole.entry.layout, whole.entry.chunk_elements);
            if part.entry.layout != layout || part.entry.chunk_elements != size {
                return Err(Error::invalid_argument(format!(
                    "cannot join a {:?} piece of {} elements per chunk to a {layout:?} tensor of {size}",
                    part.entry.layout, part.entry.chunk_elements
                )));
            }
            if part.entry.chunks.is_empty() {
                continue;
            }
            if whole
                .entry
                .chunks
                .last()
                .is_some_and(|last| last.codes != size)
            {
                return Err(Error::invalid_argument(
                    "only the last lossless piece may end with a short chunk",
                ));
            }
            let (first, base) = (whole.elements(), as_u64(whole.payload.len()));
            check_limit(
                "chunk count",
                as_u64(
                    whole
                        .entry
                        .chunks
                        .len()
                        .saturating_add(part.entry.chunks.len()),
                ),
                as_u64(MAX_CHUNKS),
            )?;
            whole
                .entry
                .chunks
                .extend(part.entry.chunks.iter().map(|chunk| ChunkEntry {
                    first_code: chunk.first_code.saturating_add(first),
                    offset: chunk.offset.saturating_add(base),
                    ..*chunk
                }));
            whole.payload.extend_from_slice(&part.payload);
        }
        Ok(whole)
    }
}

/// Codes the little-endian `bytes` of an F32, F16 or BF16 tensor losslessly
/// in chunks of `chunk_elements` elements (the last chunk holds the rest),
/// one chunk after the other. A tensor with no elements has no chunks.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for another dtype, a byte length that is not a
/// whole number of elements, or `chunk_elements` outside
/// `1..=MAX_CHUNK_ELEMENTS`; [`Error::LosslessEncode`] if the codec refuses a
/// chunk; [`Error::LimitExceeded`] for too many chunks.
pub fn encode_lossless(
    name: &str,
    dtype: Dtype,
    bytes: &[u8],
    chunk_elements: usize,
) -> Result<EncodedLossless> {
    encode_lossless_with(
        name,
        dtype,
        bytes,
        chunk_elements,
        &EncodeOptions::default(),
    )
}

/// [`encode_lossless`] with the codec's [`EncodeOptions`] (for example the smallest coding of every
/// plane rather than the fastest to decode).
///
/// # Errors
///
/// As [`encode_lossless`].
pub fn encode_lossless_with(
    name: &str,
    dtype: Dtype,
    bytes: &[u8],
    chunk_elements: usize,
    options: &EncodeOptions,
) -> Result<EncodedLossless> {
    let layout = dtype.float_layout().ok_or_else(|| {
        Error::invalid_argument(format!(
            "tensor `{name}` has dtype {dtype}; lossless coding takes F32, F16 or BF16"
        ))
    })?;
    let size = layout.element_bytes();
    if !bytes.len().is_multiple_of(size) {
        return Err(Error::invalid_argument(format!(
            "tensor `{name}`: {} bytes is not a whole number of {dtype} elements",
            bytes.len()
        )));
    }
    let per_chunk = u32::try_from(chunk_elements)
        .ok()
        .filter(|&n| n > 0 && chunk_elements <= MAX_CHUNK_ELEMENTS)
        .ok_or_else(|| {
            Error::invalid_argument(format!(
                "{chunk_elements} elements per chunk is outside 1..={MAX_CHUNK_ELEMENTS}"
            ))
        })?;
    let chunk_bytes = chunk_elements.saturating_mul(size);
    check_limit(
        "chunk count",
        as_u64(bytes.len().div_ceil(chunk_bytes)),
        as_u64(MAX_CHUNKS),
    )?;
    let mut payload = Vec::new();
    let mut chunks = Vec::with_capacity(bytes.len().div_ceil(chunk_bytes));
    for (index, elements) in bytes.chunks(chunk_bytes).enumerate() {
        let start = payload.len();
        lossless::encode_chunk_with(layout, elements, options, &mut payload).map_err(|source| {
            Error::LosslessEncode {
                tensor: name.to_owned(),
                chunk: index,
                source,
            }
        })?;
        let coded = payload.get(start..).unwrap_or_default();
        let len = u32::try_from(coded.len()).map_err(|_| {
            Error::limit(
                "lossless chunk length",
                u64::from(u32::MAX),
                as_u64(coded.len()),
            )
        })?;
        chunks.push(ChunkEntry {
            // At most `chunk_elements`, a u32.
            codes: u32::try_from(elements.len() / size).unwrap_or(per_chunk),
            first_code: as_u64(index).saturating_mul(u64::from(per_chunk)),
            offset: as_u64(start),
            len,
            crc32c: crc32c::crc32c(coded),
        });
    }
    Ok(EncodedLossless {
        entry: LosslessEntry {
            layout,
            chunk_elements: per_chunk,
            chunks,
        },
        payload,
    })
}
