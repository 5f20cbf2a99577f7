//! Error categories: caller misuse, newer files, limits, and what a failed writer leaves behind.

mod common;

use entro_format::limits::MAX_NAME_LEN;
use entro_format::{
    Dtype, EncodedTensor, EntroFile, EntroWriter, Error, ErrorKind, FOOTER_LEN, FileMetadata,
    encode_quantized,
};
use entro_quant::Granularity;

fn files_in(folder: &std::path::Path) -> usize {
    std::fs::read_dir(folder).unwrap().count()
}

#[test]
fn a_dropped_writer_leaves_nothing_behind() {
    let folder = tempfile::tempdir().unwrap();
    let mut writer =
        EntroWriter::create(folder.path().join("m.entro"), FileMetadata::default()).unwrap();
    writer.add_raw("a", &[4], Dtype::F32, &[0; 16]).unwrap();
    assert_eq!(
        files_in(folder.path()),
        1,
        "the temporary file exists while writing"
    );
    drop(writer);
    assert_eq!(files_in(folder.path()), 0);
}

#[test]
fn misuse_is_reported_and_the_writer_stays_usable() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("m.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).unwrap();
    writer.add_raw("a", &[4], Dtype::F32, &[0; 16]).unwrap();
    let err = writer.add_raw("a", &[4], Dtype::F32, &[0; 16]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let err = writer.add_raw("b", &[4], Dtype::F32, &[0; 15]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let err = writer.add_raw("c", &[3], Dtype::F4, &[0; 2]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let long = "x".repeat(MAX_NAME_LEN + 1);
    let err = writer.add_raw(&long, &[1], Dtype::U8, &[0]).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
    let err = writer
        .add_raw("huge", &[1 << 20, 1 << 20], Dtype::U8, &[])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "tensor elements",
                ..
            }
        ),
        "{err}"
    );

    let weights = common::weights(3, 64);
    let (encoded, _) = common::quantized("q", &weights, &[8, 8], 8, Granularity::Channel, 16);
    // Eight channels' parameters do not fit a 4-row shape.
    let err = writer
        .add_quantized("q", &[4, 16], Dtype::F32, &encoded)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let err = writer
        .add_quantized("q", &[8, 8], Dtype::I32, &encoded)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    writer
        .add_quantized("q", &[8, 8], Dtype::BF16, &encoded)
        .unwrap();
    writer.finish().unwrap();
    let file = EntroFile::open(&path).unwrap();
    let names: Vec<_> = file.tensors().iter().map(|t| t.name()).collect();
    assert_eq!(names, ["a", "q"]);
}

