//! Little-endian reading with bounds checks and absolute offsets, and the matching writers.

use byteorder::{ByteOrder, LittleEndian};

use crate::error::{Error, Result, as_u64, check_limit};

/// Reads fields from an untrusted byte slice. Every read is bounds-checked and
/// every error carries the absolute file offset (`base` + position).
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor over `bytes`, which start at absolute offset `base` in the file.
    pub(crate) fn new(bytes: &'a [u8], base: u64) -> Self {
        Self {
            bytes,
            position: 0,
            base,
        }
    }

    /// The absolute offset of the next byte to be read.
    pub(crate) fn offset(&self) -> u64 {
        self.base.saturating_add(as_u64(self.position))
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }

    /// A format error at the current offset.
    pub(crate) fn error(&self, expected: impl Into<String>, found: impl Into<String>) -> Error {
        Error::format(self.offset(), expected, found)
    }

    /// The next `len` bytes, or a format error naming `what`.
    pub(crate) fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.position.checked_add(len);
        match end.and_then(|end| self.bytes.get(self.position..end).map(|s| (end, s))) {
            Some((end, slice)) => {
                self.position = end;
                Ok(slice)
            }
            None => Err(self.error(
                format!("{len} bytes of {what}"),
                format!("{} bytes before the end of the header", self.remaining()),
            )),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let slice = self.take(N, what)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(LittleEndian::read_u32(&self.array::<4>(what)?))
    }

    pub(crate) fn i32(&mut self, what: &str) -> Result<i32> {
        Ok(LittleEndian::read_i32(&self.array::<4>(what)?))
    }

    pub(crate) fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(LittleEndian::read_f32(&self.array::<4>(what)?))
    }

    pub(crate) fn f64(&mut self, what: &str) -> Result<f64> {
        Ok(LittleEndian::read_f64(&self.array::<8>(what)?))
    }

    /// A byte that must be 0 or 1.
    pub(crate) fn bool(&mut self, what: &str) -> Result<bool> {
        let offset = self.offset();
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Error::format(
                offset,
                format!("0 or 1 for {what}"),
                other.to_string(),
            )),
        }
    }

    /// An unsigned LEB128 varint: 7 bits per byte, least significant group
    /// first, high bit set on every byte but the last. At most 10 bytes; the
    /// shortest encoding is required (no redundant trailing zero groups).
    pub(crate) fn varint(&mut self, what: &str) -> Result<u64> {
        let start = self.offset();
        let mut value: u64 = 0;
        for index in 0..MAX_VARINT_LEN {
            let byte = self.u8(what)?;
            let group = u64::from(byte & 0x7F);
            // The tenth byte may only contribute the top bit of a u64.
            if index == MAX_VARINT_LEN - 1 && byte > 1 {
                break;
            }
            value |= group << (7 * index);
            if byte & 0x80 == 0 {
                if index > 0 && byte == 0 {
                    return Err(Error::format(
                        start,
                        format!("a shortest-form varint for {what}"),
                        "a redundant zero byte",
                    ));
                }
                return Ok(value);
            }
        }
        Err(Error::format(
            start,
            format!("a varint of at most 64 bits for {what}"),
            "a longer one",
        ))
    }

    /// A varint that must fit in 32 bits.
    pub(crate) fn varint_u32(&mut self, what: &str) -> Result<u32> {
        let start = self.offset();
        let value = self.varint(what)?;
        u32::try_from(value).map_err(|_| {
            Error::format(
                start,
                format!("a 32-bit value for {what}"),
                value.to_string(),
            )
        })
    }

    /// A varint count, checked against `limit` (named by `what`).
    pub(crate) fn count(&mut self, what: &'static str, limit: usize) -> Result<usize> {
        let value = self.varint(what)?;
        check_limit(what, value, as_u64(limit))?;
        usize::try_from(value).map_err(|_| Error::limit(what, as_u64(limit), value))
    }

    /// A length-prefixed (`u32`) UTF-8 string of at most `limit` bytes.
    pub(crate) fn string(&mut self, what: &'static str, limit: usize) -> Result<&'a str> {
        let len = self.count(what, limit)?;
        let offset = self.offset();
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes).map_err(|err| {
            Error::format(
                offset.saturating_add(as_u64(err.valid_up_to())),
                format!("UTF-8 text in {what}"),
                "an invalid UTF-8 sequence",
            )
        })
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(&self, what: &str) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            left => Err(self.error(format!("the end of {what}"), format!("{left} more bytes"))),
        }
    }
}

pub(crate) fn put_u8(out: &mut Vec<u8>, value: u8) {
    out.push(value);
}

pub(crate) fn put_u32(out: &mut Vec<u8>, value: u32) {
    let mut bytes = [0u8; 4];
    LittleEndian::write_u32(&mut bytes, value);
    out.extend_from_slice(&bytes);
}

