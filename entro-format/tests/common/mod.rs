//! Helpers shared by the integration tests: synthetic tensors and small files.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use entro_format::{
    EncodedTensor, EntroFile, EntroWriter, FileMetadata, MetadataMap, TensorEntry, encode_quantized,
};
use entro_huffman::DecodeTable;
use entro_quant::{FloatSlice, Granularity, QuantConfig, quantize};

/// A small deterministic generator (xorshift64*), so tests need no RNG crate.
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

    /// Roughly normal, mean 0, deviation `scale` (sum of four uniforms).
    pub(crate) fn weight(&mut self, scale: f32) -> f32 {
        let sum: f32 = (0..4)
            .map(|_| (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
            .sum();
        (sum - 2.0) * scale * 1.7
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next_u64() >> 56) as u8).collect()
    }
}

/// Weights of `elements` elements, roughly normal.
pub(crate) fn weights(seed: u64, elements: usize) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..elements).map(|_| rng.weight(0.02)).collect()
}

/// Quantizes `weights` (of `shape`) with `bits` and `granularity`, then
/// Huffman-codes them in chunks of `chunk_codes`. Returns the codes too.
pub(crate) fn quantized(
    name: &str,
    weights: &[f32],
    shape: &[usize],
    bits: u8,
    granularity: Granularity,
    chunk_codes: usize,
) -> (EncodedTensor, Vec<u8>) {
    let config = QuantConfig {
        bits,
        granularity,
        ..QuantConfig::default()
    };
    let mut codes = vec![0u8; weights.len()];
    let report = quantize(name, FloatSlice::F32(weights), shape, &config, &mut codes).unwrap();
    let encoded = encode_quantized(
        name,
        &codes,
        shape,
        report.params,
        report.stats,
        chunk_codes,
    )
    .unwrap();
    (encoded, codes)
}

/// Decodes every chunk of a quantized tensor, checking each chunk's checksum first, and restores
/// the quantizer's codes.
pub(crate) fn decode_codes(file: &EntroFile, entry: &TensorEntry) -> Vec<u8> {
    let quantized = entry.quantized().expect("a quantized tensor");
    let table = DecodeTable::new(quantized.codebook());
    let mut codes = vec![0u8; usize::try_from(entry.elements()).unwrap()];
    for (index, chunk) in quantized.chunks().iter().enumerate() {
        file.verify_chunk(entry, index).unwrap();
        let start = usize::try_from(chunk.first_code).unwrap();
        let end = start + usize::try_from(chunk.codes).unwrap();
        table
            .decode_chunk(
                index,
                file.chunk_bytes(entry, index).unwrap(),
                &mut codes[start..end],
            )
            .unwrap();
        entry
            .restore_codes(chunk.first_code, &mut codes[start..end])
            .unwrap();
    }
    codes
}

/// Metadata as a converted checkpoint carries it.
pub(crate) fn sample_metadata() -> FileMetadata {
    FileMetadata {
        checkpoint: Some(
            [("format", "pt"), ("origin", "synthetic")]
                .into_iter()
                .collect(),
        ),
        entro: [("tool", "entro-format tests")]
            .into_iter()
            .collect::<MetadataMap>(),
    }
}

/// A small `.entro` file (a few KiB) with raw tensors, a several-chunk
/// quantized tensor, a grouped one and an empty one, for corruption tests.
pub(crate) fn small_file_bytes() -> Vec<u8> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("small.entro");
    let mut writer = EntroWriter::create(&path, sample_metadata()).unwrap();
    writer
        .add_raw("norm.weight", &[5], entro_format::Dtype::F32, &[1u8; 20])
        .unwrap();
    let w = weights(1, 600);
    let (encoded, _) = quantized("proj.weight", &w, &[20, 30], 8, Granularity::Tensor, 256);
    writer
        .add_quantized(
            "proj.weight",
            &[20, 30],
            entro_format::Dtype::BF16,
            &encoded,
        )
        .unwrap();
    let w = weights(2, 96);
    let (encoded, _) = quantized(
        "grouped.weight",
        &w,
        &[4, 24],
        4,
        Granularity::Group(16),
        64,
    );
    writer
        .add_quantized(
            "grouped.weight",
            &[4, 24],
            entro_format::Dtype::F16,
            &encoded,
        )
        .unwrap();
    let (encoded, _) = quantized("empty.weight", &[], &[0, 8], 8, Granularity::Tensor, 64);
    writer
        .add_quantized("empty.weight", &[0, 8], entro_format::Dtype::F32, &encoded)
        .unwrap();
    writer
        .add_raw("step", &[], entro_format::Dtype::I64, &7i64.to_le_bytes())
        .unwrap();
    writer.finish().unwrap();
    std::fs::read(path).unwrap()
}

