//! Quantized, Huffman-coded tensors: what the writer takes and what the reader gives back.

use entro_huffman::{ChunkInfo, Codebook, DEFAULT_MAX_CODE_LENGTH, MAX_CHUNK_CODES};
use entro_quant::{QuantParams, QuantStats};

use crate::entry::ChunkEntry;
use crate::error::{Error, Result, as_u64};
use crate::limits::MAX_CHUNKS;
use crate::quant_record;
use crate::relative::{CodeForm, choose_code_form};

/// The quantization and Huffman-coding details of a quantized tensor in a `.entro` file.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedEntry {
    pub(crate) params: QuantParams,
    pub(crate) stats: QuantStats,
    pub(crate) codebook: Codebook,
    pub(crate) chunk_codes: u32,
    pub(crate) chunks: Vec<ChunkEntry>,
    pub(crate) code_form: CodeForm,
}

impl QuantizedEntry {
    /// Bit width, scheme, granularity and the scale and zero point of every block.
    #[must_use]
    pub fn params(&self) -> &QuantParams {
        &self.params
    }

    /// Statistics recorded at compression time (entropy, error), so that
    /// inspecting a file needs no original checkpoint.
    #[must_use]
    pub fn stats(&self) -> &QuantStats {
        &self.stats
    }

    /// The canonical Huffman codebook of the tensor's codes.
    #[must_use]
    pub fn codebook(&self) -> &Codebook {
        &self.codebook
    }

    /// How the codes are stored: codes decoded from a [`CodeForm::RelativeToZeroPoints`] tensor
    /// need [`crate::TensorEntry::restore_codes`].
    #[must_use]
    pub fn code_form(&self) -> CodeForm {
        self.code_form
    }

    /// Codes per chunk (the last chunk may hold fewer).
    #[must_use]
    pub fn chunk_codes(&self) -> u32 {
        self.chunk_codes
    }

    /// The chunk table, in code order.
    #[must_use]
    pub fn chunks(&self) -> &[ChunkEntry] {
        &self.chunks
    }

    /// The chunk holding code (element) `code`, if in range.
    #[must_use]
    pub fn chunk_of(&self, code: u64) -> Option<usize> {
        let last = self.chunks.last()?;
        if code >= last.first_code.saturating_add(u64::from(last.codes)) {
            return None;
        }
        usize::try_from(code / u64::from(self.chunk_codes.max(1))).ok()
    }
}

/// A tensor's codes after Huffman coding, ready for [`crate::EntroWriter::add_quantized`].
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedTensor {
    params: QuantParams,
    stats: QuantStats,
    codebook: Codebook,
    chunk_codes: u32,
    chunks: Vec<ChunkInfo>,
    payload: Vec<u8>,
    code_form: CodeForm,
}

