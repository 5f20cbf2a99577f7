//! Files of lossless tensors for the decoder's tests, and what each output must hold.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different subset of the helpers"
)]

use entro_decode::{FloatDtype, OutputKind};
use entro_format::{Dtype, EntroFile, EntroWriter, FileMetadata};
use half::{bf16, f16};

/// Bit patterns of special F32 values: NaNs (quiet, signalling, both signs, several payloads),
/// ±0, ±inf, subnormals (smallest, largest), the largest finite, the smallest normal.
pub const SPECIAL_F32: [u32; 12] = [
    0x7fc0_0000,
    0xffc0_0001,
    0x7f80_0001,
    0x7fbf_ffff,
    0x0000_0000,
    0x8000_0000,
    0x7f80_0000,
    0xff80_0000,
    0x0000_0001,
    0x807f_ffff,
    0x7f7f_ffff,
    0x0080_0000,
];
/// The same kinds of values in F16.
pub const SPECIAL_F16: [u16; 12] = [
    0x7e00, 0xfe01, 0x7c01, 0x7fff, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x0001, 0x83ff, 0x7bff, 0x0400,
];
/// The same kinds of values in BF16.
pub const SPECIAL_BF16: [u16; 12] = [
    0x7fc0, 0xffc1, 0x7f81, 0x7fff, 0x0000, 0x8000, 0x7f80, 0xff80, 0x0001, 0x807f, 0x7f7f, 0x0080,
];

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Roughly normal, deviation about 0.03.
    pub fn weight(&mut self) -> f32 {
        let sum: f32 = (0..4)
            .map(|_| (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
            .sum();
        (sum - 2.0) * 0.05
    }
}

/// `elements` little-endian elements of `dtype`: weight-like values with one in `1 / special_rate`
/// a special value, or (`special_rate == 0`) uniformly random bit patterns.
pub fn float_bytes(dtype: Dtype, seed: u64, elements: usize, special_rate: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(elements * 4);
    for _ in 0..elements {
        let weight = rng.weight();
        let pick = rng.next_u64();
        let special = (special_rate > 0 && pick.is_multiple_of(special_rate))
            .then_some(((pick >> 20) % 12) as usize);
        let random = special_rate == 0;
        let bits = rng.next_u64().to_le_bytes();
        match dtype {
            Dtype::F32 => {
                let value = match special {
                    _ if random => u32::from_le_bytes([bits[0], bits[1], bits[2], bits[3]]),
                    Some(i) => SPECIAL_F32[i],
                    None => weight.to_bits(),
                };
                out.extend_from_slice(&value.to_le_bytes());
            }
            Dtype::F16 | Dtype::BF16 => {
                let (specials, normal) = if dtype == Dtype::F16 {
                    (&SPECIAL_F16, f16::from_f32(weight).to_bits())
                } else {
                    (&SPECIAL_BF16, bf16::from_f32(weight).to_bits())
                };
                let value = match special {
                    _ if random => u16::from_le_bytes([bits[0], bits[1]]),
                    Some(i) => specials[i],
                    None => normal,
                };
                out.extend_from_slice(&value.to_le_bytes());
            }
            other => panic!("not a float dtype: {other}"),
        }
    }
    out
}

/// One lossless tensor of a test file.
#[derive(Debug, Clone)]
pub struct LosslessSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: Dtype,
    pub bytes: Vec<u8>,
    pub chunk: usize,
}

/// Writes `specs` losslessly, plus a raw I32 tensor `ids`, and opens the result from memory.
pub fn lossless_file(specs: &[LosslessSpec]) -> EntroFile {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("lossless.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).expect("create");
    for spec in specs {
        writer
            .add_lossless(&spec.name, &spec.shape, spec.dtype, &spec.bytes, spec.chunk)
            .expect("add lossless");
    }
    writer
        .add_raw("ids", &[2], Dtype::I32, &[7, 0, 0, 0, 9, 0, 0, 0])
        .expect("add raw");
    writer.finish().expect("finish");
    EntroFile::from_bytes(std::fs::read(&path).expect("read back")).expect("valid file")
}

/// What a lossless tensor of `dtype` with little-endian elements `bytes` decodes to as `float`,
/// as little-endian bytes: the bytes themselves for its own type, else the values widened to f32
/// and rounded to nearest.
pub fn expected_bytes(dtype: Dtype, bytes: &[u8], float: FloatDtype) -> Vec<u8> {
    if float.dtype() == dtype {
        return bytes.to_vec();
    }
    let values = dtype
        .widen_to_f32(bytes)
        .unwrap_or_else(|| panic!("not a float dtype: {dtype}"));
    match float {
        FloatDtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        FloatDtype::F16 => values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect(),
        FloatDtype::BF16 => values
            .iter()
            .flat_map(|&v| bf16::from_f32(v).to_le_bytes())
            .collect(),
    }
}

/// The float type an output kind holds (typed or as bytes), if any.
pub fn float_of(kind: OutputKind) -> Option<FloatDtype> {
    FloatDtype::from_dtype(kind.dtype())
}
