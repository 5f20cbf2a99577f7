//! Drivers around the hot loops: resuming after long codes, finishing streams exactly, and the final
//! checks on every stream.

use super::kernel;
use super::reader::StreamReader;
use super::table::{Entries, LongCodes, TABLE_BITS, TABLE_SIZE, entry_bits, entry_codes};
use crate::chunk::STREAMS;
use crate::{Alphabet, DecodeError};

/// What decoding a non-empty codebook needs.
#[derive(Clone, Debug)]
pub(super) struct Tables {
    pub(super) alphabet: Alphabet,
    pub(super) entries: Box<Entries>,
    pub(super) long: LongCodes,
}

impl Tables {
    /// Runs the four-stream loop, decoding long codes in between, until it stops for another reason
    /// (output room, end of chunk). Writes at most `limits[k]` codes to `outs[k]` past `pos[k]`; the
    /// loop itself never writes past `outs[k].len() - 2` codes (see the kernel).
    pub(super) fn drive4(
        &self,
        chunk: &[u8],
        readers: &mut [StreamReader; STREAMS],
        outs: [&mut [u8]; STREAMS],
        limits: [usize; STREAMS],
        pos: &mut [usize; STREAMS],
    ) {
        let [o0, o1, o2, o3] = outs;
        loop {
            kernel::decode4(
                &self.entries,
                chunk,
                readers,
                [&mut *o0, &mut *o1, &mut *o2, &mut *o3],
                pos,
            );
            let mut resumed = false;
            for (k, out) in [&mut *o0, &mut *o1, &mut *o2, &mut *o3]
                .into_iter()
                .enumerate()
            {
                resumed |= self.long_symbol(chunk, &mut readers[k], out, limits[k], &mut pos[k]);
            }
            if !resumed {
                return;
            }
        }
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
        loop {
            kernel::decode1(&self.entries, chunk, reader, out, pos);
            if !self.long_symbol(chunk, reader, out, limit, pos) {
                return;
            }
        }
    }

    /// If the next code is longer than the table and there is room, decodes it; returns whether it did.
    fn long_symbol(
        &self,
        chunk: &[u8],
        reader: &mut StreamReader,
        out: &mut [u8],
        limit: usize,
        pos: &mut usize,
    ) -> bool {
        let count = self
            .alphabet
            .codes_per_symbol()
            .min(limit.saturating_sub(*pos));
        if count == 0 {
            return false;
        }
        if reader.count < TABLE_BITS {
            reader.refill(chunk);
        }
        if entry_codes(self.entries[(reader.buf as usize) & (TABLE_SIZE - 1)]) != 0 {
            return false;
        }
        match out.get_mut(*pos..*pos + count) {
            Some(dst) => {
                self.decode_exact(chunk, reader, dst);
                *pos += count;
                true
            }
            None => false,
        }
    }

    /// Decodes exactly `out.len()` codes, a symbol at a time where a whole entry would not fit.
    /// Works anywhere in the chunk, including its last bytes.
    pub(super) fn decode_exact(&self, chunk: &[u8], reader: &mut StreamReader, out: &mut [u8]) {
        let mut pos = 0;
        while pos < out.len() {
            if reader.count < u32::from(crate::MAX_CODE_LENGTH) {
                reader.refill(chunk);
            }
            let entry = self.entries[(reader.buf as usize) & (TABLE_SIZE - 1)];
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
