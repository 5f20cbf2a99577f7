//! Building small `.entro` files in memory, and what decoding them must give.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::sync::OnceLock;

use entro_decode::{DecodeOptions, Decoder, OutputKind, TypedBuffer};
use entro_format::{Dtype, EntroFile, EntroWriter, FileMetadata, encode_quantized};
use entro_quant::{FloatSlice, FloatSliceMut, QuantConfig, QuantParams, dequantize, quantize};
use half::{bf16, f16};

/// One tensor to put in a test file.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) content: Content,
}

/// How the tensor is stored.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    /// Quantized with `config`, Huffman-coded in chunks of `chunk_codes`; `dtype` is the original type.
    Quantized {
        values: Vec<f32>,
        dtype: Dtype,
        config: QuantConfig,
        chunk_codes: usize,
    },
    /// Kept exactly: little-endian elements of `dtype`.
    Raw { dtype: Dtype, bytes: Vec<u8> },
}

/// What a tensor of a built file decodes to.
#[derive(Debug, Clone)]
pub(crate) struct Expected {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: Dtype,
    pub(crate) stored: Stored,
}

#[derive(Debug, Clone)]
pub(crate) enum Stored {
    Quantized { codes: Vec<u8>, params: QuantParams },
    Raw { bytes: Vec<u8> },
}

/// A file written by entro-format and read back from memory, with the expected contents.
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) file: EntroFile,
    pub(crate) expected: Vec<Expected>,
}

/// Quantizes, codes and writes `specs` (in order), then opens the bytes with `EntroFile::from_bytes`.
pub(crate) fn build(specs: &[Spec]) -> Built {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("model.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).expect("create");
    let mut expected = Vec::new();
    for spec in specs {
        match &spec.content {
            Content::Quantized {
                values,
                dtype,
                config,
                chunk_codes,
            } => {
                let mut codes = vec![0u8; values.len()];
                let report = quantize(
                    &spec.name,
                    FloatSlice::F32(values),
                    &spec.shape,
                    config,
                    &mut codes,
                )
                .expect("quantize");
                let encoded = encode_quantized(
                    &spec.name,
                    &codes,
                    &spec.shape,
                    report.params.clone(),
                    report.stats,
                    *chunk_codes,
                )
                .expect("encode");
                writer
                    .add_quantized(&spec.name, &spec.shape, *dtype, &encoded)
                    .expect("add quantized");
                expected.push(Expected {
                    name: spec.name.clone(),
                    shape: spec.shape.clone(),
                    dtype: *dtype,
                    stored: Stored::Quantized {
                        codes,
                        params: report.params,
                    },
                });
            }
            Content::Raw { dtype, bytes } => {
                writer
                    .add_raw(&spec.name, &spec.shape, *dtype, bytes)
                    .expect("add raw");
                expected.push(Expected {
                    name: spec.name.clone(),
                    shape: spec.shape.clone(),
                    dtype: *dtype,
                    stored: Stored::Raw {
                        bytes: bytes.clone(),
                    },
                });
            }
        }
    }
    writer.finish().expect("finish");
    let bytes = std::fs::read(&path).expect("read back");
    Built {
        file: EntroFile::from_bytes(bytes).expect("valid file"),
        expected,
    }
}

/// A quantized tensor spec with the default config but `bits` and `chunk_codes`.
pub(crate) fn quantized(
    name: &str,
    shape: &[usize],
    values: Vec<f32>,
    bits: u8,
    chunk_codes: usize,
) -> Spec {
    Spec {
        name: name.to_owned(),
        shape: shape.to_vec(),
        content: Content::Quantized {
            values,
            dtype: Dtype::BF16,
            config: QuantConfig {
                bits,
                ..QuantConfig::default()
            },
            chunk_codes,
        },
    }
}

/// A raw tensor spec of `values` stored as `dtype` (F32, F16 or BF16).
pub(crate) fn raw_float(name: &str, shape: &[usize], values: &[f32], dtype: Dtype) -> Spec {
    let bytes = match dtype {
        Dtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dtype::F16 => values
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect(),
        Dtype::BF16 => values
            .iter()
            .flat_map(|v| bf16::from_f32(*v).to_le_bytes())
            .collect(),
        other => panic!("not a float dtype: {other}"),
    };
    Spec {
        name: name.to_owned(),
        shape: shape.to_vec(),
        content: Content::Raw { dtype, bytes },
    }
}

/// Deterministic, roughly normal weights.
pub(crate) fn weights(seed: u64, len: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            let mut sum = 0.0f32;
            for _ in 0..4 {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                sum +=
                    (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32;
            }
            (sum - 2.0) * 0.05
        })
        .collect()
}

