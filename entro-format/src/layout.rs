//! The fixed-size parts of a `.entro` file: preamble, alignment and footer.

use byteorder::{ByteOrder, LittleEndian};

use crate::error::{Error, Result, as_u64, check_limit};
use crate::limits::MAX_HEADER_LEN;

/// The first eight bytes of every `.entro` file.
pub const MAGIC: [u8; 8] = *b"ENTRO\0\r\n";

/// The last eight bytes of every `.entro` file.
pub const END_MAGIC: [u8; 8] = *b"ENTROEND";

/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 2;

/// Bytes in the preamble: magic, version (`u32`), flags (`u32`).
pub const PREAMBLE_LEN: usize = 16;

/// Bytes in the footer: header offset and length (`u64` each), header CRC-32C,
/// a reserved `u32`, and [`END_MAGIC`].
pub const FOOTER_LEN: usize = 32;

/// Every payload, and the header, starts at a multiple of this many bytes.
pub const ALIGNMENT: u64 = 64;

/// Rounds `offset` up to the next multiple of [`ALIGNMENT`], or `None` on overflow.
#[must_use]
pub fn align_up(offset: u64) -> Option<u64> {
    Some(offset.checked_add(ALIGNMENT - 1)? / ALIGNMENT * ALIGNMENT)
}

/// The preamble bytes of a file written by this crate.
pub(crate) fn preamble() -> [u8; PREAMBLE_LEN] {
    let mut bytes = [0u8; PREAMBLE_LEN];
    bytes[..8].copy_from_slice(&MAGIC);
    LittleEndian::write_u32(&mut bytes[8..12], FORMAT_VERSION);
    // Flags (bytes 12..16) stay zero: no version defines any yet.
    bytes
}

/// Checks the magic, version and flags at the start of `file`.
pub(crate) fn check_preamble(file: &[u8]) -> Result<()> {
    let magic = file.get(..MAGIC.len()).unwrap_or(file);
    if magic != MAGIC {
        return Err(Error::format(
            0,
            format!("the .entro magic {MAGIC:?}"),
            format!("{magic:?}"),
        ));
    }
    let Some(rest) = file.get(8..PREAMBLE_LEN) else {
        return Err(Error::format(
            8,
            "a version and flags field",
            "the end of the file",
        ));
    };
    let version = LittleEndian::read_u32(&rest[..4]);
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let flags = LittleEndian::read_u32(&rest[4..8]);
    if flags != 0 {
        return Err(Error::format(
            12,
            "flags 0 (no version defines any flags)",
            format!("{flags:#x}"),
        ));
    }
    Ok(())
}

/// Where the header is, as the footer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footer {
    pub(crate) header_offset: u64,
    pub(crate) header_len: u64,
    pub(crate) header_crc32c: u32,
}

impl Footer {
    pub(crate) fn to_bytes(self) -> [u8; FOOTER_LEN] {
        let mut bytes = [0u8; FOOTER_LEN];
        LittleEndian::write_u64(&mut bytes[0..8], self.header_offset);
        LittleEndian::write_u64(&mut bytes[8..16], self.header_len);
        LittleEndian::write_u32(&mut bytes[16..20], self.header_crc32c);
        // Bytes 20..24 are reserved and zero.
        bytes[24..].copy_from_slice(&END_MAGIC);
        bytes
    }

