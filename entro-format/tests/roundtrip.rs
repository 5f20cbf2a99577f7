//! Writing a `.entro` file and reading it back gives every field back.

mod common;

use entro_format::{
    ALIGNMENT, Dtype, EncodedTensor, EntroFile, EntroWriter, FileMetadata, MetadataMap,
    TensorEncoding,
};
use entro_quant::Granularity;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Kind {
    Raw {
        dtype: Dtype,
    },
    Quantized {
        dtype: Dtype,
        bits: u8,
        granularity: Granularity,
        chunk_codes: usize,
    },
}

#[derive(Debug, Clone)]
struct Spec {
    shape: Vec<usize>,
    kind: Kind,
}

fn granularity() -> impl Strategy<Value = Granularity> {
    prop_oneof![
        Just(Granularity::Tensor),
        Just(Granularity::Channel),
        (1u32..12).prop_map(Granularity::Group),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let raw = (
        prop::collection::vec(0usize..7, 0..4),
        prop::sample::select(Dtype::ALL.to_vec()),
    )
        .prop_filter("whole bytes", |(shape, dtype)| {
            dtype
                .byte_len(shape.iter().product::<usize>() as u64)
                .is_some()
        })
        .prop_map(|(shape, dtype)| Spec {
            shape,
            kind: Kind::Raw { dtype },
        });
    let quantized = (
        prop::collection::vec(0usize..24, 2..4),
        prop::sample::select(vec![Dtype::F32, Dtype::F16, Dtype::BF16]),
        2u8..=8,
        granularity(),
        1usize..40,
    )
        .prop_map(|(shape, dtype, bits, granularity, half_chunk)| Spec {
            shape,
            // Even, so that nibble-pair codebooks can use it too.
            kind: Kind::Quantized {
                dtype,
                bits,
                granularity,
                chunk_codes: half_chunk * 2,
            },
        });
    prop_oneof![raw, quantized]
}

fn metadata() -> impl Strategy<Value = FileMetadata> {
    let map = || prop::collection::vec(("[a-z_]{0,6}", "\\PC{0,12}"), 0..5);
    (prop::option::of(map()), map()).prop_map(|(checkpoint, entro)| FileMetadata {
        checkpoint: checkpoint.map(|pairs| pairs.into_iter().collect::<MetadataMap>()),
        entro: entro.into_iter().collect(),
    })
}

/// What was written for one tensor, to compare against what is read.
enum Written {
    Raw(Vec<u8>),
    Quantized(Box<EncodedTensor>, Vec<u8>),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn write_then_read_gives_back_every_field(
        specs in prop::collection::vec(spec(), 0..6),
        metadata in metadata(),
        seed in any::<u64>(),
    ) {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("model.entro");
        let mut writer = EntroWriter::create(&path, metadata.clone()).unwrap();
        let mut rng = common::Rng::new(seed);
        let mut written = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let name = format!("layers.{i}.weight");
            let elements: usize = spec.shape.iter().product();
            match spec.kind {
                Kind::Raw { dtype } => {
                    let len = usize::try_from(dtype.byte_len(elements as u64).unwrap()).unwrap();
                    let bytes = rng.bytes(len);
                    writer.add_raw(&name, &spec.shape, dtype, &bytes).unwrap();
                    written.push(Written::Raw(bytes));
                }
                Kind::Quantized { dtype, bits, granularity, chunk_codes } => {
                    let weights = common::weights(rng.next_u64(), elements);
                    let (encoded, codes) =
                        common::quantized(&name, &weights, &spec.shape, bits, granularity, chunk_codes);
                    writer.add_quantized(&name, &spec.shape, dtype, &encoded).unwrap();
                    written.push(Written::Quantized(Box::new(encoded), codes));
                }
            }
        }
        let summary = writer.finish().unwrap();
        let file = EntroFile::open(&path).unwrap();
        prop_assert_eq!(file.layout(), summary.layout);
        prop_assert_eq!(file.layout().file_len, std::fs::metadata(&path).unwrap().len());
        prop_assert_eq!(file.metadata(), &metadata);
        prop_assert_eq!(file.tensors().len(), specs.len());
        for (i, ((entry, spec), written)) in file.tensors().iter().zip(&specs).zip(&written).enumerate() {
            prop_assert_eq!(entry.name(), format!("layers.{i}.weight"));
            prop_assert_eq!(entry.shape(), spec.shape.as_slice());
            prop_assert_eq!(entry.payload_offset() % ALIGNMENT, 0);
            prop_assert!(std::ptr::eq(file.tensor(entry.name()).unwrap(), entry));
            match (&spec.kind, written) {
                (Kind::Raw { dtype }, Written::Raw(bytes)) => {
                    prop_assert_eq!(entry.dtype(), *dtype);
                    let is_raw = matches!(entry.encoding(), TensorEncoding::Raw { .. });
                    prop_assert!(is_raw);
                    prop_assert_eq!(file.read_raw(entry).unwrap(), bytes.as_slice());
                }
                (Kind::Quantized { dtype, .. }, Written::Quantized(encoded, codes)) => {
                    prop_assert_eq!(entry.dtype(), *dtype);
                    let quantized = entry.quantized().unwrap();
                    prop_assert_eq!(quantized.params(), encoded.params());
                    prop_assert_eq!(quantized.stats(), encoded.stats());
                    prop_assert_eq!(quantized.codebook(), encoded.codebook());
                    prop_assert_eq!(quantized.chunks().len(), encoded.chunks().len());
                    for (read, wrote) in quantized.chunks().iter().zip(encoded.chunks()) {
                        prop_assert_eq!((read.codes, read.offset, read.len), (wrote.codes, wrote.offset, wrote.len));
                    }
                    prop_assert_eq!(file.payload(entry).unwrap(), encoded.payload());
                    prop_assert_eq!(&common::decode_codes(&file, entry), codes);
                }
                _ => unreachable!("specs and written values are built together"),
            }
        }
        // The same bytes validate identically from memory.
        let from_memory = EntroFile::from_bytes(std::fs::read(&path).unwrap()).unwrap();
        prop_assert_eq!(from_memory.tensors(), file.tensors());
    }
}