/// What `expected` must decode to as `kind`, computed with `entro_quant::dequantize` (and plain
/// conversions for raw tensors); `None` when the kind does not apply.
pub(crate) fn reference(expected: &Expected, kind: OutputKind) -> Option<TypedBuffer> {
    match &expected.stored {
        Stored::Quantized { codes, params } => {
            let float = |dtype: Dtype| -> Option<TypedBuffer> {
                let n = codes.len();
                Some(match dtype {
                    Dtype::F32 => {
                        let mut out = vec![0.0f32; n];
                        dequantize(codes, params, &expected.shape, FloatSliceMut::F32(&mut out))
                            .ok()?;
                        TypedBuffer::F32(out)
                    }
                    Dtype::F16 => {
                        let mut out = vec![f16::ZERO; n];
                        dequantize(codes, params, &expected.shape, FloatSliceMut::F16(&mut out))
                            .ok()?;
                        TypedBuffer::F16(out)
                    }
                    Dtype::BF16 => {
                        let mut out = vec![bf16::ZERO; n];
                        dequantize(
                            codes,
                            params,
                            &expected.shape,
                            FloatSliceMut::BF16(&mut out),
                        )
                        .ok()?;
                        TypedBuffer::BF16(out)
                    }
                    _ => return None,
                })
            };
            match kind {
                OutputKind::Codes => Some(TypedBuffer::Codes(codes.clone())),
                OutputKind::F32 => float(Dtype::F32),
                OutputKind::F16 => float(Dtype::F16),
                OutputKind::BF16 => float(Dtype::BF16),
                OutputKind::Bytes(dtype) => Some(TypedBuffer::Bytes {
                    dtype,
                    bytes: float(dtype)?.to_le_bytes().into_owned(),
                }),
            }
        }
        Stored::Raw { bytes } => {
            let values = expected.dtype.widen_to_f32(bytes);
            match kind {
                OutputKind::Codes => None,
                OutputKind::Bytes(dtype) if dtype == expected.dtype => Some(TypedBuffer::Bytes {
                    dtype,
                    bytes: bytes.clone(),
                }),
                OutputKind::F32 => Some(TypedBuffer::F32(values?)),
                OutputKind::F16 if expected.dtype == Dtype::F16 => Some(TypedBuffer::F16(
                    bytes
                        .chunks_exact(2)
                        .map(|b| f16::from_le_bytes([b[0], b[1]]))
                        .collect(),
                )),
                OutputKind::BF16 if expected.dtype == Dtype::BF16 => Some(TypedBuffer::BF16(
                    bytes
                        .chunks_exact(2)
                        .map(|b| bf16::from_le_bytes([b[0], b[1]]))
                        .collect(),
                )),
                OutputKind::F16 => Some(TypedBuffer::F16(
                    values?.into_iter().map(f16::from_f32).collect(),
                )),
                OutputKind::BF16 => Some(TypedBuffer::BF16(
                    values?.into_iter().map(bf16::from_f32).collect(),
                )),
                OutputKind::Bytes(dtype) => {
                    let typed = reference(expected, typed_kind(dtype)?)?;
                    Some(TypedBuffer::Bytes {
                        dtype,
                        bytes: typed.to_le_bytes().into_owned(),
                    })
                }
            }
        }
    }
}

fn typed_kind(dtype: Dtype) -> Option<OutputKind> {
    match dtype {
        Dtype::F32 => Some(OutputKind::F32),
        Dtype::F16 => Some(OutputKind::F16),
        Dtype::BF16 => Some(OutputKind::BF16),
        _ => None,
    }
}

/// Whether two buffers hold the same kind and the same bits (floats compared bit for bit).
pub(crate) fn same_bits(a: &TypedBuffer, b: &TypedBuffer) -> bool {
    a.kind() == b.kind() && a.to_le_bytes() == b.to_le_bytes()
}

/// Decoders with 1, 2, 3 and 4 threads, shared by all tests of a binary.
pub(crate) fn decoders() -> &'static [Decoder] {
    static DECODERS: OnceLock<Vec<Decoder>> = OnceLock::new();
    DECODERS.get_or_init(|| {
        (1..=4)
            .map(|threads| {
                Decoder::new(DecodeOptions {
                    threads,
                    verify_checksums: true,
                })
                .expect("a thread pool")
            })
            .collect()
    })
}
