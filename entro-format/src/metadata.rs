//! Ordered string maps: the checkpoint's `__metadata__` and entro's own notes.

use crate::bytes::{Cursor, put_count, put_string, put_u8};
use crate::error::{Error, Result};
use crate::limits::{MAX_METADATA_ENTRIES, MAX_METADATA_STRING_LEN};

/// A string-to-string map that keeps insertion order (safetensors `__metadata__`
/// order is preserved through compression and export).
///
/// Keys are unique; inserting an existing key replaces its value in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataMap {
    entries: Vec<(String, String)>,
}

impl MetadataMap {
    /// An empty map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`; an existing key keeps its position.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self
            .entries
            .iter_mut()
            .find(|(existing, _)| *existing == key)
        {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value of `key`, if present.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Entries in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        put_count(
            out,
            "metadata entries",
            self.entries.len(),
            MAX_METADATA_ENTRIES,
        )?;
        for (key, value) in &self.entries {
            put_string(out, "metadata key length", key, MAX_METADATA_STRING_LEN)?;
            put_string(out, "metadata value length", value, MAX_METADATA_STRING_LEN)?;
        }
        Ok(())
    }

    pub(crate) fn decode(cursor: &mut Cursor<'_>) -> Result<Self> {
        let count = cursor.count("metadata entries", MAX_METADATA_ENTRIES)?;
        let mut map = Self::new();
        for _ in 0..count {
            let offset = cursor.offset();
            let key = cursor.string("metadata key length", MAX_METADATA_STRING_LEN)?;
            let value = cursor.string("metadata value length", MAX_METADATA_STRING_LEN)?;
            if map.contains_key(key) {
                return Err(Error::format(
                    offset,
                    "unique metadata keys",
                    format!("`{key}` a second time"),
                ));
            }
            map.entries.push((key.to_owned(), value.to_owned()));
        }
        Ok(map)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MetadataMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = Self::new();
        for (key, value) in iter {
            map.insert(key, value);
        }
        map
    }
}

/// Whole-file metadata of a `.entro` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileMetadata {
    /// The source checkpoint's safetensors `__metadata__`, or `None` if it had none.
    pub checkpoint: Option<MetadataMap>,
    /// entro's own notes: tool version, quantization settings and the like.
    pub entro: MetadataMap,
}

impl FileMetadata {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        match &self.checkpoint {
            Some(map) => {
                put_u8(out, 1);
                map.encode(out)?;
            }
            None => put_u8(out, 0),
        }
        self.entro.encode(out)
    }

    pub(crate) fn decode(cursor: &mut Cursor<'_>) -> Result<Self> {
        let checkpoint = match cursor.bool("checkpoint metadata presence flag")? {
            true => Some(MetadataMap::decode(cursor)?),
            false => None,
        };
        let entro = MetadataMap::decode(cursor)?;
        Ok(Self { checkpoint, entro })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_keeps_order_and_replaces_in_place() {
        let mut map: MetadataMap = [("b", "1"), ("a", "2")].into_iter().collect();
        map.insert("b", "3");
        map.insert("c", "4");
        let entries: Vec<_> = map.iter().collect();
        assert_eq!(entries, [("b", "3"), ("a", "2"), ("c", "4")]);
        assert_eq!(map.get("a"), Some("2"));
        assert_eq!(map.get("z"), None);
    }

    #[test]
    fn duplicate_keys_in_a_file_are_rejected() {
        let mut out = Vec::new();
        put_count(&mut out, "n", 2, 10).unwrap();
        for _ in 0..2 {
            put_string(&mut out, "k", "key", 10).unwrap();
            put_string(&mut out, "v", "value", 10).unwrap();
        }
        let err = MetadataMap::decode(&mut Cursor::new(&out, 0)).unwrap_err();
        assert!(matches!(err, Error::Format { offset: 11, .. }), "{err}");
    }

    #[test]
    fn file_metadata_round_trips_with_and_without_checkpoint_map() {
        for checkpoint in [
            None,
            Some(MetadataMap::new()),
            Some([("format", "pt")].into_iter().collect()),
        ] {
            let metadata = FileMetadata {
                checkpoint,
                entro: [("tool", "entro 0.1")].into_iter().collect(),
            };
            let mut out = Vec::new();
            metadata.encode(&mut out).unwrap();
            let mut cursor = Cursor::new(&out, 0);
            assert_eq!(FileMetadata::decode(&mut cursor).unwrap(), metadata);
            cursor.finish("metadata").unwrap();
        }
    }
}
