//! A cursor over chunk bytes whose every read is bounds-checked.

use super::LosslessError;

/// Reads fields front to back; errors name the byte offset of the field.
#[derive(Debug)]
pub(crate) struct ChunkReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> ChunkReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Offset of the next unread byte.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }

    /// The next `len` bytes.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], LosslessError> {
        let rest = self.rest();
        let taken = rest.get(..len).ok_or(LosslessError::Truncated {
            offset: self.pos,
            needed: len,
            found: rest.len(),
        })?;
        self.pos += len;
        Ok(taken)
    }

    /// Skips `len` bytes that were parsed elsewhere (at most what is left).
    pub(crate) fn skip(&mut self, len: usize) -> Result<(), LosslessError> {
        self.take(len).map(|_| ())
    }

    pub(crate) fn u8(&mut self) -> Result<u8, LosslessError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, LosslessError> {
        let mut word = [0u8; 4];
        word.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_reports_truncation_offsets() {
        let mut reader = ChunkReader::new(&[1, 2, 0, 0, 0, 9]);
        assert_eq!(reader.u8().unwrap(), 1);
        assert_eq!(reader.u32().unwrap(), 2);
        assert_eq!(reader.offset(), 5);
        assert!(matches!(
            reader.u32(),
            Err(LosslessError::Truncated {
                offset: 5,
                needed: 4,
                found: 1
            })
        ));
        assert_eq!(reader.rest(), [9]);
    }
}