#[test]
fn fine_granularities_code_their_block_parameters() {
    let folder = tempfile::tempdir().unwrap();
    let weights = common::weights(9, 32 * 1024);
    let mut sizes = Vec::new();
    for (granularity, tag) in [
        (
            Granularity::Tensor,
            entro_format::ENCODING_QUANTIZED_HUFFMAN,
        ),
        (
            Granularity::Group(32),
            entro_format::ENCODING_QUANTIZED_CODED_PARAMS,
        ),
    ] {
        let (encoded, codes) = common::quantized("w", &weights, &[32, 1024], 8, granularity, 4096);
        let path = folder.path().join(format!("{granularity}.entro"));
        let mut writer = EntroWriter::create(&path, FileMetadata::default()).unwrap();
        writer
            .add_quantized("w", &[32, 1024], Dtype::F32, &encoded)
            .unwrap();
        let summary = writer.finish().unwrap();
        let file = EntroFile::open(&path).unwrap();
        let entry = &file.tensors()[0];
        assert_eq!(entry.encoding().tag(), tag, "{granularity}");
        let quantized = entry.quantized().unwrap();
        assert_eq!(quantized.params(), encoded.params());
        assert_eq!(common::decode_codes(&file, entry), codes);
        sizes.push((quantized.params().blocks.len(), summary.layout.header_len));
    }
    // 1,024 blocks: raw they would take 8 KiB of header. These weights are random, so the scales'
    // mantissas are too (about 36 bits per block in all); real checkpoints' scales code smaller.
    let [(1, tensor_header), (1024, group_header)] = sizes[..] else {
        panic!("{sizes:?}");
    };
    assert!(
        group_header - tensor_header < 1024 * 8 * 3 / 4,
        "{tensor_header} {group_header}"
    );
}

