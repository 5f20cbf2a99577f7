//! The check behind the `lossless_chunk` fuzz target, shared with
//! `tests/fuzz_lossless_regressions.rs`, which replays the committed corpus
//! (`fuzz/corpus/lossless_chunk/seed-*` and `regressions/*`) through it on stable.
//!
//! The container's checksums keep damaged chunks away from the codec in `format_parse`, so this
//! target feeds the codec directly: arbitrary bytes as a chunk, and arbitrary elements through a
//! round trip.

use entro_format::lossless::{EncodeOptions, FloatLayout, decode_chunk, encode_chunk_with};

/// Largest output a decode input may ask for: bounds the fuzzer's allocations.
const MAX_FUZZ_ELEMENTS: usize = 1 << 16;

/// What one input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LosslessOutcome {
    /// Too short to say what to do.
    Empty,
    /// Arbitrary bytes decoded without error.
    Decoded,
    /// Arbitrary bytes were rejected with an error.
    Rejected,
    /// Elements were encoded and decoded back bit for bit.
    RoundTrip,
}

fn layout_of(selector: u8) -> FloatLayout {
    match selector % 3 {
        0 => FloatLayout::F32,
        1 => FloatLayout::F16,
        _ => FloatLayout::BF16,
    }
}

/// Byte 0 picks the layout (and, bit 7, the encoder's grid-block search), byte 1 the mode: even
/// decodes bytes 4.. as a chunk of `u16` bytes 2..4 elements, odd round-trips bytes 2.. as
/// elements (repeated, so that 32-element grid blocks and long runs occur; bit 4 asks for the
/// smallest planes).
pub(crate) fn lossless_chunk(data: &[u8]) -> LosslessOutcome {
    let [selector, mode, rest @ ..] = data else {
        return LosslessOutcome::Empty;
    };
    let layout = layout_of(*selector);
    let width = layout.element_bytes();
    if mode % 2 == 0 {
        let Some((count, chunk)) = rest.split_first_chunk::<2>() else {
            return LosslessOutcome::Empty;
        };
        let elements = usize::from(u16::from_le_bytes(*count)).clamp(1, MAX_FUZZ_ELEMENTS);
        let mut out = vec![0u8; elements * width];
        return match decode_chunk(layout, chunk, &mut out) {
            Ok(()) => LosslessOutcome::Decoded,
            Err(err) => {
                assert!(!err.to_string().is_empty(), "an error must say something");
                LosslessOutcome::Rejected
            }
        };
    }
    let whole = rest.len() / width * width;
    if whole == 0 {
        return LosslessOutcome::Empty;
    }
    // Repeating the input (up to 8 times) makes blocks of equal values and grids likely.
    let repeats = usize::from(mode / 2 % 8) + 1;
    let elements: Vec<u8> = rest[..whole].repeat(repeats);
    let options = EncodeOptions::default()
        .with_grid_blocks(selector & 0x80 == 0)
        .with_smallest_planes(mode & 0x10 != 0);
    let mut chunk = vec![0xA5; 3];
    let stats = encode_chunk_with(layout, &elements, &options, &mut chunk)
        .expect("any whole number of elements encodes");
    assert_eq!(
        stats.total_bytes(),
        chunk.len() - 3,
        "stats account for every byte"
    );
    let mut decoded = vec![0u8; elements.len()];
    decode_chunk(layout, &chunk[3..], &mut decoded).expect("a fresh chunk decodes");
    assert!(decoded == elements, "lossless round trip changed the bits");
    LosslessOutcome::RoundTrip
}
