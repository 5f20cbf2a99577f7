//! The lossless codec gives back every bit: random bit patterns, weight-like data, and every
//! special value (NaN payloads, signed zeros, infinities, subnormals, extreme normals).

mod lossless_support;

use entro_format::lossless::FloatLayout;
use entro_format::lossless::{EncodeOptions, encode_chunk_with};
use lossless_support::{LAYOUTS, Rng, assert_round_trip, dequantized, weights};
use proptest::prelude::*;

/// Every 16-bit pattern, in a shuffled order so that no plane is trivially sorted.
fn all_16_bit_patterns() -> Vec<u8> {
    (0..=u16::MAX)
        .map(|i| i.wrapping_mul(40_503).rotate_left(5))
        .flat_map(u16::to_le_bytes)
        .collect()
}

#[test]
fn every_16_bit_pattern_round_trips() {
    // This covers every NaN payload (quiet and signalling, both signs), ±0, ±inf, every
    // subnormal and the smallest and largest normals of F16 and BF16.
    let patterns = all_16_bit_patterns();
    for layout in [FloatLayout::F16, FloatLayout::BF16] {
        assert_round_trip(layout, &patterns);
        // Each value alone as a one-element chunk: every plane is a constant.
        for element in patterns.chunks_exact(2).step_by(97) {
            assert_round_trip(layout, element);
        }
    }
}

/// F32 values of every class, named for the failure message.
fn f32_specials() -> Vec<(&'static str, u32)> {
    let mut values = vec![
        ("+0", 0x0000_0000),
        ("-0", 0x8000_0000),
        ("+inf", 0x7f80_0000),
        ("-inf", 0xff80_0000),
        ("quiet nan", 0x7fc0_0000),
        ("negative quiet nan", 0xffc0_0000),
        ("quiet nan, full payload", 0x7fff_ffff),
        ("negative nan, full payload", 0xffff_ffff),
        ("signalling nan, payload 1", 0x7f80_0001),
        ("signalling nan, full payload", 0x7fbf_ffff),
        ("negative signalling nan", 0xff80_0001),
        ("smallest subnormal", 0x0000_0001),
        ("largest subnormal", 0x007f_ffff),
        ("negative subnormal", 0x8000_0001),
        ("smallest normal", 0x0080_0000),
        ("negative smallest normal", 0x8080_0000),
        ("largest normal", 0x7f7f_ffff),
        ("negative largest normal", 0xff7f_ffff),
        ("one", 0x3f80_0000),
    ];
    // NaN payloads spread over the whole 23-bit mantissa, both signs.
    for step in 1..=4096u32 {
        let mantissa = step.wrapping_mul(2_048_383) & 0x007f_ffff;
        values.push(("nan payload", 0x7f80_0000 | mantissa.max(1)));
        values.push(("negative nan payload", 0xff80_0000 | mantissa.max(1)));
        values.push(("subnormal", mantissa));
    }
    values
}

#[test]
fn every_f32_value_class_round_trips() {
    let specials = f32_specials();
    let together: Vec<u8> = specials
        .iter()
        .flat_map(|(_, bits)| bits.to_le_bytes())
        .collect();
    assert_round_trip(FloatLayout::F32, &together);
    for (name, bits) in specials.iter().take(19) {
        let chunk = assert_round_trip(FloatLayout::F32, &bits.to_le_bytes());
        assert!(!chunk.is_empty(), "{name}");
        // The same value among ordinary weights.
        let mut mixed = weights(FloatLayout::F32, 1000, u64::from(*bits));
        mixed[400..404].copy_from_slice(&bits.to_le_bytes());
        assert_round_trip(FloatLayout::F32, &mixed);
    }
}

#[test]
fn weight_like_data_compresses_and_round_trips() {
    for layout in LAYOUTS {
        let data = weights(layout, 100_000, 7);
        let chunk = assert_round_trip(layout, &data);
        // The exponent plane takes a few distinct values, so every layout must shrink.
        assert!(
            chunk.len() < data.len() * 15 / 16,
            "{layout:?}: {} bytes from {}",
            chunk.len(),
            data.len()
        );
    }
}

#[test]
fn dequantized_blocks_lie_on_grids() {
    for layout in LAYOUTS {
        let data = dequantized(layout, 200, 1);
        let chunk = assert_round_trip(layout, &data);
        let mut plain = Vec::new();
        let options = EncodeOptions::default().with_grid_blocks(false);
        let plain_stats = encode_chunk_with(layout, &data, &options, &mut plain).unwrap();
        assert_eq!(plain_stats.grid_elements, 0);
        let mut with_grids = Vec::new();
        let stats =
            encode_chunk_with(layout, &data, &EncodeOptions::default(), &mut with_grids).unwrap();
        assert_eq!(with_grids, chunk);
        assert_eq!(stats.total_bytes(), chunk.len());
        assert_eq!(stats.grid_elements, data.len() / layout.element_bytes());
        // Half the blocks have 4-bit indices, half 8-bit: about 6 + 1 bits per element.
        let bits = chunk.len() as f64 * 8.0 / (200.0 * 32.0);
        assert!(bits < 7.5, "{layout:?}: {bits:.2} bits per element");
        assert!(chunk.len() < plain.len(), "{layout:?}");
        // Grid blocks mixed with plain ones and a tail.
        let mut mixed = data[..64 * layout.element_bytes()].to_vec();
        mixed.extend_from_slice(&weights(layout, 100, 2));
        mixed.extend_from_slice(&data[..200 * layout.element_bytes()]);
        assert_round_trip(layout, &mixed);
    }
}

