//! Drivers around the hot loops: resuming after long codes, finishing streams exactly, and the final
//! checks on every stream.

use std::sync::OnceLock;

use super::kernel;
use super::lane::Lane;
use super::reader::StreamReader;
use super::table::{
    ElementShape, Entries, LongCodes, TABLE_BITS, build_entries_from_words, entry_bits,
    entry_codes, symbol_words, table_index,
};
use super::wide_kernel::{self, WideTable};
use crate::chunk::NARROW_STREAMS;
use crate::{Alphabet, Codebook, DecodeError};

/// What decoding a non-empty codebook needs: the vector loop's table where it runs, and the scalar
/// loops' tables, built on first use. A wide chunk whose streams all hold whole blocks (every
/// full chunk of the default size, for one) never needs the scalar tables, and building them
/// takes about as long as decoding 50 000 codes.
#[derive(Clone, Debug)]
pub(super) struct Tables {
    /// Longest code length in the codebook.
    pub(super) max_len: u8,
    /// The vector loop's table, where the codebook and the CPU allow it.
    pub(super) wide: Option<WideTable>,
    scalar: OnceLock<ScalarTables>,
    codebook: Codebook,
    /// The output elements of each symbol, packed like an entry's value bits.
    symbol_words: Box<[u64; 256]>,
    shape: ElementShape,
}

impl Tables {
    /// The tables of a codebook whose output elements are `values[code]`; `None` for the empty
    /// codebook.
    pub(super) fn build<T: Lane>(codebook: &Codebook, values: &[T; 256]) -> Option<Self> {
        if codebook.is_empty() {
            return None;
        }
        Some(Self {
            max_len: codebook.max_length(),
            wide: WideTable::build(codebook, values),
            scalar: OnceLock::new(),
            codebook: codebook.clone(),
            symbol_words: symbol_words(codebook.alphabet(), values),
            shape: ElementShape::of::<T>(),
        })
    }

    /// The scalar loops' tables, built on the first call.
    pub(super) fn scalar(&self) -> &ScalarTables {
        self.scalar.get_or_init(|| {
            ScalarTables::new(&self.codebook, self.symbol_words.clone(), self.shape)
        })
    }

    /// Runs the vector loop over the first `rows` full rows of a wide chunk whose output is `out`,
    /// where the loop is available, until a row would read past the chunk; returns the codes each
    /// stream decoded (0 without the loop), and leaves its reader after them.
    pub(super) fn drive_wide<T: Lane>(
        &self,
        chunk: &[u8],
        readers: &mut [StreamReader],
        out: &mut [T],
        rows: usize,
    ) -> usize {
        self.wide.as_ref().map_or(0, |wide| {
            wide_kernel::decode(wide, chunk, readers, out, rows)
        })
    }
}

/// The scalar loops' tables.
#[derive(Clone, Debug)]
pub(super) struct ScalarTables {
    pub(super) alphabet: Alphabet,
    pub(super) entries: Box<Entries>,
    pub(super) long: LongCodes,
    /// Longest code length in the codebook.
    pub(super) max_len: u8,
    /// Most codes any entry (or long code) produces, at least 1.
    pub(super) max_entry_codes: usize,
    /// The output elements of each symbol, packed like an entry's value bits.
    pub(super) symbol_words: Box<[u64; 256]>,
}

impl ScalarTables {
    fn new(codebook: &Codebook, symbol_words: Box<[u64; 256]>, shape: ElementShape) -> Self {
        let alphabet = codebook.alphabet();
        let entries = build_entries_from_words(codebook, &symbol_words, shape);
        let widest = entries.iter().map(|&entry| entry_codes(entry)).max();
        Self {
            alphabet,
            long: LongCodes::new(codebook),
            max_len: codebook.max_length(),
            max_entry_codes: widest.unwrap_or(0).max(alphabet.codes_per_symbol()),
            symbol_words,
            entries,
        }
    }

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
        u64::from(bits) | codes << 8 | self.symbol_words[usize::from(symbol)] << 16
    }

    /// Runs the four-stream loop until one stream nears `limits[k]` codes or the end of the chunk.
    /// Stores may touch up to 8 bytes past the last code written, inside `outs[k]`.
    pub(super) fn drive4<T: Lane>(
        &self,
        chunk: &[u8],
        readers: &mut [StreamReader; NARROW_STREAMS],
        outs: [&mut [T]; NARROW_STREAMS],
        limits: [usize; NARROW_STREAMS],
        pos: &mut [usize; NARROW_STREAMS],
    ) {
        kernel::decode4(self, chunk, readers, outs, limits, pos);
    }

    /// Single-stream version of [`Self::drive4`].
    pub(super) fn drive1<T: Lane>(
        &self,
        chunk: &[u8],
        reader: &mut StreamReader,
        out: &mut [T],
        limit: usize,
        pos: &mut usize,
    ) {
        kernel::decode1(self, chunk, reader, out, limit, pos);
    }

    /// Decodes exactly `out.len()` codes, a symbol at a time where a whole entry would not fit.
    /// Works anywhere in the chunk, including its last bytes.
    pub(super) fn decode_exact<T: Lane>(
        &self,
        chunk: &[u8],
        reader: &mut StreamReader,
        out: &mut [T],
    ) {
        let mut pos = 0;
        while pos < out.len() {
            if reader.count < u32::from(crate::MAX_CODE_LENGTH) {
                reader.refill(chunk);
            }
            let entry = self.entries[table_index(reader.buf)];
            let left = out.len() - pos;
            let codes = entry_codes(entry);
            let (word, written, bits) = if codes == 0 || codes > left {
                // A code longer than the table, or only the entry's first symbol fits: search the
                // canonical code for one symbol.
                let min_len = if codes == 0 { TABLE_BITS + 1 } else { 1 };
                let (symbol, bits) = self.long.decode_from(reader.buf, min_len);
                let written = self.alphabet.codes_per_symbol().min(left);
                (self.symbol_words[usize::from(symbol)], written, bits)
            } else {
                (entry >> 16, codes, entry_bits(entry))
            };
            // `written` is at least 1, so the loop always advances.
            for (slot, index) in out[pos..pos + written].iter_mut().zip(0..) {
                *slot = T::nth(word, index);
            }
            pos += written;
            reader.consume(bits);
        }
    }
}

/// Checks that every stream ended exactly on its last byte with zero padding.
pub(super) fn finish(chunk_index: usize, readers: &[StreamReader]) -> Result<(), DecodeError> {
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
