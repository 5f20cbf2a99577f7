//! safetensors import and export, single-file and sharded, checked against the `safetensors` crate.

mod common;

use std::collections::HashMap;
use std::path::Path;

use entro_format::safetensors::{
    INDEX_FILE_NAME, SINGLE_FILE_NAME, SafetensorsCheckpoint, SafetensorsWriter, TensorSpec,
};
use entro_format::{Dtype, Error, MetadataMap};
use safetensors::SafeTensors;
use safetensors::tensor::TensorView;

/// (name, dtype, shape) of the test checkpoint; data is random.
const TENSORS: &[(&str, Dtype, &[usize])] = &[
    ("model.embed_tokens.weight", Dtype::BF16, &[16, 8]),
    ("model.layers.0.input_layernorm.weight", Dtype::F32, &[8]),
    (
        "model.layers.0.self_attn.q_proj.weight",
        Dtype::F16,
        &[8, 8],
    ),
    ("model.norm.weight", Dtype::BF16, &[8]),
    ("counts", Dtype::I64, &[3]),
    ("mask", Dtype::Bool, &[2, 2]),
    ("empty", Dtype::F32, &[0, 4]),
    ("scalar", Dtype::F64, &[]),
    ("fp4", Dtype::F4, &[6]),
];

fn tensor_data(seed: u64) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    let mut rng = common::Rng::new(seed);
    TENSORS
        .iter()
        .map(|&(name, dtype, shape)| {
            let len = dtype
                .byte_len(shape.iter().product::<usize>() as u64)
                .unwrap();
            (
                name.to_owned(),
                dtype,
                shape.to_vec(),
                rng.bytes(usize::try_from(len).unwrap()),
            )
        })
        .collect()
}

/// Writes a checkpoint with the `safetensors` crate itself.
fn write_with_safetensors_crate(
    path: &Path,
    metadata: Option<HashMap<String, String>>,
) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    let data = tensor_data(1);
    let views: Vec<(String, TensorView<'_>)> = data
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            (
                name.clone(),
                TensorView::new((*dtype).into(), shape.clone(), bytes).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, metadata, path).unwrap();
    data
}

/// Streams every tensor of `checkpoint` into `writer` in two parts each.
fn copy_into(
    checkpoint: &SafetensorsCheckpoint,
    mut writer: SafetensorsWriter,
) -> Vec<std::path::PathBuf> {
    for tensor in checkpoint.tensors() {
        assert_eq!(
            writer.next_tensor().map(|s| s.name.as_str()),
            Some(tensor.name())
        );
        let data = checkpoint.data(tensor).unwrap();
        let (head, tail) = data.split_at(data.len() / 2);
        writer.write_data(head).unwrap();
        writer.write_data(tail).unwrap();
    }
    writer.finish().unwrap()
}

fn specs_of(checkpoint: &SafetensorsCheckpoint) -> Vec<TensorSpec> {
    checkpoint
        .tensors()
        .iter()
        .map(|t| TensorSpec {
            name: t.name().to_owned(),
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
        })
        .collect()
}

/// Every tensor of `file` as the `safetensors` crate reads it.
fn read_with_safetensors_crate(
    bytes: &[u8],
) -> HashMap<String, (safetensors::Dtype, Vec<usize>, Vec<u8>)> {
    let tensors = SafeTensors::deserialize(bytes).unwrap();
    tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (
                name,
                (view.dtype(), view.shape().to_vec(), view.data().to_vec()),
            )
        })
        .collect()
}

#[test]
fn import_matches_the_safetensors_crate() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join(SINGLE_FILE_NAME);
    let metadata: HashMap<String, String> = [("format".to_owned(), "pt".to_owned())].into();
    let data = write_with_safetensors_crate(&path, Some(metadata));
    let checkpoint = SafetensorsCheckpoint::open(&path).unwrap();
    assert_eq!(checkpoint.metadata().unwrap().get("format"), Some("pt"));
    assert_eq!(checkpoint.tensors().len(), data.len());
    let bytes = std::fs::read(&path).unwrap();
    let theirs = SafeTensors::deserialize(&bytes).unwrap();
    // File order is data-offset order, the order the safetensors crate lists offsets in.
    let order: Vec<&str> = checkpoint.tensors().iter().map(|t| t.name()).collect();
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(order, metadata.offset_keys());
    for (name, dtype, shape, bytes) in &data {
        let tensor = checkpoint.tensor(name).unwrap();
        assert_eq!((tensor.dtype(), tensor.shape()), (*dtype, shape.as_slice()));
        assert_eq!(checkpoint.data(tensor).unwrap(), bytes.as_slice());
        assert_eq!(theirs.tensor(name).unwrap().data(), bytes.as_slice());
    }
    // Opening the folder finds model.safetensors.
    assert_eq!(
        SafetensorsCheckpoint::open(folder.path())
            .unwrap()
            .tensors(),
        checkpoint.tensors()
    );
}