/// BF16 blocks of a Q4_1-style grid whose indices bunch in the middle, as trained weights' do:
/// about 3.8 bits of entropy, so a Huffman code saves a few percent over packing them in 4 bits.
fn q4_1_bf16(blocks: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut bytes = Vec::new();
    for _ in 0..blocks {
        let step = half::f16::from_f32(0.002 + (rng.next_u64() % 1000) as f32 * 1e-6).to_f32();
        let min = half::f16::from_f32(-7.5 * step).to_f32();
        for i in 0..32 {
            // The sum of three uniform draws in 0..=5: a bell over 0..=15.
            let bell: u64 = (0..3).map(|_| rng.next_u64() % 6).sum();
            let index = match i {
                0 => 0,
                1 => 15,
                _ => bell.min(15),
            };
            let value = half::bf16::from_f32(index as f32 * step + min);
            bytes.extend_from_slice(&value.to_bits().to_le_bytes());
        }
    }
    bytes
}

#[test]
fn smallest_planes_huffman_code_what_packing_would_keep() {
    let data = q4_1_bf16(4_000, 5);
    let layout = FloatLayout::BF16;
    let mut fast = Vec::new();
    let fast_stats =
        encode_chunk_with(layout, &data, &EncodeOptions::default(), &mut fast).unwrap();
    let mut small = Vec::new();
    let options = EncodeOptions::default().with_smallest_planes(true);
    let small_stats = encode_chunk_with(layout, &data, &options, &mut small).unwrap();
    assert_eq!(fast_stats.grid_elements, data.len() / 2);
    assert_eq!(small_stats.grid_elements, data.len() / 2);
    // Packed: exactly 4 bits per index. Huffman-coded: less, and the chunk shrinks with it.
    assert_eq!(fast_stats.block_index_bytes, 2 + 4_000 * 32 / 2);
    assert!(small_stats.block_index_bytes < fast_stats.block_index_bytes * 31 / 32);
    assert!(small.len() < fast.len());
    for chunk in [&fast, &small] {
        let mut decoded = vec![0u8; data.len()];
        entro_format::lossless::decode_chunk(layout, chunk, &mut decoded).unwrap();
        assert_eq!(decoded, data);
    }
}

#[test]
fn chunk_sizes_from_one_element_up_round_trip() {
    let mut rng = Rng::new(3);
    for layout in LAYOUTS {
        for count in [1usize, 2, 3, 5, 7, 8, 31, 64, 255, 1023, 4097] {
            let random: Vec<u8> = (0..count * layout.element_bytes())
                .map(|_| rng.byte())
                .collect();
            assert_round_trip(layout, &random);
            assert_round_trip(layout, &weights(layout, count, count as u64));
            assert_round_trip(layout, &vec![0u8; count * layout.element_bytes()]);
        }
    }
}

fn layout_strategy() -> impl Strategy<Value = FloatLayout> {
    prop::sample::select(LAYOUTS.to_vec())
}

/// Elements drawn from a small pool of arbitrary bit patterns, so planes are low-entropy but not
/// constant and the Huffman mode is exercised with arbitrary symbols.
fn pooled(layout: FloatLayout) -> impl Strategy<Value = Vec<u8>> {
    let width = layout.element_bytes();
    (
        prop::collection::vec(any::<u32>(), 1..6),
        prop::collection::vec(any::<u8>(), 1..3000),
    )
        .prop_map(move |(pool, picks)| {
            picks
                .iter()
                .flat_map(|&pick| {
                    pool[usize::from(pick) % pool.len()].to_le_bytes()[..width].to_vec()
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bit_patterns_round_trip(
        layout in layout_strategy(),
        bytes in prop::collection::vec(any::<u8>(), 1..6000),
    ) {
        let whole = bytes.len() / layout.element_bytes() * layout.element_bytes();
        prop_assume!(whole > 0);
        assert_round_trip(layout, &bytes[..whole]);
    }

    #[test]
    fn low_entropy_bit_patterns_round_trip(
        (layout, bytes) in layout_strategy().prop_flat_map(|layout| (Just(layout), pooled(layout))),
    ) {
        assert_round_trip(layout, &bytes);
    }

    #[test]
    fn dequantized_values_round_trip(layout in layout_strategy(), blocks in 1usize..40, seed: u64) {
        let mut data = dequantized(layout, blocks, seed);
        // Damage one element so that some block may fall back to plain coding.
        let at = usize::try_from(seed % data.len() as u64).unwrap() & !1;
        data[at] ^= 0x10;
        assert_round_trip(layout, &data);
    }

    #[test]
    fn weight_like_values_round_trip(layout in layout_strategy(), count in 1usize..20_000, seed: u64) {
        assert_round_trip(layout, &weights(layout, count, seed));
    }
}
