//! Replays the committed `lossless_chunk` fuzz corpus through the check the fuzz target runs, so
//! that every input found by fuzzing stays covered on stable. Reads
//! `fuzz/corpus/lossless_chunk/seed-*` and `regressions/*` beside this crate (a missing folder,
//! as in the published crate, replays nothing); `ENTRO_WRITE_FUZZ_SEEDS=1` rewrites the seeds.

mod common;
mod fuzz_lossless;

use std::path::{Path, PathBuf};

use entro_format::lossless::{FloatLayout, encode_chunk};
use fuzz_lossless::{LosslessOutcome, lossless_chunk};

fn corpus_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/lossless_chunk")
}

/// A valid chunk of `values` as a decode input of the fuzz target.
fn decode_input(selector: u8, layout: FloatLayout, elements: &[u8]) -> Vec<u8> {
    let count = u16::try_from(elements.len() / layout.element_bytes()).unwrap();
    let mut input = vec![selector, 0];
    input.extend_from_slice(&count.to_le_bytes());
    encode_chunk(layout, elements, &mut input).unwrap();
    input
}

/// Seeds: valid chunks of two layouts (one on a grid, as dequantized checkpoints are), a truncated
/// chunk, and round-trip inputs with special values and with the smallest planes.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let bf16: Vec<u8> = (0..256u16)
        .flat_map(|i| half_step(i).to_le_bytes())
        .collect();
    let grid: Vec<u8> = (0..512u32)
        .flat_map(|i| (-0.25f32 + (i * 7 % 16) as f32 * 0.03125).to_le_bytes())
        .collect();
    let specials: Vec<u8> = [
        0u32,
        0x8000_0000,
        0x7f80_0000,
        0xff80_0000,
        0x7fc0_0001,
        1,
        0x0080_0000,
    ]
    .iter()
    .flat_map(|bits| bits.to_le_bytes())
    .collect();
    // A flipped bit in a raw plane still decodes (the container's checksums catch it); a cut
    // chunk cannot.
    let mut truncated = decode_input(2, FloatLayout::BF16, &bf16);
    truncated.truncate(truncated.len() - 1);
    let mut round_trip = vec![0u8, 7];
    round_trip.extend_from_slice(&specials);
    let mut round_trip_f16 = vec![1u8, 3];
    round_trip_f16.extend((0..200u16).flat_map(|i| (i.wrapping_mul(0x3c01)).to_le_bytes()));
    // Mode bit 4: the smallest planes (BF16 weights, coded with their optimal code lengths).
    let mut round_trip_smallest = vec![2u8, 0x11];
    round_trip_smallest.extend_from_slice(&bf16);
    vec![
        ("bf16", decode_input(2, FloatLayout::BF16, &bf16)),
        ("f32-grid", decode_input(0, FloatLayout::F32, &grid)),
        ("truncated", truncated),
        ("roundtrip-specials-f32", round_trip),
        ("roundtrip-f16", round_trip_f16),
        ("roundtrip-smallest-bf16", round_trip_smallest),
    ]
}

/// Bit patterns of small BF16 weights.
fn half_step(i: u16) -> u16 {
    0x3c00 + (i % 37) * 3 + if i.is_multiple_of(2) { 0x8000 } else { 0 }
}

#[test]
fn seeds_behave_as_named() {
    let seeds = seeds();
    let outcomes: Vec<LosslessOutcome> = seeds
        .iter()
        .map(|(_, bytes)| lossless_chunk(bytes))
        .collect();
    assert_eq!(
        outcomes,
        [
            LosslessOutcome::Decoded,
            LosslessOutcome::Decoded,
            LosslessOutcome::Rejected,
            LosslessOutcome::RoundTrip,
            LosslessOutcome::RoundTrip,
            LosslessOutcome::RoundTrip,
        ]
    );
    common::write_seeds_if_asked(&corpus_folder(), &seeds);
}

#[test]
fn committed_corpus_replays() {
    for path in common::committed_corpus(&corpus_folder()) {
        let bytes = std::fs::read(&path).unwrap();
        // Must not panic; the outcome itself depends on the input.
        let outcome = lossless_chunk(&bytes);
        println!("{}: {outcome:?}", path.display());
    }
}
