//! Running one job: checksum, Huffman decoding and fused dequantization of a chunk, decoding of a
//! lossless chunk (in `crate::lossless`), or the copy or conversion of a raw tensor.

use entro_format::{EntroFile, TensorEntry};

use crate::convert::{
    Convert, LeBf16, LeF16, LeF32, ToBf16, ToF16, ToF32, convert_raw, dequantize_run,
};
use crate::plan::{Job, QuantSlot, Sink, Slot, Source};
use crate::{Error, FloatDtype, OutputKind, Result};

/// Runs `job` of `slot`. `scratch` is this worker's reusable code buffer (float outputs decode a
/// chunk's codes into it before dequantizing them).
pub(crate) fn run_job(
    file: &EntroFile,
    slot: &Slot<'_>,
    job: Job<'_>,
    verify: bool,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    let entry = slot.entry;
    match &slot.source {
        Source::Quantized(quant) => {
            let bytes = chunk_bytes(file, entry, job.chunk, verify)?;
            let first_code = quant
                .quantized
                .chunks()
                .get(job.chunk)
                .and_then(|info| usize::try_from(info.first_code).ok())
                .ok_or_else(|| Error::BadBlock {
                    tensor: entry.name().to_owned(),
                    element: usize::MAX,
                })?;
            let run = Chunk {
                entry,
                quant,
                index: job.chunk,
                bytes,
                first_code,
            };
            match job.sink {
                Sink::Codes(out) => {
                    quant
                        .table()
                        .decode_chunk(job.chunk, bytes, out)
                        .map_err(|source| Error::corrupt(entry.name(), job.chunk, source))?;
                    run.restore_codes(out)
                }
                Sink::F32(out) => run.dequantize::<ToF32>(out, scratch),
                Sink::F16(out) => run.dequantize::<ToF16>(out, scratch),
                Sink::BF16(out) => run.dequantize::<ToBf16>(out, scratch),
                Sink::LeF32(out) => run.dequantize::<LeF32>(out, scratch),
                Sink::LeF16(out) => run.dequantize::<LeF16>(out, scratch),
                Sink::LeBf16(out) => run.dequantize::<LeBf16>(out, scratch),
                Sink::Copy(_) => Err(unsupported(entry, OutputKind::Bytes(entry.dtype()))),
            }
        }
        Source::Lossless(lossless) => crate::lossless::decode_chunk(
            file, entry, lossless, job.chunk, job.sink, verify, scratch,
        ),
        Source::Raw { float } => {
            let bytes = raw_bytes(file, entry, verify)?;
            let source_float = || float.ok_or_else(|| unsupported(entry, OutputKind::F32));
            match job.sink {
                Sink::Copy(out) => {
                    if out.len() != bytes.len() {
                        return Err(Error::OutputSize {
                            tensor: entry.name().to_owned(),
                            kind: OutputKind::Bytes(entry.dtype()),
                            expected: bytes.len(),
                            found: out.len(),
                        });
                    }
                    out.copy_from_slice(bytes);
                    Ok(())
                }
                Sink::F32(out) => convert_checked::<ToF32>(entry, source_float()?, bytes, out),
                Sink::F16(out) => convert_checked::<ToF16>(entry, source_float()?, bytes, out),
                Sink::BF16(out) => convert_checked::<ToBf16>(entry, source_float()?, bytes, out),
                Sink::LeF32(out) => convert_checked::<LeF32>(entry, source_float()?, bytes, out),
                Sink::LeF16(out) => convert_checked::<LeF16>(entry, source_float()?, bytes, out),
                Sink::LeBf16(out) => convert_checked::<LeBf16>(entry, source_float()?, bytes, out),
                Sink::Codes(_) => Err(unsupported(entry, OutputKind::Codes)),
            }
        }
    }
}

/// The error for an output this tensor's encoding and dtype cannot give.
pub(crate) fn unsupported(entry: &TensorEntry, to: OutputKind) -> Error {
    Error::UnsupportedConversion {
        tensor: entry.name().to_owned(),
        encoding: entry.encoding().name(),
        from: entry.dtype(),
        to,
    }
}

/// Converts a raw float payload after checking that it holds exactly `out.len()` elements.
fn convert_checked<C: Convert>(
    entry: &TensorEntry,
    source: FloatDtype,
    bytes: &[u8],
    out: &mut [C::Out],
) -> Result<()> {
    let expected = out.len().checked_mul(source.size());
    if expected != Some(bytes.len()) {
        return Err(Error::OutputSize {
            tensor: entry.name().to_owned(),
            kind: OutputKind::Bytes(source.dtype()),
            expected: bytes.len() / source.size(),
            found: out.len(),
        });
    }
    convert_raw::<C>(source, bytes, out);
    Ok(())
}

/// The payload of a raw tensor, after checking its CRC-32C when asked to.
pub(crate) fn raw_bytes<'f>(
    file: &'f EntroFile,
    entry: &TensorEntry,
    verify: bool,
) -> Result<&'f [u8]> {
    if !verify {
        return Ok(file.payload(entry)?);
    }
    file.read_raw(entry).map_err(|err| match err {
        entro_format::Error::ChecksumMismatch {
            expected, found, ..
        } => Error::RawChecksumMismatch {
            tensor: entry.name().to_owned(),
            expected,
            found,
        },
        other => Error::Format(other),
    })
}

