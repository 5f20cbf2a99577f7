//! Drivers around the hot loops: resuming after long codes, finishing streams exactly, and the final
//! checks on every stream.

use super::kernel;
use super::reader::StreamReader;
use super::table::{Entries, LongCodes, TABLE_BITS, entry_bits, entry_codes, table_index};
use crate::chunk::STREAMS;
use crate::{Alphabet, DecodeError};

/// What decoding a non-empty codebook needs.
#[derive(Clone, Debug)]
pub(super) struct Tables {
    pub(super) alphabet: Alphabet,
    pub(super) entries: Box<Entries>,
    pub(super) long: LongCodes,
    /// Longest code length in the codebook.
    pub(super) max_len: u8,
    /// Most codes any entry (or long code) produces, at least 1.
    pub(super) max_entry_codes: usize,
}

impl Tables {
    /// Whether some code is longer than the primary table (the hot loop must check for them).
    pub(super) fn has_long_codes(&self) -> bool {
        u32::from(self.max_len) > TABLE_BITS
    }

    /// A one-symbol table entry for a code longer than the primary table, read from the low bits
    /// of `window`.
    #[cold]
    #[inline(never)]
    pub(super) fn long_entry(&self, window: u64) -> u64 {
        let (symbol, bits) = self.long.decode(window);
        let codes = self.alphabet.codes_per_symbol() as u64;
        u64::from(bits) | codes << 8 | u64::from_le_bytes(self.symbol_bytes(symbol)) << 16
    }

    /// Runs the four-stream loop until one stream nears `limits[k]` codes or the end of the chunk.
    /// Stores may touch up to 8 bytes past the last code written, inside `outs[k]`.
    pub(super) fn drive4(
        &self,
        chunk: &[u8],
        readers: &mut [StreamReader; STREAMS],
        outs: [&mut [u8]; STREAMS],
        limits: [usize; STREAMS],
        pos: &mut [usize; STREAMS],
    ) {
        kernel::decode4(self, chunk, readers, outs, limits, pos);
    }

    /// Single-stream version of [`Self::drive4`].
    pub(super) fn drive1(
        &self,
        chunk: &[u8],
        reader: &mut StreamReader,
        out: &mut [u8],
        limit: usize,
        pos: &mut usize,
    ) {
        kernel::decode1(self, chunk, reader, out, limit, pos);
    }

    /// Decodes exactly `out.len()` codes, a symbol at a time where a whole entry would not fit.
    /// Works anywhere in the chunk, including its last bytes.
    pub(super) fn decode_exact(&self, chunk: &[u8], reader: &mut StreamReader, out: &mut [u8]) {
        let mut pos = 0;
        while pos < out.len() {
            if reader.count < u32::from(crate::MAX_CODE_LENGTH) {
                reader.refill(chunk);
            }
            let entry = self.entries[table_index(reader.buf)];
            let left = out.len() - pos;
            let codes = entry_codes(entry);
            let (bytes, written, bits) = if codes == 0 {
                let (symbol, bits) = self.long.decode(reader.buf);
                (
                    self.symbol_bytes(symbol),
                    self.alphabet.codes_per_symbol().min(left),
                    bits,
                )
            } else if codes <= left {
                ((entry >> 16).to_le_bytes(), codes, entry_bits(entry))
            } else {
                // Only the first symbol fits; its length is what the table says for it alone.
                let bytes = (entry >> 16).to_le_bytes();
                let symbol = match self.alphabet {
                    Alphabet::Bytes => bytes[0],
                    Alphabet::NibblePairs => bytes[0] << 4 | bytes[1],
                };
                (
                    bytes,
                    self.alphabet.codes_per_symbol().min(left),
                    self.first_len(symbol),
                )
            };
            // `written` is at least 1, so the loop always advances.
            out[pos..pos + written].copy_from_slice(&bytes[..written]);
            pos += written;
            reader.consume(bits);
        }
    }

    /// The output codes of one symbol, as the first bytes of an array.
    fn symbol_bytes(&self, symbol: u8) -> [u8; 8] {
        match self.alphabet {
            Alphabet::Bytes => [symbol, 0, 0, 0, 0, 0, 0, 0],
            Alphabet::NibblePairs => [symbol >> 4, symbol & 0x0f, 0, 0, 0, 0, 0, 0],
        }
    }

    /// Code length of a symbol that sits in the primary table, read back from its own entry.
    fn first_len(&self, symbol: u8) -> u32 {
        self.long.length(symbol)
    }
}

/// Checks that every stream ended exactly on its last byte with zero padding.
pub(super) fn finish(
    chunk_index: usize,
    readers: &[StreamReader; STREAMS],
) -> Result<(), DecodeError> {
    for (stream, reader) in readers.iter().enumerate() {
        let (consumed, total) = (reader.consumed_bits(), reader.total_bits());
        let base = reader.start as u64 * 8;
        if consumed > total {
            return Err(DecodeError::StreamOverrun {
                chunk: chunk_index,
                stream,
                bit_offset: base + total,
            });
        }
        let padding = total - consumed;
        // With fewer than 8 bits left the last byte has been loaded, so `buf` holds the padding.
        if padding >= 8 || reader.buf & ((1u64 << padding) - 1) != 0 {
            return Err(DecodeError::TrailingData {
                chunk: chunk_index,
                stream,
                bit_offset: base + consumed,
            });
        }
    }
    Ok(())
}
