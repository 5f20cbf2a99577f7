//! Turning a request into work: checking each caller buffer against its tensor, preparing each
//! tensor's decode table, and cutting the buffers into one disjoint piece per chunk.

use std::sync::OnceLock;

use entro_format::{CodeForm, EntroFile, QuantizedEntry, TensorEntry};
use entro_huffman::{Alphabet, Codebook, DecodeTable, DecodeTable16};
use entro_quant::{BlockLayout, Granularity, QuantParams};
use half::{bf16, f16};

use crate::convert::{Convert, LeBf16, LeF16, LeF32, Lut, ToBf16, ToF16, ToF32};
use crate::lossless::LosslessSlot;
use crate::{Error, FloatDtype, Output, Result};

/// Where decoded values of one tensor (or one chunk of it) go, in the element type they take.
#[derive(Debug)]
pub(crate) enum Sink<'a> {
    Codes(&'a mut [u8]),
    F32(&'a mut [f32]),
    F16(&'a mut [f16]),
    BF16(&'a mut [bf16]),
    LeF32(&'a mut [[u8; 4]]),
    LeF16(&'a mut [[u8; 2]]),
    LeBf16(&'a mut [[u8; 2]]),
    /// The raw tensor's own bytes (never split, and never the output of a chunked tensor).
    Copy(&'a mut [u8]),
}

impl<'a> Sink<'a> {
    /// Checks `output` against `entry` and views it in the element type decoding writes.
    pub(crate) fn new(entry: &TensorEntry, output: Output<'a>) -> Result<Self> {
        let elements = usize::try_from(entry.elements()).map_err(|_| Error::TooLarge {
            tensor: entry.name().to_owned(),
            elements: entry.elements(),
        })?;
        let kind = output.kind();
        let quantized = entry.quantized().is_some();
        // Raw tensors are copied whole; quantized and lossless ones are decoded chunk by chunk.
        let raw = !quantized && entry.lossless().is_none();
        let float_source = quantized || FloatDtype::from_dtype(entry.dtype()).is_some();
        let unsupported = || Error::UnsupportedConversion {
            tensor: entry.name().to_owned(),
            encoding: entry.encoding().name(),
            from: entry.dtype(),
            to: kind,
        };
        let expected = match &output {
            Output::Bytes { dtype, .. } => dtype
                .byte_len(entry.elements())
                .and_then(|len| usize::try_from(len).ok())
                .ok_or_else(|| Error::TooLarge {
                    tensor: entry.name().to_owned(),
                    elements: entry.elements(),
                })?,
            _ => elements,
        };
        let supported = match &output {
            Output::Codes(_) => quantized,
            Output::F32(_) | Output::F16(_) | Output::BF16(_) => float_source,
            Output::Bytes { dtype, .. } => {
                (raw && *dtype == entry.dtype())
                    || (float_source && FloatDtype::from_dtype(*dtype).is_some())
            }
        };
        if !supported {
            return Err(unsupported());
        }
        if output.len() != expected {
            return Err(Error::OutputSize {
                tensor: entry.name().to_owned(),
                kind,
                expected,
                found: output.len(),
            });
        }
        Ok(match output {
            Output::Codes(out) => Self::Codes(out),
            Output::F32(out) => Self::F32(out),
            Output::F16(out) => Self::F16(out),
            Output::BF16(out) => Self::BF16(out),
            Output::Bytes { bytes, .. } if raw && kind.dtype() == entry.dtype() => {
                Self::Copy(bytes)
            }
            Output::Bytes { dtype, bytes } => match FloatDtype::from_dtype(dtype) {
                Some(FloatDtype::F32) => Self::LeF32(bytes.as_chunks_mut().0),
                Some(FloatDtype::F16) => Self::LeF16(bytes.as_chunks_mut().0),
                Some(FloatDtype::BF16) => Self::LeBf16(bytes.as_chunks_mut().0),
                None => return Err(unsupported()),
            },
        })
    }

    /// Splits the buffer into consecutive pieces of `counts` elements, which must add up to its
    /// length (`None` otherwise). Raw copies are never split.
    pub(crate) fn split(self, counts: impl Iterator<Item = usize>) -> Option<Vec<Self>> {
        Some(match self {
            Self::Codes(out) => split(out, counts)?.into_iter().map(Self::Codes).collect(),
            Self::F32(out) => split(out, counts)?.into_iter().map(Self::F32).collect(),
            Self::F16(out) => split(out, counts)?.into_iter().map(Self::F16).collect(),
            Self::BF16(out) => split(out, counts)?.into_iter().map(Self::BF16).collect(),
            Self::LeF32(out) => split(out, counts)?.into_iter().map(Self::LeF32).collect(),
            Self::LeF16(out) => split(out, counts)?.into_iter().map(Self::LeF16).collect(),
            Self::LeBf16(out) => split(out, counts)?.into_iter().map(Self::LeBf16).collect(),
            Self::Copy(_) => return None,
        })
    }

    /// The lookup table of `block` in this sink's element type (`None` for codes and copies, and
    /// for outputs that compute each value instead).
    fn lut(&self, block: entro_quant::BlockParams) -> Option<Lut> {
        fn make<C: Convert>(block: entro_quant::BlockParams) -> Option<Lut> {
            (!C::COMPUTE).then(|| C::wrap(C::lut(block)))
        }
        match self {
            Self::Codes(_) | Self::Copy(_) => None,
            Self::F32(_) => make::<ToF32>(block),
            Self::F16(_) => make::<ToF16>(block),
            Self::BF16(_) => make::<ToBf16>(block),
            Self::LeF32(_) => make::<LeF32>(block),
            Self::LeF16(_) => make::<LeF16>(block),
            Self::LeBf16(_) => make::<LeBf16>(block),
        }
    }
}

fn split<T>(mut rest: &mut [T], counts: impl Iterator<Item = usize>) -> Option<Vec<&mut [T]>> {
    let mut parts = Vec::new();
    for count in counts {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut_checked(count)?;
        parts.push(head);
        rest = tail;
    }
    rest.is_empty().then_some(parts)
}

/// One tensor of a request, ready to decode: shared (read-only) by every job of the tensor.
#[derive(Debug)]
pub(crate) struct Slot<'f> {
    pub(crate) entry: &'f TensorEntry,
    pub(crate) source: Source<'f>,
}

/// How a tensor is stored, with what decoding it needs.
#[derive(Debug)]
pub(crate) enum Source<'f> {
    Quantized(Box<QuantSlot<'f>>),
    /// Coded losslessly in chunks.
    Lossless(LosslessSlot),
    /// Kept exactly; `float` is its type when it is F32, F16 or BF16.
    Raw {
        float: Option<FloatDtype>,
    },
}

impl QuantSlot<'_> {
    /// The tensor's code decode table.
    pub(crate) fn table(&self) -> &DecodeTable {
        self.code_table
            .get_or_init(|| DecodeTable::new(self.quantized.codebook()))
    }
}

/// Decoding state of a quantized tensor.
#[derive(Debug)]
pub(crate) struct QuantSlot<'f> {
    pub(crate) quantized: &'f QuantizedEntry,
    /// The code table, built by the first job that needs it: a tensor decoded through `table16`
    /// never does, and a build (about 20 us) costs about a third of decoding a default chunk.
    code_table: OnceLock<DecodeTable>,
    pub(crate) layout: BlockLayout,
    /// Codes that can occur: `2^bits`.
    pub(crate) levels: usize,
    /// The tensor's single lookup table (per-tensor granularity and a float output only).
    pub(crate) lut: Option<Lut>,
    /// A decode table writing `lut`'s values itself, where they are 16-bit.
    pub(crate) table16: Option<DecodeTable16>,
}

impl<'f> Slot<'f> {
    /// Builds the decode table (and the lookup table, for a per-tensor scale) of `entry`, whose
    /// output is `sink`, after checking that its codebook and parameters can be trusted.
    pub(crate) fn prepare(entry: &'f TensorEntry, sink: &Sink<'_>) -> Result<Self> {
        if let Some(lossless) = LosslessSlot::of(entry) {
            return Ok(Self {
                entry,
                source: Source::Lossless(lossless),
            });
        }
        let Some(quantized) = entry.quantized() else {
            let float = FloatDtype::from_dtype(entry.dtype());
            return Ok(Self {
                entry,
                source: Source::Raw { float },
            });
        };
        check_plausible(entry)?;
        let params = quantized.params();
        check_codebook(entry.name(), quantized.codebook(), params)?;
        let layout = params
            .validate(entry.shape())
            .map_err(|source| Error::Params {
                tensor: entry.name().to_owned(),
                source,
            })?;
        // Relative codes need their zero points added back first; the reader only accepts them
        // with 64 or more blocks, so never here.
        let absolute = quantized.code_form() == CodeForm::Absolute;
        let lut = match (params.granularity, params.blocks.first()) {
            (Granularity::Tensor, Some(block)) if absolute => sink.lut(*block),
            _ => None,
        };
        let table16 = lut
            .as_ref()
            .and_then(Lut::words)
            .map(|words| DecodeTable16::new(quantized.codebook(), &words));
        Ok(Self {
            entry,
            source: Source::Quantized(Box::new(QuantSlot {
                quantized,
                code_table: OnceLock::new(),
                layout,
                levels: 1usize << params.bits.min(8),
                lut,
                table16,
            })),
        })
    }
}

/// Rejects a quantized tensor that claims more codes than its payload could hold: every Huffman
/// symbol takes at least one bit and stands for at most two codes (nibble pairs). Callers check this
/// before allocating output for the tensor, which bounds allocations by a multiple of the file size.
pub(crate) fn check_plausible(entry: &TensorEntry) -> Result<()> {
    let Some(quantized) = entry.quantized() else {
        return Ok(());
    };
    let per_byte = 8 * quantized.codebook().alphabet().codes_per_symbol() as u64;
    let max = entry.payload_len().saturating_mul(per_byte);
    if entry.elements() > max {
        return Err(Error::Implausible {
            tensor: entry.name().to_owned(),
            elements: entry.elements(),
            payload_len: entry.payload_len(),
            max,
        });
    }
    Ok(())
}

/// Rejects a codebook that codes a symbol standing for a code above `2^bits - 1`.
///
/// The encoder only gives codes to symbols that occur (plus, for a single symbol, a partner
/// differing in the lowest bit, which stays in range), so a valid file never fails this. Checking it
/// once here means every decoded code is in range, exactly the codes `entro_quant::dequantize`
/// accepts, without a check per code.
fn check_codebook(tensor: &str, codebook: &Codebook, params: &QuantParams) -> Result<()> {
    let max = params.max_code();
    let fits = |symbol: u8| match codebook.alphabet() {
        Alphabet::Bytes => symbol <= max,
        Alphabet::NibblePairs => symbol >> 4 <= max && symbol & 0x0f <= max,
    };
    let bad = (0..=u8::MAX)
        .zip(codebook.lengths())
        .find(|&(symbol, &length)| length > 0 && !fits(symbol));
    match bad {
        Some((symbol, _)) => Err(Error::CodebookOutOfRange {
            tensor: tensor.to_owned(),
            symbol,
            bits: params.bits,
        }),
        None => Ok(()),
    }
}

/// One unit of work: a chunk of a quantized or lossless tensor, or a whole raw tensor.
#[derive(Debug)]
pub(crate) struct Job<'a> {
    /// Index of the tensor's [`Slot`].
    pub(crate) slot: usize,
    /// Chunk index (0 for a raw tensor).
    pub(crate) chunk: usize,
    /// Elements the job produces (its size, and its progress).
    pub(crate) elements: u64,
    pub(crate) sink: Sink<'a>,
}

/// Cuts `sink` (the output of tensor `slot`) into the jobs that fill it.
pub(crate) fn jobs_of<'a>(
    slot_index: usize,
    slot: &Slot<'_>,
    sink: Sink<'a>,
) -> Result<Vec<Job<'a>>> {
    if let Source::Raw { .. } = &slot.source {
        return Ok(vec![Job {
            slot: slot_index,
            chunk: 0,
            elements: slot.entry.elements(),
            sink,
        }]);
    }
    let chunks = slot.entry.chunks();
    let counts = chunks.iter().map(|chunk| chunk.codes as usize);
    let pieces = sink.split(counts).ok_or_else(|| Error::ChunkCoverage {
        tensor: slot.entry.name().to_owned(),
        expected: slot.entry.elements(),
        found: chunks.iter().map(|chunk| u64::from(chunk.codes)).sum(),
    })?;
    Ok(pieces
        .into_iter()
        .zip(chunks)
        .enumerate()
        .map(|(chunk, (sink, info))| Job {
            slot: slot_index,
            chunk,
            elements: u64::from(info.codes),
            sink,
        })
        .collect())
}

/// Checks that `entry` is one of `file`'s own entries (not a look-alike from another file).
pub(crate) fn check_entry(file: &EntroFile, entry: &TensorEntry) -> Result<()> {
    let own = file
        .tensor(entry.name())
        .is_some_and(|own| std::ptr::eq(own, entry));
    if own {
        Ok(())
    } else {
        Err(Error::ForeignTensor {
            tensor: entry.name().to_owned(),
        })
    }
}
