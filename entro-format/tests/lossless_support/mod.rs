//! Inputs shared by the lossless codec's integration tests.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use entro_format::lossless::{FloatLayout, decode_chunk, encode_chunk};

pub(crate) const LAYOUTS: [FloatLayout; 3] =
    [FloatLayout::F32, FloatLayout::F16, FloatLayout::BF16];

/// xorshift64*, so tests need no RNG crate.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniformly random byte.
    pub(crate) fn byte(&mut self) -> u8 {
        self.next_u64().to_le_bytes()[7]
    }

    /// Roughly normal, mean 0, deviation `scale`.
    pub(crate) fn weight(&mut self, scale: f32) -> f32 {
        let sum: f32 = (0..4)
            .map(|_| (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
            .sum();
        sum * scale * 1.7
    }
}

/// `count` weight-like elements of `layout` (little-endian bytes), deviation 0.02.
pub(crate) fn weights(layout: FloatLayout, count: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut bytes = Vec::with_capacity(count * layout.element_bytes());
    for _ in 0..count {
        let value = rng.weight(0.02);
        match layout {
            FloatLayout::F32 => bytes.extend_from_slice(&value.to_le_bytes()),
            FloatLayout::BF16 => bytes.extend_from_slice(&bf16_bits(value).to_le_bytes()),
            FloatLayout::F16 => bytes.extend_from_slice(&f16_bits(value).to_le_bytes()),
        }
    }
    bytes
}

/// `blocks` blocks of 32 elements as a checkpoint dequantized from GGUF gives them: alternately
/// Q4_1 (f16 scale and minimum, codes 0..=15) and Q8_0 (f16 scale, codes -127..=127), each value
/// computed in f32 and rounded to the layout.
pub(crate) fn dequantized(layout: FloatLayout, blocks: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut bytes = Vec::with_capacity(blocks * 32 * layout.element_bytes());
    for block in 0..blocks {
        let scale = half::f16::from_f32(0.001 + (rng.next_u64() % 1000) as f32 * 1e-5).to_f32();
        let min = half::f16::from_f32(rng.weight(0.3) - 0.3).to_f32();
        for i in 0..32u64 {
            // GGUF's quantizers always use both ends of the code range (Q4_1) or the largest
            // magnitude (Q8_0).
            let code = match i {
                0 => 0,
                1 => 254,
                _ => rng.next_u64() % 255,
            };
            let value = if block % 2 == 0 {
                (code % 16 + u64::from(i == 1)) as f32 * scale * 8.0 + min
            } else {
                (code as f32 - 127.0) * scale
            };
            match layout {
                FloatLayout::F32 => bytes.extend_from_slice(&value.to_le_bytes()),
                FloatLayout::BF16 => bytes.extend_from_slice(&bf16_bits(value).to_le_bytes()),
                FloatLayout::F16 => bytes.extend_from_slice(&f16_bits(value).to_le_bytes()),
            }
        }
    }
    bytes
}

fn bf16_bits(value: f32) -> u16 {
    half::bf16::from_f32(value).to_bits()
}

fn f16_bits(value: f32) -> u16 {
    half::f16::from_f32(value).to_bits()
}

/// Encodes and decodes `elements`, asserting a bit-exact result; returns the chunk.
pub(crate) fn assert_round_trip(layout: FloatLayout, elements: &[u8]) -> Vec<u8> {
    let mut chunk = vec![0xAB];
    encode_chunk(layout, elements, &mut chunk).expect("encode");
    let mut decoded = vec![0x5Au8; elements.len()];
    decode_chunk(layout, &chunk[1..], &mut decoded).expect("decode");
    assert!(
        decoded == elements,
        "{layout:?}: decoded bytes differ from the input ({} elements)",
        elements.len() / layout.element_bytes()
    );
    chunk.remove(0);
    chunk
}
