//! Lossless tensors in the container: writing, reading, validation and damage.

mod common;

use entro_format::lossless::{self, DEFAULT_CHUNK_ELEMENTS, FloatLayout, MAX_CHUNK_ELEMENTS};
use entro_format::{
    ChecksumLocation, Dtype, EncodedLossless, EntroFile, EntroWriter, Error, ErrorKind, FOOTER_LEN,
    FileMetadata, TensorEncoding, TensorEntry, encode_lossless,
};
use proptest::prelude::*;

use common::{lossless_file_bytes, special_float_bytes};

/// Checks every chunk, decodes it with the codec and joins the elements.
fn decode_all(file: &EntroFile, entry: &TensorEntry) -> Vec<u8> {
    let info = entry.lossless().expect("a lossless tensor");
    let size = info.layout().element_bytes();
    let mut out = vec![0u8; usize::try_from(entry.elements()).unwrap() * size];
    for (index, chunk) in info.chunks().iter().enumerate() {
        file.verify_chunk(entry, index).unwrap();
        let start = usize::try_from(chunk.first_code).unwrap() * size;
        let end = start + chunk.codes as usize * size;
        lossless::decode_chunk(
            info.layout(),
            file.chunk_bytes(entry, index).unwrap(),
            &mut out[start..end],
        )
        .unwrap();
    }
    out
}