/// Little-endian elements of `dtype` (F32, F16 or BF16) mixing ordinary
/// weights with every special kind of value: NaNs with several payloads and
/// both signs, ±0, ±inf, subnormals, the extremes.
pub(crate) fn special_float_bytes(
    dtype: entro_format::Dtype,
    seed: u64,
    elements: usize,
) -> Vec<u8> {
    use entro_format::Dtype;
    let mut rng = Rng::new(seed);
    let specials32: [u32; 12] = [
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
    let specials16: [u16; 12] = [
        0x7e00, 0xfe01, 0x7c01, 0x7fff, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x0001, 0x83ff, 0x7bff,
        0x0400,
    ];
    let specials_bf16: [u16; 12] = [
        0x7fc0, 0xffc1, 0x7f81, 0x7fff, 0x0000, 0x8000, 0x7f80, 0xff80, 0x0001, 0x807f, 0x7f7f,
        0x0080,
    ];
    let mut out = Vec::new();
    for _ in 0..elements {
        let special = rng
            .next_u64()
            .is_multiple_of(8)
            .then(|| (rng.next_u64() % 12) as usize);
        let weight = rng.weight(0.02);
        match dtype {
            Dtype::F32 => {
                let bits = special.map_or(weight.to_bits(), |i| specials32[i]);
                out.extend_from_slice(&bits.to_le_bytes());
            }
            Dtype::F16 => {
                let bits = special.map_or(half::f16::from_f32(weight).to_bits(), |i| specials16[i]);
                out.extend_from_slice(&bits.to_le_bytes());
            }
            Dtype::BF16 => {
                let bits =
                    special.map_or(half::bf16::from_f32(weight).to_bits(), |i| specials_bf16[i]);
                out.extend_from_slice(&bits.to_le_bytes());
            }
            other => panic!("not a float dtype: {other}"),
        }
    }
    out
}

/// A small `.entro` file with lossless F32, F16 and BF16 tensors (several
/// chunks, one chunk, a scalar, an empty one) beside a raw one.
pub(crate) fn lossless_file_bytes() -> Vec<u8> {
    use entro_format::Dtype;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("lossless.entro");
    let mut writer = EntroWriter::create(&path, sample_metadata()).unwrap();
    let tensors: [(&str, &[usize], Dtype, usize); 5] = [
        ("embed.weight", &[16, 40], Dtype::BF16, 96),
        ("proj.weight", &[8, 12], Dtype::F32, 40),
        ("head.weight", &[3, 5, 7], Dtype::F16, 1000),
        ("scale", &[], Dtype::F32, 4),
        ("empty.weight", &[0, 4], Dtype::BF16, 16),
    ];
    for (seed, (name, shape, dtype, chunk)) in tensors.into_iter().enumerate() {
        let elements = shape.iter().product();
        let bytes = special_float_bytes(dtype, seed as u64, elements);
        writer
            .add_lossless(name, shape, dtype, &bytes, chunk)
            .unwrap();
    }
    writer
        .add_raw(
            "ids",
            &[3],
            Dtype::I32,
            &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0],
        )
        .unwrap();
    writer.finish().unwrap();
    std::fs::read(path).unwrap()
}

/// With `ENTRO_WRITE_FUZZ_SEEDS` set, (re)writes `seeds` as `seed-<name>` files of a fuzz target's
/// corpus folder; otherwise does nothing.
pub(crate) fn write_seeds_if_asked(folder: &std::path::Path, seeds: &[(&str, Vec<u8>)]) {
    if std::env::var_os("ENTRO_WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    std::fs::create_dir_all(folder).unwrap();
    for (name, bytes) in seeds {
        // Through a temporary file and a rename, so that a replay reading the corpus at the same
        // time never sees a half-written seed.
        let temporary = folder.join(format!(".writing-seed-{name}"));
        std::fs::write(&temporary, bytes).unwrap();
        std::fs::rename(&temporary, folder.join(format!("seed-{name}"))).unwrap();
    }
}

/// The committed inputs of a fuzz target's corpus folder, sorted: `seed-*` files, then everything
/// under `regressions/`. A missing folder (as in the published crate) gives none.
pub(crate) fn committed_corpus(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for (sub, seeds_only) in [
        (folder.to_path_buf(), true),
        (folder.join("regressions"), false),
    ] {
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_file() && (!seeds_only || name.starts_with("seed-")) {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}