#[test]
fn chunk_lookup_by_code_index() {
    let weights = common::weights(5, 1000);
    let (encoded, _) = common::quantized("w", &weights, &[10, 100], 8, Granularity::Tensor, 300);
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("w.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).unwrap();
    writer
        .add_quantized("w", &[10, 100], Dtype::F32, &encoded)
        .unwrap();
    writer.finish().unwrap();
    let file = EntroFile::open(&path).unwrap();
    let quantized = file.tensors()[0].quantized().unwrap();
    assert_eq!(quantized.chunk_codes(), 300);
    let firsts: Vec<u64> = quantized.chunks().iter().map(|c| c.first_code).collect();
    let counts: Vec<u32> = quantized.chunks().iter().map(|c| c.codes).collect();
    assert_eq!(firsts, [0, 300, 600, 900]);
    assert_eq!(counts, [300, 300, 300, 100]);
    assert_eq!(quantized.chunk_of(0), Some(0));
    assert_eq!(quantized.chunk_of(299), Some(0));
    assert_eq!(quantized.chunk_of(300), Some(1));
    assert_eq!(quantized.chunk_of(999), Some(3));
    assert_eq!(quantized.chunk_of(1000), None);
}

#[test]
fn an_empty_file_round_trips() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("empty.entro");
    let summary = EntroWriter::create(&path, FileMetadata::default())
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(summary.tensors, 0);
    let file = EntroFile::open(&path).unwrap();
    assert!(file.tensors().is_empty());
    assert_eq!(file.metadata(), &FileMetadata::default());
    assert_eq!(file.layout().header_offset, ALIGNMENT);
}

#[test]
fn blocks_with_different_zero_points_store_codes_relative_to_them() {
    let folder = tempfile::tempdir().unwrap();
    // Zero-mean rows, each with outliers of their own sizes and signs, as real weights have: the
    // min-max grids put their zero points in different places. Groups of 30 do not divide the rows
    // of 100, so blocks and rows do not line up.
    let (rows, row) = (70, 100);
    let mut weights = common::weights(3, rows * row);
    for r in 0..rows {
        for (k, start) in (0..row).step_by(30).enumerate() {
            let size = 0.08 + 0.02 * ((r + k) % 5) as f32;
            weights[r * row + start + r % 10] = if (r + k) % 2 == 0 { size } else { -size };
        }
    }
    for granularity in [Granularity::Channel, Granularity::Group(30)] {
        let shape = [rows, row];
        let (encoded, codes) = common::quantized("w", &weights, &shape, 8, granularity, 333);
        assert_eq!(
            encoded.code_form(),
            entro_format::CodeForm::RelativeToZeroPoints,
            "{granularity}"
        );
        let path = folder.path().join(format!("{granularity}.entro"));
        let mut writer = EntroWriter::create(&path, FileMetadata::default()).unwrap();
        writer
            .add_quantized("w", &shape, Dtype::F32, &encoded)
            .unwrap();
        writer.finish().unwrap();
        let file = EntroFile::open(&path).unwrap();
        let entry = &file.tensors()[0];
        assert_eq!(
            entry.encoding().tag(),
            entro_format::ENCODING_QUANTIZED_RELATIVE
        );
        assert_eq!(
            entry.quantized().unwrap().code_form(),
            entro_format::CodeForm::RelativeToZeroPoints
        );
        assert_eq!(common::decode_codes(&file, entry), codes, "{granularity}");

        // Restoring codes outside the tensor is the caller's mistake, reported as such.
        let mut spare = [0u8; 2];
        let err = entry
            .restore_codes((rows * row - 1) as u64, &mut spare)
            .unwrap_err();
        assert!(
            matches!(err, entro_format::Error::InvalidArgument { .. }),
            "{err}"
        );
        assert!(entry.restore_codes(u64::MAX, &mut spare).is_err());
    }
}

#[test]
fn relative_codes_need_coded_block_parameters() {
    let weights = common::weights(4, 8 * 64);
    let (encoded, _) = common::quantized("w", &weights, &[8, 64], 8, Granularity::Channel, 64);
    let err = encoded
        .with_code_form(entro_format::CodeForm::RelativeToZeroPoints)
        .unwrap_err();
    assert!(
        matches!(err, entro_format::Error::InvalidArgument { .. }),
        "{err}"
    );
}