/// Checks one chunk of a quantized or lossless tensor: its CRC-32C, then that it decodes (into
/// `scratch`).
pub(crate) fn check_chunk(
    file: &EntroFile,
    slot: &Slot<'_>,
    chunk: usize,
    scratch: &mut Vec<u8>,
) -> Result<u64> {
    let entry = slot.entry;
    let quant = match &slot.source {
        Source::Quantized(quant) => quant,
        Source::Lossless(lossless) => {
            return crate::lossless::check_chunk(file, entry, lossless, chunk, scratch);
        }
        Source::Raw { .. } => return Ok(0),
    };
    let bytes = chunk_bytes(file, entry, chunk, true)?;
    let codes = quant
        .quantized
        .chunks()
        .get(chunk)
        .map_or(0, |info| info.codes);
    let count = codes as usize;
    scratch.resize(count, 0);
    quant
        .table()
        .decode_chunk(chunk, bytes, &mut scratch[..count])
        .map_err(|source| Error::corrupt(entry.name(), chunk, source))?;
    Ok(u64::from(codes))
}

/// The bytes of a chunk, after checking its CRC-32C when asked to.
pub(crate) fn chunk_bytes<'f>(
    file: &'f EntroFile,
    entry: &TensorEntry,
    chunk: usize,
    verify: bool,
) -> Result<&'f [u8]> {
    if verify {
        file.verify_chunk(entry, chunk).map_err(|err| match err {
            entro_format::Error::ChecksumMismatch {
                expected, found, ..
            } => Error::ChecksumMismatch {
                tensor: entry.name().to_owned(),
                chunk,
                expected,
                found,
            },
            other => Error::Format(other),
        })?;
    }
    Ok(file.chunk_bytes(entry, chunk)?)
}

/// A chunk of a quantized tensor being decoded to floats.
struct Chunk<'s, 'f> {
    entry: &'f TensorEntry,
    quant: &'s QuantSlot<'f>,
    index: usize,
    bytes: &'f [u8],
    /// Index of the chunk's first code within the tensor.
    first_code: usize,
}

impl Chunk<'_, '_> {
    fn corrupt(&self, source: entro_huffman::DecodeError) -> Error {
        Error::corrupt(self.entry.name(), self.index, source)
    }

    /// Turns the chunk's decoded `codes` into the quantizer's codes (a no-op unless the tensor
    /// stores them relative to its zero points).
    fn restore_codes(&self, codes: &mut [u8]) -> Result<()> {
        self.entry
            .restore_codes(self.first_code as u64, codes)
            .map_err(|_| Error::BadBlock {
                tensor: self.entry.name().to_owned(),
                element: self.first_code,
            })
    }

    /// Decodes and dequantizes the chunk into `out`.
    ///
    /// A per-tensor scale and a 16-bit output decode straight to the output through the tensor's
    /// [`entro_huffman::DecodeTable16`]. Otherwise the chunk is decoded to codes in `scratch` (one
    /// chunk, L2-sized with the default chunk size), then each run of codes sharing a scale is
    /// dequantized: through the tensor's lookup table for per-tensor granularity, else block by
    /// block. (For f16 on SmolLM2, codes-then-table took about 6 % less CPU time than
    /// `DecodeTable::decode_chunk_mapped`; the direct 16-bit table beats both.)
    fn dequantize<C: Convert>(&self, out: &mut [C::Out], scratch: &mut Vec<u8>) -> Result<()> {
        let quant = self.quant;
        if out.is_empty() {
            return Ok(());
        }
        if let Some(table16) = &quant.table16
            && let Some(words) = C::as_words(out)
        {
            return table16
                .decode_chunk(self.index, self.bytes, words)
                .map_err(|source| self.corrupt(source));
        }
        let tensor_table = quant.lut.as_ref().and_then(C::table);
        scratch.resize(out.len(), 0);
        let codes = &mut scratch[..out.len()];
        quant
            .table()
            .decode_chunk(self.index, self.bytes, codes)
            .map_err(|source| self.corrupt(source))?;
        self.restore_codes(codes)?;
        let blocks = &quant.quantized.params().blocks;
        if let (Some(table), Some(block)) = (tensor_table, blocks.first()) {
            dequantize_run::<C>(codes, *block, Some(table), quant.levels, out);
            return Ok(());
        }
        let end = self.first_code.saturating_add(out.len());
        let bad_block = |element: usize| Error::BadBlock {
            tensor: self.entry.name().to_owned(),
            element,
        };
        let mut at = 0;
        while at < out.len() {
            let element = self.first_code + at;
            let (block, range) = quant
                .layout
                .block_of(element)
                .and_then(|block| Some((*blocks.get(block)?, quant.layout.block_range(block)?)))
                .ok_or_else(|| bad_block(element))?;
            let stop = range.end.min(end) - self.first_code;
            if stop <= at {
                return Err(bad_block(element));
            }
            dequantize_run::<C>(
                &codes[at..stop],
                block,
                None,
                quant.levels,
                &mut out[at..stop],
            );
            at = stop;
        }
        Ok(())
    }
}
