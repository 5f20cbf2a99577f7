//! Coding one byte plane of a chunk: stored raw, as one constant, bit-packed, or Huffman-coded.
//!
//! ```text
//! mode 0, raw:      the plane's bytes, one per element
//! mode 1, constant: one byte, the value of every element (0 bits per element)
//! mode 2, huffman:  codebook (entro-huffman serialized form, either alphabet), coded length
//!                   (u32 LE), then one entro-huffman chunk coding the plane
//! mode 3, packed:   width w in 1..=7 (u8), then every value in w bits (packing module)
//! ```
//!
//! An empty plane is not written at all. The encoder takes the smallest of constant, raw and
//! packed, and Huffman only where it saves an eighth of that and 1 KiB: raw and packed planes
//! decode several times faster, and building a decode table takes about as long as decoding
//! 20 KiB of Huffman-coded symbols.

use std::ops::Range;

use entro_huffman::{Alphabet, Codebook, DEFAULT_MAX_CODE_LENGTH, DecodeTable, Histogram, encode};

use super::LosslessError;
use super::packing::{pack, packed_len, unpack};
use super::reader::ChunkReader;

const MODE_RAW: u8 = 0;
const MODE_CONSTANT: u8 = 1;
const MODE_HUFFMAN: u8 = 2;
const MODE_PACKED: u8 = 3;

/// The coded-length field before a Huffman-coded plane.
const CODED_LENGTH_BYTES: u64 = 4;

/// Huffman must save at least 1/8 of the raw or packed size...
const MIN_SAVING_SHIFT: u32 = 3;

/// ...and at least this many bytes, unless the encoder asks for the smallest coding.
const MIN_SAVING_BYTES: u64 = 1024;

/// When a Huffman code is chosen over a raw or packed plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HuffmanMargin {
    /// When it saves an eighth of the size and 1 KiB: raw and packed planes decode several times
    /// faster.
    Speed,
    /// Whenever it is smaller, with the optimal code lengths where they beat the fast-decoding
    /// ones.
    Size,
}

/// Names a plane of a chunk in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChunkPlane {
    /// One kind byte per 32-element block.
    BlockKinds,
    /// Byte `k` of the block parameters (0, 1: offset f16; 2, 3: step f16).
    BlockParams(u8),
    /// The 4-bit grid indices of the blocks that have them.
    NarrowIndices,
    /// The 8-bit grid indices of the blocks that have them.
    WideIndices,
    /// Plane 0 of the top 16 bits of the elements coded plainly (exponent and top mantissa bits).
    Top(u8),
    /// The exponent bytes of plainly coded elements outside the chunk's exponent window.
    Escapes,
    /// The kept low-bit widths of the F32 low halves, one per segment.
    LowWidths,
    /// The zero points of a quantized tensor's blocks (the same plane coding, outside chunks).
    ZeroPoints,
}

impl std::fmt::Display for ChunkPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BlockKinds => write!(f, "block kinds plane"),
            Self::BlockParams(byte) => write!(f, "block parameters plane {byte}"),
            Self::NarrowIndices => write!(f, "4-bit indices plane"),
            Self::WideIndices => write!(f, "8-bit indices plane"),
            Self::Top(plane) => write!(f, "top plane {plane}"),
            Self::Escapes => write!(f, "escaped exponents plane"),
            Self::LowWidths => write!(f, "low widths plane"),
            Self::ZeroPoints => write!(f, "zero points plane"),
        }
    }
}

/// How a plane will be written, and its size in bytes.
#[derive(Debug, Clone)]
pub(crate) struct PlanePlan {
    coding: Coding,
    pub(crate) bytes: u64,
}

#[derive(Debug, Clone)]
enum Coding {
    Raw,
    Constant(u8),
    Packed(u8),
    Huffman(Box<Codebook>),
}

/// The cheapest coding of a plane counted in `histogram`, over byte symbols.
pub(crate) fn plan_bytes(histogram: &Histogram) -> PlanePlan {
    choose(histogram, None, HuffmanMargin::Speed)
}

/// The cheapest coding of `plane`, trying nibble pairs too when every value is below 16; Huffman
/// only where it saves enough to pay for its slower decoding.
pub(crate) fn plan(plane: &[u8]) -> PlanePlan {
    plan_with(plane, HuffmanMargin::Speed)
}

/// [`plan`] with the given margin for Huffman codes.
fn plan_with(plane: &[u8], margin: HuffmanMargin) -> PlanePlan {
    let histogram = Histogram::from_symbols(plane);
    let narrow = plane.len() >= 2 && histogram.counts()[16..].iter().all(|&count| count == 0);
    let pairs = narrow
        .then(|| Histogram::from_nibble_pairs(plane).ok())
        .flatten();
    choose(&histogram, pairs.as_ref(), margin)
}