impl EncodedTensor {
    /// Assembles an encoded tensor from parts coded elsewhere (for example
    /// chunks encoded in parallel and concatenated).
    ///
    /// `payload` holds the chunks back to back, as [`entro_huffman::encode`]
    /// writes them; `chunks` must describe exactly that, in order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if the chunks do not tile the payload, do
    /// not hold `chunk_codes` codes each (but the last), or `chunk_codes` is
    /// out of range; [`Error::LimitExceeded`] for too many chunks.
    pub fn new(
        params: QuantParams,
        stats: QuantStats,
        codebook: Codebook,
        chunk_codes: usize,
        chunks: Vec<ChunkInfo>,
        payload: Vec<u8>,
    ) -> Result<Self> {
        let chunk_codes = u32::try_from(chunk_codes)
            .ok()
            .filter(|&n| n > 0 && usize::try_from(n).is_ok_and(|n| n <= MAX_CHUNK_CODES))
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "{chunk_codes} codes per chunk is outside 1..={MAX_CHUNK_CODES}"
                ))
            })?;
        crate::error::check_limit("chunk count", as_u64(chunks.len()), as_u64(MAX_CHUNKS))?;
        let mut offset: u64 = 0;
        for (index, chunk) in chunks.iter().enumerate() {
            let is_last = index + 1 == chunks.len();
            let codes_ok = if is_last {
                (1..=chunk_codes).contains(&chunk.codes)
            } else {
                chunk.codes == chunk_codes
            };
            if chunk.offset != offset || !codes_ok {
                return Err(Error::invalid_argument(format!(
                    "chunk {index} has {} codes at payload offset {}; expected {} codes at offset {offset}",
                    chunk.codes,
                    chunk.offset,
                    if is_last {
                        format!("1..={chunk_codes}")
                    } else {
                        chunk_codes.to_string()
                    },
                )));
            }
            offset = offset.saturating_add(u64::from(chunk.len));
        }
        if offset != as_u64(payload.len()) {
            return Err(Error::invalid_argument(format!(
                "the chunks cover {offset} bytes but the payload has {}",
                payload.len()
            )));
        }
        Ok(Self {
            params,
            stats,
            codebook,
            chunk_codes,
            chunks,
            payload,
            code_form: CodeForm::Absolute,
        })
    }

    /// This tensor with its codes declared to be in `form` (as [`choose_code_form`] returned
    /// them); [`CodeForm::Absolute`] unless set.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for [`CodeForm::RelativeToZeroPoints`] with parameters that are
    /// not stored entropy-coded (fewer than 64 blocks, or a zero point outside a byte).
    pub fn with_code_form(mut self, form: CodeForm) -> Result<Self> {
        if form == CodeForm::RelativeToZeroPoints
            && !crate::block_params::coded(&self.params.blocks)
        {
            return Err(Error::invalid_argument(format!(
                "codes relative to zero points need 64 or more blocks with byte zero points, not {}",
                self.params.blocks.len()
            )));
        }
        self.code_form = form;
        Ok(self)
    }

    /// How the codes are stored.
    #[must_use]
    pub fn code_form(&self) -> CodeForm {
        self.code_form
    }

    /// The quantization parameters.
    #[must_use]
    pub fn params(&self) -> &QuantParams {
        &self.params
    }

    /// The quantization statistics.
    #[must_use]
    pub fn stats(&self) -> &QuantStats {
        &self.stats
    }

    /// The codebook.
    #[must_use]
    pub fn codebook(&self) -> &Codebook {
        &self.codebook
    }

    /// The chunks, as the Huffman encoder described them.
    #[must_use]
    pub fn chunks(&self) -> &[ChunkInfo] {
        &self.chunks
    }

    /// The coded bytes of all chunks.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Bytes the tensor takes in a file: the payload and the header record (parameters,
    /// codebook, chunk table), alignment padding left out. To compare with
    /// [`crate::EncodedLossless::file_bytes`].
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] for a record too large to write.
    pub fn file_bytes(&self) -> Result<usize> {
        let mut record = Vec::new();
        quant_record::encode(&self.to_entry()?, &mut record)?;
        Ok(self.payload.len() + record.len())
    }

    /// The header-side description, with a CRC-32C per chunk.
    pub(crate) fn to_entry(&self) -> Result<QuantizedEntry> {
        let mut first_code: u64 = 0;
        let mut chunks = Vec::with_capacity(self.chunks.len());
        for chunk in &self.chunks {
            // `new` checked that the chunks tile the payload.
            let start = usize::try_from(chunk.offset).unwrap_or(usize::MAX);
            let bytes = start
                .checked_add(usize::try_from(chunk.len).unwrap_or(usize::MAX))
                .and_then(|end| self.payload.get(start..end))
                .ok_or_else(|| Error::invalid_argument("a chunk lies outside the payload"))?;
            chunks.push(ChunkEntry {
                codes: chunk.codes,
                first_code,
                offset: chunk.offset,
                len: chunk.len,
                crc32c: crc32c::crc32c(bytes),
            });
            first_code = first_code.saturating_add(u64::from(chunk.codes));
        }
        Ok(QuantizedEntry {
            params: self.params.clone(),
            stats: self.stats,
            codebook: self.codebook.clone(),
            chunk_codes: self.chunk_codes,
            chunks,
            code_form: self.code_form,
        })
    }
}

/// Huffman-codes a tensor's quantized `codes` (one per element of a tensor of `shape`, as
/// [`entro_quant::quantize`] wrote them): chooses how to store them ([`choose_code_form`]),
/// builds the best canonical codebook for `params.bits` (byte symbols, or nibble pairs for 4 bits
/// and below) and encodes chunks of `chunk_codes` codes.
///
/// # Errors
///
/// [`Error::BuildCodebook`] or [`Error::Encode`] if the codes cannot be coded
/// (for example `chunk_codes` out of range, or odd with nibble pairs); the
/// errors of [`EncodedTensor::new`].
pub fn encode_quantized(
    name: &str,
    codes: &[u8],
    shape: &[usize],
    params: QuantParams,
    stats: QuantStats,
    chunk_codes: usize,
) -> Result<EncodedTensor> {
    let (form, stored) = choose_code_form(codes, shape, &params);
    let codebook =
        Codebook::build_best(&stored, params.bits, DEFAULT_MAX_CODE_LENGTH).map_err(|source| {
            Error::BuildCodebook {
                tensor: name.to_owned(),
                source,
            }
        })?;
    let mut payload = Vec::new();
    let chunks =
        entro_huffman::encode(&stored, &codebook, chunk_codes, &mut payload).map_err(|source| {
            Error::Encode {
                tensor: name.to_owned(),
                source,
            }
        })?;
    EncodedTensor::new(params, stats, codebook, chunk_codes, chunks, payload)?.with_code_form(form)
}

impl QuantizedEntry {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        quant_record::encode(self, out)
    }

    pub(crate) fn decode(
        cursor: &mut crate::bytes::Cursor<'_>,
        dtype: crate::Dtype,
        shape: &[usize],
        elements: u64,
        payload_len: u64,
        form: RecordForm,
    ) -> Result<Self> {
        quant_record::decode(cursor, dtype, shape, elements, payload_len, form)
    }

    /// Whether the record stores its block parameters entropy-coded
    /// ([`crate::ENCODING_QUANTIZED_CODED_PARAMS`]) rather than raw.
    pub(crate) fn params_coded(&self) -> bool {
        crate::block_params::coded(&self.params.blocks)
    }
}

/// What a quantized record's encoding tag announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordForm {
    /// The block parameters are entropy-coded.
    pub(crate) coded_params: bool,
    /// How the codes are stored.
    pub(crate) codes: CodeForm,
}