#[test]
fn export_reads_back_with_the_safetensors_crate() {
    let folder = tempfile::tempdir().unwrap();
    let source = folder.path().join("source.safetensors");
    let data = write_with_safetensors_crate(&source, None);
    let checkpoint = SafetensorsCheckpoint::open(&source).unwrap();
    let metadata: MetadataMap = [("z_first", "1"), ("a_second", "quote \" and \\ and é")]
        .into_iter()
        .collect();
    let target = folder.path().join("exported.safetensors");
    let writer =
        SafetensorsWriter::create(&target, specs_of(&checkpoint), Some(&metadata)).unwrap();
    assert_eq!(
        copy_into(&checkpoint, writer),
        std::slice::from_ref(&target)
    );
    let bytes = std::fs::read(&target).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!(header_len % 8, 0, "data starts 8-byte aligned");
    let theirs = read_with_safetensors_crate(&bytes);
    assert_eq!(theirs.len(), data.len());
    for (name, dtype, shape, tensor_bytes) in &data {
        assert_eq!(
            theirs[name],
            (
                safetensors::Dtype::from(*dtype),
                shape.clone(),
                tensor_bytes.clone()
            )
        );
    }
    let (_, their_metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    let their_map = their_metadata.metadata().clone().unwrap();
    assert_eq!(their_map["a_second"], "quote \" and \\ and é");
    // Our reader keeps the metadata order and the tensor order.
    let back = SafetensorsCheckpoint::open(&target).unwrap();
    assert_eq!(back.metadata(), Some(&metadata));
    assert_eq!(
        back.tensors().iter().map(|t| t.name()).collect::<Vec<_>>(),
        checkpoint
            .tensors()
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
    );
}

#[test]
fn sharded_export_and_import_round_trip() {
    let folder = tempfile::tempdir().unwrap();
    let source = folder.path().join("source.safetensors");
    let data = write_with_safetensors_crate(&source, None);
    let checkpoint = SafetensorsCheckpoint::open(&source).unwrap();
    let sharded = folder.path().join("sharded");
    std::fs::create_dir(&sharded).unwrap();
    let metadata: MetadataMap = [("format", "pt")].into_iter().collect();
    let writer =
        SafetensorsWriter::create_sharded(&sharded, specs_of(&checkpoint), Some(&metadata), 100)
            .unwrap();
    let paths = copy_into(&checkpoint, writer);
    assert!(paths.len() >= 3, "several shards and an index: {paths:?}");
    assert_eq!(paths.last().unwrap(), &sharded.join(INDEX_FILE_NAME));
    let shard_count = paths.len() - 1;
    for (i, path) in paths[..shard_count].iter().enumerate() {
        let expected = format!("model-{:05}-of-{shard_count:05}.safetensors", i + 1);
        assert_eq!(path.file_name().unwrap().to_str().unwrap(), expected);
        read_with_safetensors_crate(&std::fs::read(path).unwrap());
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sharded.join(INDEX_FILE_NAME)).unwrap()).unwrap();
    let total: u64 = data.iter().map(|(_, _, _, bytes)| bytes.len() as u64).sum();
    assert_eq!(index["metadata"]["total_size"], total);
    assert_eq!(index["weight_map"].as_object().unwrap().len(), data.len());

    let back = SafetensorsCheckpoint::open(&sharded).unwrap();
    assert_eq!(
        back.index_path(),
        Some(sharded.join(INDEX_FILE_NAME).as_path())
    );
    assert_eq!(back.shard_paths().len(), shard_count);
    assert_eq!(back.metadata(), Some(&metadata));
    let names = |c: &SafetensorsCheckpoint| {
        c.tensors()
            .iter()
            .map(|t| t.name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&back), names(&checkpoint));
    for tensor in checkpoint.tensors() {
        let other = back.tensor(tensor.name()).unwrap();
        assert_eq!(
            (other.dtype(), other.shape()),
            (tensor.dtype(), tensor.shape())
        );
        assert_eq!(back.data(other).unwrap(), checkpoint.data(tensor).unwrap());
    }
}