/// Constant if one value, else the smaller Huffman code (bytes, or pairs when counted) if it
/// saves enough over raw, else raw.
fn choose(histogram: &Histogram, pairs: Option<&Histogram>, margin: HuffmanMargin) -> PlanePlan {
    let len = histogram.total();
    if histogram.distinct() == 1 {
        let value = histogram.counts().iter().position(|&count| count > 0);
        let value = value
            .and_then(|value| u8::try_from(value).ok())
            .unwrap_or(0);
        return PlanePlan {
            coding: Coding::Constant(value),
            bytes: 2,
        };
    }
    let huffman = |histogram: &Histogram, alphabet| {
        let friendly =
            Codebook::from_histogram_decode_friendly(histogram, alphabet, DEFAULT_MAX_CODE_LENGTH);
        // For size alone the optimal code competes too: the friendly one may be up to 1 %
        // longer.
        let optimal = match margin {
            HuffmanMargin::Speed => None,
            HuffmanMargin::Size => {
                Codebook::from_histogram(histogram, alphabet, DEFAULT_MAX_CODE_LENGTH).ok()
            }
        };
        [friendly.ok(), optimal]
            .into_iter()
            .flatten()
            .filter_map(|codebook| huffman_plan(codebook, histogram))
            .min_by_key(|plan| plan.bytes)
    };
    let best = [
        huffman(histogram, Alphabet::Bytes),
        pairs.and_then(|pairs| huffman(pairs, Alphabet::NibblePairs)),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|plan| plan.bytes);
    let largest = (0..=255u8)
        .rev()
        .find(|&value| histogram.counts()[usize::from(value)] > 0)
        .unwrap_or(0);
    let width = u8::try_from(8 - largest.leading_zeros())
        .unwrap_or(8)
        .max(1);
    let (stored, stored_bytes) = match usize::try_from(len) {
        Ok(len) if width < 8 => (Coding::Packed(width), 2 + packed_len(len, width) as u64),
        _ => (Coding::Raw, 1 + len),
    };
    let required_saving = match margin {
        HuffmanMargin::Speed => (stored_bytes >> MIN_SAVING_SHIFT).max(MIN_SAVING_BYTES),
        HuffmanMargin::Size => 0,
    };
    match best {
        Some(plan) if plan.bytes + required_saving < stored_bytes => plan,
        _ => PlanePlan {
            coding: stored,
            bytes: stored_bytes,
        },
    }
}

fn huffman_plan(codebook: Codebook, histogram: &Histogram) -> Option<PlanePlan> {
    let bits = codebook.coded_bits(histogram)?;
    let codes = usize::try_from(histogram.total()).ok()?;
    let chunk_overhead = entro_huffman::chunk_overhead_bytes(&codebook, codes) as u64;
    let bytes = 1 + bits.div_ceil(8) + chunk_overhead + CODED_LENGTH_BYTES;
    let bytes = bytes + codebook.serialized_len() as u64;
    Some(PlanePlan {
        coding: Coding::Huffman(Box::new(codebook)),
        bytes,
    })
}

/// Appends `plane` coded as `plan` says (a plan made for this plane); nothing for an empty plane.
pub(crate) fn write_plane(
    id: ChunkPlane,
    plan: &PlanePlan,
    plane: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), LosslessError> {
    if plane.is_empty() {
        return Ok(());
    }
    match &plan.coding {
        Coding::Constant(value) => out.extend_from_slice(&[MODE_CONSTANT, *value]),
        Coding::Raw => {
            out.push(MODE_RAW);
            out.extend_from_slice(plane);
        }
        Coding::Packed(width) => {
            out.extend_from_slice(&[MODE_PACKED, *width]);
            pack(plane, *width, out);
        }
        Coding::Huffman(codebook) => {
            out.push(MODE_HUFFMAN);
            codebook.to_bytes(out);
            let len_at = out.len();
            out.extend_from_slice(&[0; 4]);
            let chunks = encode(plane, codebook, plane.len().next_multiple_of(2), out)
                .map_err(|source| LosslessError::Encode { plane: id, source })?;
            let len = chunks.first().map_or(0, |chunk| chunk.len);
            out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        }
    }
    Ok(())
}

/// Plans and writes `plane`; returns the bytes written.
pub(crate) fn encode_plane(
    id: ChunkPlane,
    plane: &[u8],
    margin: HuffmanMargin,
    out: &mut Vec<u8>,
) -> Result<usize, LosslessError> {
    let start = out.len();
    write_plane(id, &plan_with(plane, margin), plane, out)?;
    Ok(out.len() - start)
}

