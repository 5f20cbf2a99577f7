//! Damaged files: every truncation and every single-byte flip of a small file
//! must be an error, at open or (inside a payload) at checksum time. None may panic.

mod common;

use entro_format::{EntroFile, Error, ErrorKind, TensorEncoding};

/// Opens `bytes` and verifies every payload checksum, as a decoder would.
fn open_and_verify(bytes: Vec<u8>) -> Result<(), Error> {
    let file = EntroFile::from_bytes(bytes)?;
    file.verify_all()
}

#[test]
fn the_small_file_is_intact() {
    let bytes = common::small_file_bytes();
    let file = EntroFile::from_bytes(bytes.clone()).unwrap();
    file.verify_all().unwrap();
    assert_eq!(file.tensors().len(), 5);
    let chunked = file.tensor("proj.weight").unwrap().quantized().unwrap();
    assert!(chunked.chunks().len() >= 3, "the test needs several chunks");
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = common::small_file_bytes();
    for len in 0..bytes.len() {
        let result = EntroFile::from_bytes(&bytes[..len]);
        let err = result
            .err()
            .unwrap_or_else(|| panic!("truncation to {len} bytes was accepted"));
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Format | ErrorKind::LimitExceeded | ErrorKind::Checksum
            ),
            "truncation to {len}: unexpected error {err}"
        );
    }
}

/// The byte ranges of all payloads.
fn payload_ranges(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let file = EntroFile::from_bytes(bytes.to_vec()).unwrap();
    file.tensors()
        .iter()
        .map(|t| {
            let start = usize::try_from(t.payload_offset()).unwrap();
            start..start + usize::try_from(t.payload_len()).unwrap()
        })
        .collect()
}

#[test]
fn every_flipped_byte_is_caught() {
    let bytes = common::small_file_bytes();
    let payloads = payload_ranges(&bytes);
    let mut caught_at_open = 0;
    let mut caught_by_checksum = 0;
    for position in 0..bytes.len() {
        for mask in [0xFF, 0x01, 0x80] {
            let mut damaged = bytes.clone();
            damaged[position] ^= mask;
            let in_payload = payloads.iter().any(|range| range.contains(&position));
            match EntroFile::from_bytes(damaged) {
                Err(err) => {
                    assert!(
                        !in_payload,
                        "flip {mask:#x} at {position} (a payload) failed at open: {err}"
                    );
                    caught_at_open += 1;
                }
                Ok(file) => {
                    assert!(
                        in_payload,
                        "flip {mask:#x} at {position} was accepted at open"
                    );
                    let err = file.verify_all().unwrap_err();
                    assert!(
                        matches!(err, Error::ChecksumMismatch { .. }),
                        "flip {mask:#x} at {position}: {err}"
                    );
                    caught_by_checksum += 1;
                }
            }
        }
    }
    eprintln!(
        "{} bytes: {caught_at_open} flips caught at open, {caught_by_checksum} by checksums",
        bytes.len()
    );
    assert!(caught_at_open > 0 && caught_by_checksum > 0);
}

#[test]
fn payload_flips_name_the_tensor_and_chunk() {
    let bytes = common::small_file_bytes();
    let file = EntroFile::from_bytes(bytes.clone()).unwrap();
    let entry = file.tensor("proj.weight").unwrap();
    let chunk = entry.quantized().unwrap().chunks()[1];
    let position = usize::try_from(entry.payload_offset() + chunk.offset).unwrap() + 3;
    let mut damaged = bytes;
    damaged[position] ^= 0x10;
    let file = EntroFile::from_bytes(damaged).unwrap();
    let entry = file.tensor("proj.weight").unwrap();
    file.verify_chunk(entry, 0).unwrap();
    let err = file.verify_chunk(entry, 1).unwrap_err();
    match err {
        Error::ChecksumMismatch { location, .. } => assert_eq!(
            location,
            entro_format::ChecksumLocation::Chunk {
                tensor: "proj.weight".into(),
                chunk: 1
            }
        ),
        other => panic!("unexpected {other}"),
    }
    let raw = file.tensor("norm.weight").unwrap();
    assert!(matches!(raw.encoding(), TensorEncoding::Raw { .. }));
    file.read_raw(raw).unwrap();
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = common::Rng::new(99);
    let base = common::small_file_bytes();
    for round in 0..2000 {
        let mut bytes = base.clone();
        // A few random byte writes, sometimes with the checksums left wrong on purpose.
        for _ in 0..1 + round % 4 {
            let position = usize::try_from(rng.next_u64() % bytes.len() as u64).unwrap();
            bytes[position] = (rng.next_u64() >> 56) as u8;
        }
        let _ = open_and_verify(bytes);
        let len = usize::try_from(rng.next_u64() % 200).unwrap();
        let _ = open_and_verify(rng.bytes(len));
    }
}