#[test]
fn encoded_tensors_must_describe_their_payload() {
    let weights = common::weights(4, 64);
    let (encoded, codes) = common::quantized("q", &weights, &[8, 8], 8, Granularity::Tensor, 16);
    let parts = || {
        (
            encoded.params().clone(),
            *encoded.stats(),
            encoded.codebook().clone(),
        )
    };
    let (params, stats, codebook) = parts();
    let mut short = encoded.payload().to_vec();
    short.pop();
    let err = EncodedTensor::new(
        params,
        stats,
        codebook,
        16,
        encoded.chunks().to_vec(),
        short,
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let (params, stats, codebook) = parts();
    let mut chunks = encoded.chunks().to_vec();
    chunks.swap(0, 1);
    let payload = encoded.payload().to_vec();
    let err = EncodedTensor::new(params, stats, codebook, 16, chunks, payload).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let (params, stats, _) = parts();
    let err = encode_quantized("q", &codes, &[codes.len()], params, stats, 0).unwrap_err();
    assert!(matches!(err, Error::Encode { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn reader_rejects_entries_and_chunks_it_does_not_have() {
    let file = EntroFile::from_bytes(common::small_file_bytes()).unwrap();
    let raw = file.tensor("norm.weight").unwrap();
    let quantized = file.tensor("proj.weight").unwrap();
    assert!(matches!(
        file.chunk_bytes(raw, 0),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        file.read_raw(quantized),
        Err(Error::InvalidArgument { .. })
    ));
    let chunks = quantized.quantized().unwrap().chunks().len();
    assert!(matches!(
        file.verify_chunk(quantized, chunks),
        Err(Error::InvalidArgument { .. })
    ));
    // An entry from a bigger file does not index out of this one.
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("big.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).unwrap();
    writer
        .add_raw("big", &[4096], Dtype::F32, &vec![0; 16384])
        .unwrap();
    writer.finish().unwrap();
    let big = EntroFile::open(&path).unwrap();
    assert!(matches!(
        file.payload(&big.tensors()[0]),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        file.read_raw(&big.tensors()[0]),
        Err(Error::InvalidArgument { .. })
    ));
}

/// Rewrites one header byte and fixes the header checksum, as a newer writer would.
fn patch_header(
    mut bytes: Vec<u8>,
    header_position: impl Fn(&[u8]) -> usize,
    value: u8,
) -> Vec<u8> {
    let footer = bytes.len() - FOOTER_LEN;
    let header_offset = usize::try_from(u64::from_le_bytes(
        bytes[footer..footer + 8].try_into().unwrap(),
    ))
    .unwrap();
    let position = header_offset + header_position(&bytes[header_offset..footer]);
    bytes[position] = value;
    let crc = crc32c::crc32c(&bytes[header_offset..footer]);
    bytes[footer + 16..footer + 20].copy_from_slice(&crc.to_le_bytes());
    bytes
}

fn one_raw_tensor_file() -> Vec<u8> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("one.entro");
    let mut writer = EntroWriter::create(&path, FileMetadata::default()).unwrap();
    writer.add_raw("t", &[2], Dtype::U8, &[1, 2]).unwrap();
    writer.finish().unwrap();
    std::fs::read(path).unwrap()
}

#[test]
fn newer_files_get_their_own_errors() {
    let mut bytes = one_raw_tensor_file();
    bytes[8] = 3;
    let err = EntroFile::from_bytes(bytes).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedVersion {
                found: 3,
                supported: 2
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Unsupported);

    // Header: presence flag, entro map count, tensor count, name length, "t",
    // dtype, ndim, one dim (one byte each), then the encoding tag.
    let encoding_tag = |_: &[u8]| 8;
    let original = one_raw_tensor_file();
    let patched = patch_header(original.clone(), encoding_tag, 0);
    assert_eq!(patched, original, "the test must patch the encoding tag");
    for tag in [5, 6, 255] {
        let err =
            EntroFile::from_bytes(patch_header(original.clone(), encoding_tag, tag)).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedEncoding { tag: t, .. } if t == tag),
            "{err}"
        );
    }
    // Tags 2 (lossless), 3 (quantized, coded block parameters) and 4 (relative codes) are known:
    // a raw record read as one of them is malformed, not a newer file.
    for tag in [2, 3, 4] {
        let err =
            EntroFile::from_bytes(patch_header(original.clone(), encoding_tag, tag)).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "tag {tag}: {err}");
    }
    let dtype_tag = |_: &[u8]| 5;
    let err = EntroFile::from_bytes(patch_header(original, dtype_tag, 200)).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err}");
}

#[test]
fn open_reports_io_errors_with_the_path() {
    let err = EntroFile::open("/nonexistent/model.entro").unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path.ends_with("model.entro")),
        "{err}"
    );
    let folder = tempfile::tempdir().unwrap();
    let empty = folder.path().join("empty.entro");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        EntroFile::open(&empty),
        Err(Error::Format { offset: 0, .. })
    ));
}

#[test]
fn misplaced_payloads_are_reported_at_the_field() {
    let original = one_raw_tensor_file();
    let footer = original.len() - FOOTER_LEN;
    let header_offset = u64::from_le_bytes(original[footer..footer + 8].try_into().unwrap());
    // The single-byte varints after the encoding tag: payload offset (64), then length (2).
    let (offset_field, len_field) = (9, 10);
    assert_eq!(
        original[usize::try_from(header_offset).unwrap() + offset_field],
        64
    );
    let moved = patch_header(original.clone(), |_: &[u8]| offset_field, 65);
    let err = EntroFile::from_bytes(moved).unwrap_err();
    let at = header_offset + offset_field as u64;
    assert!(
        matches!(err, Error::Format { offset, .. } if offset == at),
        "{err}"
    );
    let too_long = patch_header(original, |_: &[u8]| len_field, 127);
    let err = EntroFile::from_bytes(too_long).unwrap_err();
    let at = header_offset + len_field as u64;
    assert!(
        matches!(err, Error::Format { offset, .. } if offset == at),
        "{err}"
    );
}
