//! Order-preserving parsing of safetensors JSON headers and index files.
//!
//! serde_json's own map type sorts keys, which would lose the checkpoint's
//! `__metadata__` order and the index's tensor order; these visitors keep
//! document order and reject repeated keys.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::metadata::MetadataMap;

/// One tensor of a safetensors header, exactly as written.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HeaderTensor {
    #[serde(skip)]
    pub(crate) name: String,
    pub(crate) dtype: String,
    pub(crate) shape: Vec<u64>,
    pub(crate) data_offsets: (u64, u64),
}

/// A safetensors JSON header: `__metadata__` and tensors, in document order.
#[derive(Debug, Default)]
pub(crate) struct Header {
    pub(crate) metadata: Option<MetadataMap>,
    pub(crate) tensors: Vec<HeaderTensor>,
}

/// A `model.safetensors.index.json`: tensor name to shard file name, in document order.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) weight_map: Vec<(String, String)>,
}

/// Fails on a key seen before.
fn check_unique<E: de::Error>(seen: &mut HashSet<String>, key: &str) -> Result<(), E> {
    if seen.insert(key.to_owned()) {
        Ok(())
    } else {
        Err(E::custom(format_args!("key `{key}` appears twice")))
    }
}

struct StringMap(MetadataMap);

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringMapVisitor;
        impl<'de> Visitor<'de> for StringMapVisitor {
            type Value = StringMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
                let mut seen = HashSet::new();
                let mut out = MetadataMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    check_unique(&mut seen, &key)?;
                    let value: String = map.next_value()?;
                    out.insert(key, value);
                }
                Ok(StringMap(out))
            }
        }
        deserializer.deserialize_map(StringMapVisitor)
    }
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = Header;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a safetensors header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
                let mut seen = HashSet::new();
                let mut header = Header::default();
                while let Some(key) = map.next_key::<String>()? {
                    check_unique(&mut seen, &key)?;
                    if key == "__metadata__" {
                        header.metadata = Some(map.next_value::<StringMap>()?.0);
                    } else {
                        let mut tensor: HeaderTensor = map.next_value()?;
                        tensor.name = key;
                        header.tensors.push(tensor);
                    }
                }
                Ok(header)
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

impl<'de> Deserialize<'de> for Index {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IndexVisitor;
        impl<'de> Visitor<'de> for IndexVisitor {
            type Value = Index;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a safetensors index object with a `weight_map`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Index, A::Error> {
                let mut seen = HashSet::new();
                let mut weight_map = None;
                while let Some(key) = map.next_key::<String>()? {
                    check_unique(&mut seen, &key)?;
                    if key == "weight_map" {
                        let entries = map.next_value::<StringMap>()?.0;
                        weight_map = Some(
                            entries
                                .iter()
                                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                                .collect(),
                        );
                    } else {
                        // `metadata` (total_size and the like) is recomputed on export.
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                let weight_map =
                    weight_map.ok_or_else(|| de::Error::missing_field("weight_map"))?;
                Ok(Index { weight_map })
            }
        }
        deserializer.deserialize_map(IndexVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keeps_document_order() {
        let json = r#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
            "__metadata__":{"z":"1","a":"2"},
            "a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}"#;
        let header: Header = serde_json::from_str(json).unwrap();
        let names: Vec<_> = header.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        let metadata: Vec<_> = header
            .metadata
            .unwrap()
            .iter()
            .map(|(k, _)| k.to_owned())
            .collect();
        assert_eq!(metadata, ["z", "a"]);
    }

    #[test]
    fn repeated_keys_and_wrong_types_are_rejected() {
        let twice = r#"{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},
            "a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}"#;
        assert!(serde_json::from_str::<Header>(twice).is_err());
        assert!(serde_json::from_str::<Header>(r#"{"__metadata__":{"a":1}}"#).is_err());
        assert!(serde_json::from_str::<Header>(r#"[1,2]"#).is_err());
        assert!(serde_json::from_str::<Index>(r#"{"metadata":{}}"#).is_err());
        let index: Index =
            serde_json::from_str(r#"{"metadata":{"total_size":3},"weight_map":{"y":"b","x":"a"}}"#)
                .unwrap();
        assert_eq!(index.weight_map[0], ("y".to_owned(), "b".to_owned()));
    }
}