/// Where a decoded plane's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlaneBytes {
    /// Stored raw at this range of the chunk.
    InChunk(Range<usize>),
    /// Every element has this value (the scratch buffer was not touched).
    Constant(u8),
    /// Written to the scratch buffer.
    InScratch,
}

/// Reads one plane of `scratch.len()` elements (nothing if that is 0), decoding it into `scratch`
/// if it is Huffman-coded.
pub(crate) fn decode_plane(
    id: ChunkPlane,
    reader: &mut ChunkReader<'_>,
    scratch: &mut [u8],
) -> Result<PlaneBytes, LosslessError> {
    if scratch.is_empty() {
        return Ok(PlaneBytes::InScratch);
    }
    let mode_at = reader.offset();
    match reader.u8()? {
        MODE_RAW => {
            let start = reader.offset();
            reader.skip(scratch.len())?;
            Ok(PlaneBytes::InChunk(start..reader.offset()))
        }
        MODE_CONSTANT => Ok(PlaneBytes::Constant(reader.u8()?)),
        MODE_PACKED => {
            let width_at = reader.offset();
            let width = reader.u8()?;
            if !(1..8).contains(&width) {
                return Err(LosslessError::InvalidField {
                    offset: width_at,
                    what: "packed plane width",
                    expected: "1..=7".to_owned(),
                    found: u64::from(width),
                });
            }
            let packed_at = reader.offset();
            let packed = reader.take(packed_len(scratch.len(), width))?;
            unpack(packed, width, scratch).map_err(|()| LosslessError::InvalidField {
                offset: packed_at,
                what: "padding of a packed plane",
                expected: "zero bits".to_owned(),
                found: u64::from(packed.last().copied().unwrap_or(0)),
            })?;
            Ok(PlaneBytes::InScratch)
        }
        MODE_HUFFMAN => {
            let codebook_at = reader.offset();
            let (codebook, used) =
                Codebook::from_bytes(reader.rest()).map_err(|source| LosslessError::Codebook {
                    offset: codebook_at,
                    plane: id,
                    source,
                })?;
            reader.skip(used)?;
            let len = reader.u32()? as usize;
            let stream_at = reader.offset();
            let stream = reader.take(len)?;
            DecodeTable::new(&codebook)
                .decode_chunk(0, stream, scratch)
                .map_err(|source| LosslessError::Stream {
                    offset: stream_at,
                    plane: id,
                    source,
                })?;
            Ok(PlaneBytes::InScratch)
        }
        found => Err(LosslessError::UnknownPlaneMode {
            offset: mode_at,
            plane: id,
            found,
        }),
    }
}