fn write_one(dtype: Dtype, shape: &[usize], bytes: &[u8], chunk: usize) -> EntroFile {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("one.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).unwrap();
    writer
        .add_lossless("t", shape, dtype, bytes, chunk)
        .unwrap();
    writer.finish().unwrap();
    EntroFile::open(&path).unwrap()
}

#[test]
fn every_float_dtype_round_trips_bit_exactly() {
    let file = EntroFile::from_bytes(lossless_file_bytes()).unwrap();
    file.verify_all().unwrap();
    let expected = [
        ("embed.weight", Dtype::BF16, FloatLayout::BF16, 640, 96, 7),
        ("proj.weight", Dtype::F32, FloatLayout::F32, 96, 40, 3),
        ("head.weight", Dtype::F16, FloatLayout::F16, 105, 1000, 1),
        ("scale", Dtype::F32, FloatLayout::F32, 1, 4, 1),
        ("empty.weight", Dtype::BF16, FloatLayout::BF16, 0, 16, 0),
    ];
    for (seed, (name, dtype, layout, elements, per_chunk, chunks)) in
        expected.into_iter().enumerate()
    {
        let entry = file.tensor(name).unwrap();
        assert_eq!(entry.encoding().name(), "lossless");
        assert_eq!(entry.encoding().tag(), entro_format::ENCODING_LOSSLESS);
        let info = entry.lossless().unwrap();
        assert_eq!(info.layout(), layout);
        assert_eq!(dtype.float_layout(), Some(layout));
        assert_eq!(info.chunk_elements(), per_chunk);
        assert_eq!(info.chunks().len(), chunks, "{name}");
        assert_eq!(entry.chunks(), info.chunks());
        assert!(entry.quantized().is_none());
        let original = special_float_bytes(dtype, seed as u64, elements);
        assert_eq!(decode_all(&file, entry), original, "{name}");
    }
    let raw = file.tensor("ids").unwrap();
    assert!(raw.lossless().is_none() && raw.chunks().is_empty());
    assert_eq!(file.read_raw(raw).unwrap().len(), 12);
}

#[test]
fn chunk_of_maps_elements_to_chunks() {
    let file = EntroFile::from_bytes(lossless_file_bytes()).unwrap();
    let info = file.tensor("embed.weight").unwrap().lossless().unwrap();
    assert_eq!(info.chunk_of(0), Some(0));
    assert_eq!(info.chunk_of(95), Some(0));
    assert_eq!(info.chunk_of(96), Some(1));
    assert_eq!(info.chunk_of(639), Some(6));
    assert_eq!(info.chunk_of(640), None);
    let empty = file.tensor("empty.weight").unwrap().lossless().unwrap();
    assert_eq!(empty.chunk_of(0), None);
}

#[test]
fn pieces_joined_equal_one_encoding() {
    let bytes = special_float_bytes(Dtype::F16, 9, 1000);
    let whole = encode_lossless("t", Dtype::F16, &bytes, 64).unwrap();
    // Pieces of 3 chunks (64 elements of 2 bytes each), the last one short.
    let pieces: Vec<EncodedLossless> = bytes
        .chunks(3 * 64 * 2)
        .map(|piece| encode_lossless("t", Dtype::F16, piece, 64).unwrap())
        .collect();
    let joined = EncodedLossless::concat(pieces).unwrap();
    assert_eq!(joined, whole);
    assert_eq!(joined.elements(), 1000);
    assert_eq!(joined.chunk_elements(), 64);

    let short = encode_lossless("t", Dtype::F16, &bytes[..100], 64).unwrap();
    let after = encode_lossless("t", Dtype::F16, &bytes[..256], 64).unwrap();
    let err = EncodedLossless::concat([short, after.clone()]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let other = encode_lossless("t", Dtype::BF16, &bytes[..256], 64).unwrap();
    let err = EncodedLossless::concat([after.clone(), other]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let err = EncodedLossless::concat(Vec::new()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let empty = encode_lossless("t", Dtype::F16, &[], 64).unwrap();
    assert_eq!(
        EncodedLossless::concat([after.clone(), empty]).unwrap(),
        after
    );
}

#[test]
fn misuse_is_an_invalid_argument() {
    let folder = tempfile::tempdir().unwrap();
    let mut writer =
        EntroWriter::create(folder.path().join("x.entro"), FileMetadata::default()).unwrap();
    let bytes = special_float_bytes(Dtype::F32, 1, 8);
    let cases: [(Dtype, &[usize], &[u8], usize); 6] = [
        (Dtype::I32, &[8], &bytes, 4),
        (Dtype::F64, &[4], &bytes, 4),
        (Dtype::F32, &[9], &bytes, 4),
        (Dtype::F32, &[8], &bytes[..31], 4),
        (Dtype::F32, &[8], &bytes, 0),
        (Dtype::F32, &[8], &bytes, MAX_CHUNK_ELEMENTS + 1),
    ];
    for (dtype, shape, data, chunk) in cases {
        let err = writer
            .add_lossless("t", shape, dtype, data, chunk)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{dtype} {err}");
    }
    let encoded = encode_lossless("t", Dtype::F32, &bytes, 4).unwrap();
    for (shape, dtype) in [(&[8][..], Dtype::BF16), (&[2, 3], Dtype::F32)] {
        let err = writer
            .add_lossless_encoded("t", shape, dtype, &encoded)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    }
    writer
        .add_lossless_encoded("t", &[2, 4], Dtype::F32, &encoded)
        .unwrap();
    let err = writer
        .add_lossless("t", &[8], Dtype::F32, &bytes, 4)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert_eq!(writer.tensor_count(), 1);
}

#[test]
fn a_damaged_chunk_names_tensor_and_chunk() {
    let bytes = lossless_file_bytes();
    let file = EntroFile::from_bytes(bytes.clone()).unwrap();
    let entry = file.tensor("embed.weight").unwrap();
    let chunk = entry.chunks()[2];
    let at = usize::try_from(entry.payload_offset() + chunk.offset).unwrap();
    let mut damaged = bytes;
    damaged[at] ^= 0x01;
    let file = EntroFile::from_bytes(damaged).unwrap();
    let entry = file.tensor("embed.weight").unwrap();
    file.verify_chunk(entry, 1).unwrap();
    let err = file.verify_chunk(entry, 2).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::ChecksumMismatch {
                location: ChecksumLocation::Chunk { tensor, chunk: 2 },
                ..
            } if tensor == "embed.weight"
        ),
        "{err}"
    );
    assert!(file.verify_all().is_err());
    let err = file.read_raw(entry).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
}

/// A file with one lossless F32 tensor `t` of 100 elements in chunks of 30,
/// the absolute offset of its dtype and of its `elements per chunk` field.
fn one_tensor_file() -> (Vec<u8>, usize, usize) {
    let bytes = special_float_bytes(Dtype::F32, 3, 100);
    let file = write_one(Dtype::F32, &[100], &bytes, 30);
    let data = file.as_bytes().to_vec();
    let header = usize::try_from(file.layout().header_offset).unwrap();
    let entry = file.tensor("t").unwrap();
    // Header: presence flag, map count, tensor count, name length, "t", dtype,
    // ndim, one dim (100, one byte), tag, payload offset (64, one byte), length.
    let len_bytes = if entry.payload_len() < 128 { 1 } else { 2 };
    assert!(entry.payload_len() < 1 << 14);
    (data, header + 5, header + 10 + len_bytes)
}

fn patched(mut bytes: Vec<u8>, at: usize, value: u8) -> Vec<u8> {
    bytes[at] = value;
    let footer = bytes.len() - FOOTER_LEN;
    let header = usize::try_from(u64::from_le_bytes(
        bytes[footer..footer + 8].try_into().unwrap(),
    ))
    .unwrap();
    let crc = crc32c::crc32c(&bytes[header..footer]);
    bytes[footer + 16..footer + 20].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn chunk_tables_are_validated_on_open() {
    let (bytes, dtype_field, field) = one_tensor_file();
    assert_eq!(bytes[dtype_field], 9, "the test must patch the dtype (F32)");
    assert_eq!(bytes[field], 30, "the test must patch elements per chunk");
    assert_eq!(bytes[field + 1], 4, "then the chunk count");
    EntroFile::from_bytes(bytes.clone()).unwrap();
    // No elements per chunk; a chunk size that implies another chunk count.
    for value in [0, 50, 20] {
        let err = EntroFile::from_bytes(patched(bytes.clone(), field, value)).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{value}: {err}");
    }
    // A chunk count that disagrees with the shape.
    let err = EntroFile::from_bytes(patched(bytes.clone(), field + 1, 5)).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err}");
    // A first chunk length one byte off: the lengths no longer add up
    // (Flipping the lowest bit of a varint's first byte changes it by one.)
    let len = bytes[field + 2];
    let err = EntroFile::from_bytes(patched(bytes.clone(), field + 2, len ^ 1)).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err}");
    // A lossless record for an integer dtype (tag 7, I32: same element size).
    let err = EntroFile::from_bytes(patched(bytes, dtype_field, 7)).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err}");
}

#[test]
fn default_chunk_size_is_usable() {
    let bytes = special_float_bytes(Dtype::BF16, 5, 3000);
    let file = write_one(Dtype::BF16, &[3000], &bytes, DEFAULT_CHUNK_ELEMENTS);
    let entry = file.tensor("t").unwrap();
    assert_eq!(decode_all(&file, entry), bytes);
    assert!(matches!(entry.encoding(), TensorEncoding::Lossless(_)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_tensors_round_trip(
        dtype in prop::sample::select(vec![Dtype::F32, Dtype::F16, Dtype::BF16]),
        elements in 0usize..700,
        chunk in 1usize..300,
        seed in any::<u64>(),
        random_bits in any::<bool>(),
    ) {
        let size = dtype.float_layout().unwrap().element_bytes();
        let bytes = if random_bits {
            common::Rng::new(seed).bytes(elements * size)
        } else {
            special_float_bytes(dtype, seed, elements)
        };
        let file = write_one(dtype, &[elements], &bytes, chunk);
        let entry = file.tensor("t").unwrap();
        prop_assert_eq!(entry.chunks().len(), elements.div_ceil(chunk));
        prop_assert_eq!(decode_all(&file, entry), bytes);
    }
}