#[test]
fn export_misuse_is_caught_and_leaves_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let spec = |name: &str, shape: Vec<usize>| TensorSpec {
        name: name.to_owned(),
        dtype: Dtype::F32,
        shape,
    };
    let target = folder.path().join("out.safetensors");
    let duplicate = vec![spec("a", vec![1]), spec("a", vec![1])];
    assert!(matches!(
        SafetensorsWriter::create(&target, duplicate, None),
        Err(Error::InvalidArgument { .. })
    ));
    let reserved = vec![spec("__metadata__", vec![1])];
    assert!(matches!(
        SafetensorsWriter::create(&target, reserved, None),
        Err(Error::InvalidArgument { .. })
    ));
    let mut writer =
        SafetensorsWriter::create(&target, vec![spec("a", vec![2]), spec("b", vec![1])], None)
            .unwrap();
    assert!(matches!(
        writer.write_data(&[0; 9]),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        writer.write_tensor("b", &[0; 4]),
        Err(Error::InvalidArgument { .. })
    ));
    writer.write_tensor("a", &[0; 8]).unwrap();
    let err = writer.finish().unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert_eq!(
        std::fs::read_dir(folder.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
    let shards = folder.path().join("shards");
    std::fs::create_dir(&shards).unwrap();
    let mut writer = SafetensorsWriter::create_sharded(
        &shards,
        vec![spec("a", vec![2]), spec("b", vec![2])],
        None,
        8,
    )
    .unwrap();
    writer.write_tensor("a", &[0; 8]).unwrap();
    drop(writer);
    assert_eq!(
        std::fs::read_dir(&shards).unwrap().count(),
        0,
        "no shard without its index"
    );
}

#[test]
fn malformed_files_are_rejected_like_the_safetensors_crate_does() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("m.safetensors");
    write_with_safetensors_crate(&path, Some([("k".to_owned(), "v".to_owned())].into()));
    let bytes = std::fs::read(&path).unwrap();
    for len in 0..bytes.len() {
        let err = SafetensorsCheckpoint::from_bytes(&bytes[..len]).unwrap_err();
        assert!(
            matches!(err, Error::Safetensors { .. } | Error::LimitExceeded { .. }),
            "{len}: {err}"
        );
    }
    let header_len = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().unwrap())).unwrap();
    let mut disagreements = Vec::new();
    for position in 0..8 + header_len {
        for mask in [0x01, 0x20, 0xFF] {
            let mut damaged = bytes.clone();
            damaged[position] ^= mask;
            let ours = SafetensorsCheckpoint::from_bytes(damaged.clone()).is_ok();
            let theirs = SafeTensors::deserialize(&damaged).is_ok();
            if ours != theirs {
                disagreements.push((position, mask, ours, theirs));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "(position, mask, ours, theirs): {disagreements:?}"
    );
}

fn safetensors_bytes(header: &str, data_len: usize) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data_len, 0);
    bytes
}

#[test]
fn bad_offsets_dtypes_and_limits() {
    let cases = [
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            12,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            8,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            5,
        ),
        (
            r#"{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}"#,
            4,
        ),
        (
            r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
            2,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
            4,
        ),
        (r#"{"__metadata__":{"n":1}}"#, 0),
    ];
    for (header, data_len) in cases {
        let err =
            SafetensorsCheckpoint::from_bytes(safetensors_bytes(header, data_len)).unwrap_err();
        assert!(matches!(err, Error::Safetensors { .. }), "{header}: {err}");
    }
    let huge = r#"{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#;
    let err = SafetensorsCheckpoint::from_bytes(safetensors_bytes(huge, 0)).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
    let mut too_long = 200_000_000u64.to_le_bytes().to_vec();
    too_long.extend_from_slice(b"{}");
    assert!(matches!(
        SafetensorsCheckpoint::from_bytes(too_long),
        Err(Error::LimitExceeded { .. })
    ));
    SafetensorsCheckpoint::from_bytes(safetensors_bytes("{}", 0)).unwrap();
}

#[test]
fn bad_indexes_and_folders() {
    let folder = tempfile::tempdir().unwrap();
    let index = folder.path().join(INDEX_FILE_NAME);
    let shard = folder.path().join("s1.safetensors");
    std::fs::write(
        &shard,
        safetensors_bytes(
            r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#,
            1,
        ),
    )
    .unwrap();
    let cases = [
        r#"{"weight_map":{"a":"../s1.safetensors"}}"#,
        r#"{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}}"#,
        r#"{"weight_map":{}}"#,
        r#"{"metadata":{}}"#,
        r#"not json"#,
    ];
    for case in cases {
        std::fs::write(&index, case).unwrap();
        let err = SafetensorsCheckpoint::open(&index).unwrap_err();
        assert!(matches!(err, Error::Safetensors { .. }), "{case}: {err}");
    }
    std::fs::write(&index, r#"{"weight_map":{"a":"missing.safetensors"}}"#).unwrap();
    assert!(matches!(
        SafetensorsCheckpoint::open(&index),
        Err(Error::Io { .. })
    ));
    std::fs::write(
        &index,
        r#"{"metadata":{"total_size":1},"weight_map":{"a":"s1.safetensors"}}"#,
    )
    .unwrap();
    let checkpoint = SafetensorsCheckpoint::open(folder.path()).unwrap();
    assert_eq!(checkpoint.tensors().len(), 1);

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        SafetensorsCheckpoint::open(empty.path()),
        Err(Error::InvalidArgument { .. })
    ));
    std::fs::write(
        empty.path().join("only.safetensors"),
        safetensors_bytes("{}", 0),
    )
    .unwrap();
    SafetensorsCheckpoint::open(empty.path()).unwrap();
    std::fs::write(
        empty.path().join("second.safetensors"),
        safetensors_bytes("{}", 0),
    )
    .unwrap();
    assert!(matches!(
        SafetensorsCheckpoint::open(empty.path()),
        Err(Error::InvalidArgument { .. })
    ));
}