/// Reads a plane and returns its bytes, filling `scratch` for constant planes too.
pub(crate) fn decode_plane_bytes<'a>(
    id: ChunkPlane,
    reader: &mut ChunkReader<'_>,
    chunk: &'a [u8],
    scratch: &'a mut [u8],
) -> Result<&'a [u8], LosslessError> {
    Ok(match decode_plane(id, reader, scratch)? {
        PlaneBytes::InChunk(range) => chunk.get(range).unwrap_or(&[]),
        PlaneBytes::Constant(value) => {
            scratch.fill(value);
            scratch
        }
        PlaneBytes::InScratch => scratch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(plane: &[u8]) -> (Vec<u8>, Vec<u8>) {
        round_trip_with(plane, HuffmanMargin::Speed)
    }

    fn round_trip_with(plane: &[u8], margin: HuffmanMargin) -> (Vec<u8>, Vec<u8>) {
        let mut coded = Vec::new();
        let written = encode_plane(ChunkPlane::Top(0), plane, margin, &mut coded).unwrap();
        assert_eq!(written, coded.len());
        // The plan counts the worst case of the streams' padding: up to a byte per stream (4 in a
        // narrow chunk, 64 in a wide one).
        let planned = plan_with(plane, margin).bytes;
        assert!(
            (coded.len() as u64..=coded.len() as u64 + 64).contains(&planned),
            "planned {planned}, coded {}",
            coded.len()
        );
        let mut scratch = vec![0u8; plane.len()];
        let mut reader = ChunkReader::new(&coded);
        let decoded =
            decode_plane_bytes(ChunkPlane::Top(0), &mut reader, &coded, &mut scratch).unwrap();
        assert!(reader.rest().is_empty());
        (coded.clone(), decoded.to_vec())
    }

    #[test]
    fn each_mode_is_chosen_where_it_pays() {
        let constant = vec![0x7f; 1000];
        let (coded, decoded) = round_trip(&constant);
        assert_eq!(coded, [MODE_CONSTANT, 0x7f]);
        assert_eq!(decoded, constant);

        let skewed: Vec<u8> = (0..4000u32)
            .map(|i| [120, 121, 121, 122][(i % 4) as usize])
            .collect();
        let (coded, decoded) = round_trip(&skewed);
        assert_eq!(coded[0], MODE_HUFFMAN);
        assert!(
            coded.len() < 1100,
            "1.5 bits per element, got {}",
            coded.len()
        );
        assert_eq!(decoded, skewed);

        let uniform: Vec<u8> = (0..4096u32).map(|i| (i * 167).to_le_bytes()[0]).collect();
        let (coded, decoded) = round_trip(&uniform);
        assert_eq!(coded[0], MODE_RAW);
        assert_eq!(coded.len(), 1 + uniform.len());
        assert_eq!(decoded, uniform);

        // Uniform 4-bit values: Huffman cannot beat 4 bits, packing gets them.
        let mut state = 0x2545_f491_u32;
        let nibbles: Vec<u8> = (0..4097)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[3] >> 4
            })
            .collect();
        let (coded, decoded) = round_trip(&nibbles);
        assert_eq!(coded[..2], [MODE_PACKED, 4]);
        assert_eq!(coded.len(), 2 + 2049);
        assert_eq!(decoded, nibbles);
        let mut reader = ChunkReader::new(&[MODE_PACKED, 8]);
        assert!(matches!(
            decode_plane(ChunkPlane::WideIndices, &mut reader, &mut [0; 4]),
            Err(LosslessError::InvalidField {
                offset: 1,
                found: 8,
                ..
            })
        ));
    }

    #[test]
    fn low_entropy_nibbles_use_pairs() {
        let nibbles: Vec<u8> = (0..50_001u32).map(|i| u8::from(i % 9 == 0) * 3).collect();
        let (coded, decoded) = round_trip(&nibbles);
        assert_eq!(decoded, nibbles);
        let (codebook, _) = Codebook::from_bytes(&coded[1..]).unwrap();
        assert_eq!(codebook.alphabet(), Alphabet::NibblePairs);
        assert!(
            coded.len() < 50_001 / 8,
            "under a bit per element: {}",
            coded.len()
        );
    }

    #[test]
    fn byte_planes_limit_their_codes_where_that_is_nearly_free() {
        // Thirty-two common values and a tail whose counts halve down to 1: the optimal code
        // gives the tail 14-bit codes, 12 bits cost a fraction of a percent and decode faster.
        let mut plane = Vec::new();
        for value in 0..32u8 {
            plane.extend(std::iter::repeat_n(value, 2_000));
        }
        for (step, value) in (32..=255u8).take(11).enumerate() {
            plane.extend(std::iter::repeat_n(value, 1 << step.saturating_sub(1)));
        }
        let histogram = Histogram::from_symbols(&plane);
        let optimal =
            Codebook::from_histogram(&histogram, Alphabet::Bytes, DEFAULT_MAX_CODE_LENGTH).unwrap();
        assert!(optimal.max_length() > entro_huffman::FAST_CODE_LENGTH);
        let (coded, decoded) = round_trip(&plane);
        assert_eq!(decoded, plane);
        assert_eq!(coded[0], MODE_HUFFMAN);
        let (codebook, _) = Codebook::from_bytes(&coded[1..]).unwrap();
        assert_eq!(codebook.max_length(), entro_huffman::FAST_CODE_LENGTH);
        let (optimal_bits, limited_bits) = (
            optimal.coded_bits(&histogram).unwrap(),
            codebook.coded_bits(&histogram).unwrap(),
        );
        assert!(limited_bits > optimal_bits && limited_bits * 100 <= optimal_bits * 101);
        // For the smallest planes the optimal code wins.
        let (smallest, decoded) = round_trip_with(&plane, HuffmanMargin::Size);
        assert_eq!(decoded, plane);
        let (codebook, _) = Codebook::from_bytes(&smallest[1..]).unwrap();
        assert_eq!(codebook.lengths(), optimal.lengths());
        assert!(smallest.len() < coded.len());
    }

    #[test]
    fn empty_planes_take_no_bytes_and_unknown_modes_are_named() {
        let mut out = Vec::new();
        assert_eq!(
            encode_plane(ChunkPlane::LowWidths, &[], HuffmanMargin::Speed, &mut out).unwrap(),
            0
        );
        let mut reader = ChunkReader::new(&[7]);
        assert_eq!(
            decode_plane(ChunkPlane::BlockKinds, &mut reader, &mut []).unwrap(),
            PlaneBytes::InScratch
        );
        assert!(matches!(
            decode_plane(ChunkPlane::BlockParams(3), &mut reader, &mut [0; 4]),
            Err(LosslessError::UnknownPlaneMode {
                offset: 0,
                plane: ChunkPlane::BlockParams(3),
                found: 7
            })
        ));
    }
}