    /// Reads and checks the footer at the end of `file`: its magic, the
    /// reserved field, the header length limit, and that the header is
    /// aligned and ends exactly where the footer begins.
    pub(crate) fn read(file: &[u8]) -> Result<Self> {
        let file_len = as_u64(file.len());
        let footer_start = file.len().checked_sub(FOOTER_LEN).ok_or_else(|| {
            Error::format(
                0,
                format!("a file of at least {FOOTER_LEN} bytes"),
                format!("{file_len} bytes"),
            )
        })?;
        let at = |relative: usize| as_u64(footer_start.saturating_add(relative));
        let bytes = file.get(footer_start..).unwrap_or_default();
        if bytes.len() != FOOTER_LEN || bytes[24..] != END_MAGIC {
            return Err(Error::format(
                at(24),
                format!("the end magic {END_MAGIC:?} (is the file truncated?)"),
                format!("{:?}", bytes.get(24..).unwrap_or_default()),
            ));
        }
        let footer = Self {
            header_offset: LittleEndian::read_u64(&bytes[0..8]),
            header_len: LittleEndian::read_u64(&bytes[8..16]),
            header_crc32c: LittleEndian::read_u32(&bytes[16..20]),
        };
        let reserved = LittleEndian::read_u32(&bytes[20..24]);
        if reserved != 0 {
            return Err(Error::format(
                at(20),
                "reserved footer field 0",
                format!("{reserved:#x}"),
            ));
        }
        check_limit("header length", footer.header_len, MAX_HEADER_LEN)?;
        let expected_offset = as_u64(footer_start)
            .checked_sub(footer.header_len)
            .ok_or_else(|| {
                Error::format(
                    at(8),
                    format!("a header length of at most {footer_start}"),
                    footer.header_len.to_string(),
                )
            })?;
        if footer.header_offset != expected_offset {
            return Err(Error::format(
                at(0),
                format!(
                    "header offset {expected_offset} (file length less footer and header length)"
                ),
                footer.header_offset.to_string(),
            ));
        }
        if !footer.header_offset.is_multiple_of(ALIGNMENT) || footer.header_offset < ALIGNMENT {
            return Err(Error::format(
                at(0),
                format!("a header offset that is a nonzero multiple of {ALIGNMENT}"),
                footer.header_offset.to_string(),
            ));
        }
        Ok(footer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_up_rounds_to_multiples_of_64() {
        assert_eq!(align_up(0), Some(0));
        assert_eq!(align_up(1), Some(64));
        assert_eq!(align_up(64), Some(64));
        assert_eq!(align_up(65), Some(128));
        assert_eq!(align_up(u64::MAX), None);
    }

    #[test]
    fn preamble_checks_magic_version_and_flags() {
        let good = preamble();
        check_preamble(&good).unwrap();
        let mut bad = good;
        bad[0] = b'X';
        assert!(matches!(
            check_preamble(&bad),
            Err(Error::Format { offset: 0, .. })
        ));
        for version in [1, FORMAT_VERSION + 1] {
            let mut other = good;
            other[8..12].copy_from_slice(&version.to_le_bytes());
            assert!(matches!(
                check_preamble(&other),
                Err(Error::UnsupportedVersion {
                    found,
                    supported: FORMAT_VERSION
                }) if found == version
            ));
        }
        let mut flagged = good;
        flagged[15] = 1;
        assert!(matches!(
            check_preamble(&flagged),
            Err(Error::Format { offset: 12, .. })
        ));
        assert!(matches!(
            check_preamble(&good[..10]),
            Err(Error::Format { offset: 8, .. })
        ));
        assert!(matches!(
            check_preamble(&good[..3]),
            Err(Error::Format { offset: 0, .. })
        ));
    }

    #[test]
    fn footer_round_trips_and_checks_consistency() {
        let footer = Footer {
            header_offset: 64,
            header_len: 10,
            header_crc32c: 0xABCD,
        };
        let mut file = vec![0u8; 74];
        file.extend_from_slice(&footer.to_bytes());
        assert_eq!(Footer::read(&file).unwrap(), footer);
        // One byte more between header and footer breaks the offset equation.
        let mut longer = vec![0u8; 75];
        longer.extend_from_slice(&footer.to_bytes());
        assert!(matches!(
            Footer::read(&longer),
            Err(Error::Format { offset: 75, .. })
        ));
        let mut truncated = file.clone();
        truncated.pop();
        assert!(matches!(
            Footer::read(&truncated),
            Err(Error::Format { .. })
        ));
        assert!(matches!(
            Footer::read(&file[..5]),
            Err(Error::Format { offset: 0, .. })
        ));
        let huge = Footer {
            header_offset: 64,
            header_len: MAX_HEADER_LEN + 1,
            header_crc32c: 0,
        };
        let mut file = vec![0u8; 64];
        file.extend_from_slice(&huge.to_bytes());
        assert!(matches!(
            Footer::read(&file),
            Err(Error::LimitExceeded { .. })
        ));
    }
}
