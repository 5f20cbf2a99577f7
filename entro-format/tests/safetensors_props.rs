//! Property: any tensor list and metadata exported (single file or shards)
//! imports back unchanged, and the `safetensors` crate reads every file.

mod common;

use entro_format::safetensors::{SafetensorsCheckpoint, SafetensorsWriter, TensorSpec};
use entro_format::{Dtype, MetadataMap};
use proptest::prelude::*;

fn specs() -> impl Strategy<Value = Vec<TensorSpec>> {
    let one = (
        "[a-z.]{1,8}|\\PC{1,6}",
        prop::sample::select(Dtype::ALL.to_vec()),
        prop::collection::vec(0usize..6, 0..4),
    )
        .prop_filter("whole bytes", |(_, dtype, shape)| {
            dtype
                .byte_len(shape.iter().product::<usize>() as u64)
                .is_some()
        })
        .prop_map(|(name, dtype, shape)| TensorSpec { name, dtype, shape });
    prop::collection::vec(one, 0..8).prop_map(|mut specs| {
        let mut seen = std::collections::HashSet::new();
        specs.retain(|s| s.name != "__metadata__" && seen.insert(s.name.clone()));
        specs
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn export_then_import_is_the_identity(
        specs in specs(),
        metadata in prop::option::of(prop::collection::vec(("\\PC{0,6}", "\\PC{0,10}"), 0..4)),
        shard_bytes in prop::option::of(1u64..64),
        seed in any::<u64>(),
    ) {
        let metadata: Option<MetadataMap> = metadata.map(|pairs| pairs.into_iter().collect());
        let mut rng = common::Rng::new(seed);
        let data: Vec<Vec<u8>> = specs
            .iter()
            .map(|s| {
                let len = s.dtype.byte_len(s.shape.iter().product::<usize>() as u64).unwrap();
                rng.bytes(usize::try_from(len).unwrap())
            })
            .collect();
        let folder = tempfile::tempdir().unwrap();
        if specs.is_empty() && shard_bytes.is_some() {
            let err = SafetensorsWriter::create_sharded(folder.path(), specs, None, 8).unwrap_err();
            let is_invalid_argument = matches!(err, entro_format::Error::InvalidArgument { .. });
            prop_assert!(is_invalid_argument);
            return Ok(());
        }
        let (mut writer, source) = match shard_bytes {
            None => {
                let path = folder.path().join("model.safetensors");
                (SafetensorsWriter::create(&path, specs.clone(), metadata.as_ref()).unwrap(), path)
            }
            Some(max) => (
                SafetensorsWriter::create_sharded(folder.path(), specs.clone(), metadata.as_ref(), max).unwrap(),
                folder.path().to_path_buf(),
            ),
        };
        for (spec, bytes) in specs.iter().zip(&data) {
            writer.write_tensor(&spec.name, bytes).unwrap();
        }
        let paths = writer.finish().unwrap();
        for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "safetensors")) {
            let bytes = std::fs::read(path).unwrap();
            prop_assert!(safetensors::SafeTensors::deserialize(&bytes).is_ok(), "{}", path.display());
        }
        let checkpoint = SafetensorsCheckpoint::open(&source).unwrap();
        prop_assert_eq!(checkpoint.metadata(), metadata.as_ref());
        prop_assert_eq!(checkpoint.tensors().len(), specs.len());
        for ((tensor, spec), bytes) in checkpoint.tensors().iter().zip(&specs).zip(&data) {
            prop_assert_eq!(tensor.name(), spec.name.as_str());
            prop_assert_eq!(tensor.dtype(), spec.dtype);
            prop_assert_eq!(tensor.shape(), spec.shape.as_slice());
            prop_assert_eq!(checkpoint.data(tensor).unwrap(), bytes.as_slice());
        }
    }
}