pub(crate) fn put_i32(out: &mut Vec<u8>, value: i32) {
    let mut bytes = [0u8; 4];
    LittleEndian::write_i32(&mut bytes, value);
    out.extend_from_slice(&bytes);
}

pub(crate) fn put_f32(out: &mut Vec<u8>, value: f32) {
    let mut bytes = [0u8; 4];
    LittleEndian::write_f32(&mut bytes, value);
    out.extend_from_slice(&bytes);
}

pub(crate) fn put_f64(out: &mut Vec<u8>, value: f64) {
    let mut bytes = [0u8; 8];
    LittleEndian::write_f64(&mut bytes, value);
    out.extend_from_slice(&bytes);
}

/// Longest varint: ceil(64 / 7) bytes.
const MAX_VARINT_LEN: usize = 10;

/// Appends `value` as an unsigned LEB128 varint (see [`Cursor::varint`]).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(u8::try_from(value & 0x7F).unwrap_or(0) | 0x80);
        value >>= 7;
    }
    out.push(u8::try_from(value).unwrap_or(0));
}

/// A varint count, checked against its `MAX_*` limit.
pub(crate) fn put_count(
    out: &mut Vec<u8>,
    what: &'static str,
    count: usize,
    limit: usize,
) -> Result<()> {
    check_limit(what, as_u64(count), as_u64(limit))?;
    put_varint(out, as_u64(count));
    Ok(())
}

/// A length-prefixed string of at most `limit` bytes.
pub(crate) fn put_string(
    out: &mut Vec<u8>,
    what: &'static str,
    text: &str,
    limit: usize,
) -> Result<()> {
    put_count(out, what, text.len(), limit)?;
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_was_written_with_offsets() {
        let mut out = Vec::new();
        put_u8(&mut out, 7);
        put_u32(&mut out, 0xDEAD_BEEF);
        put_i32(&mut out, -5);
        put_varint(&mut out, u64::MAX - 1);
        put_f32(&mut out, -1.5);
        put_f64(&mut out, 0.25);
        put_string(&mut out, "name", "héllo", 16).unwrap();
        let mut cursor = Cursor::new(&out, 100);
        assert_eq!(cursor.u8("a").unwrap(), 7);
        assert_eq!(cursor.offset(), 101);
        assert_eq!(cursor.u32("b").unwrap(), 0xDEAD_BEEF);
        assert_eq!(cursor.i32("c").unwrap(), -5);
        assert_eq!(cursor.varint("d").unwrap(), u64::MAX - 1);
        assert_eq!(cursor.f32("e").unwrap(), -1.5);
        assert_eq!(cursor.f64("f").unwrap(), 0.25);
        assert_eq!(cursor.string("name", 16).unwrap(), "héllo");
        cursor.finish("test").unwrap();
    }

    #[test]
    fn short_reads_report_the_offset() {
        let mut cursor = Cursor::new(&[1, 2, 3], 40);
        cursor.u8("x").unwrap();
        let err = cursor.u32("y").unwrap_err();
        assert!(matches!(err, Error::Format { offset: 41, .. }), "{err}");
        assert!(matches!(
            cursor.finish("t"),
            Err(Error::Format { offset: 41, .. })
        ));
    }

    #[test]
    fn strings_are_length_limited_and_utf8_checked() {
        let mut out = Vec::new();
        put_varint(&mut out, 100);
        let err = Cursor::new(&out, 0).string("name", 10).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: 10,
                found: 100,
                ..
            }
        ));
        let mut out = Vec::new();
        put_varint(&mut out, 2);
        out.extend_from_slice(&[b'a', 0xFF]);
        let err = Cursor::new(&out, 0).string("name", 10).unwrap_err();
        assert!(matches!(err, Error::Format { offset: 2, .. }), "{err}");
        assert!(matches!(
            put_string(&mut Vec::new(), "name", "too long", 3),
            Err(Error::LimitExceeded { .. })
        ));
        assert!(matches!(
            Cursor::new(&[2], 0).bool("flag"),
            Err(Error::Format { .. })
        ));
    }

    #[test]
    fn varints_round_trip_and_reject_malformed_forms() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert!(out.len() <= MAX_VARINT_LEN);
            let mut cursor = Cursor::new(&out, 0);
            assert_eq!(cursor.varint("v").unwrap(), value);
            cursor.finish("v").unwrap();
        }
        let malformed: [&[u8]; 5] = [
            &[0x80, 0x00],
            &[0xFF, 0x80, 0x00],
            &[0xFF; 10],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02],
            &[0x80],
        ];
        for bytes in malformed {
            let err = Cursor::new(bytes, 7).varint("v").unwrap_err();
            assert!(matches!(err, Error::Format { .. }), "{bytes:?}: {err}");
        }
    }
}
