//! Compact codebook serialization: code lengths only, in whichever of three layouts is smallest.
//!
//! Byte 0 holds the alphabet tag (low nibble) and the layout tag (high nibble). Then:
//! - layout 0, sparse: a count `m` (one byte, at most 255), then `m` pairs `(symbol, length)` in
//!   strictly increasing symbol order: `2 + 2m` bytes;
//! - layout 1, dense: 128 bytes, the length of symbol `2i` in the low nibble of byte `i` and of
//!   symbol `2i + 1` in its high nibble: 129 bytes;
//! - layout 2, bitmap: 32 bytes marking the used symbols (bit `s % 8` of byte `s / 8`), then their
//!   lengths as nibbles in symbol order, low nibble first: `33 + ceil(m / 2)` bytes.
//!
//! Reading validates everything: lengths over [`MAX_CODE_LENGTH`], over-subscribed and incomplete sets
//! are errors.

use crate::{Alphabet, Codebook, CodebookError, MAX_CODE_LENGTH};

const LAYOUT_SPARSE: u8 = 0;
const LAYOUT_DENSE: u8 = 1;
const LAYOUT_BITMAP: u8 = 2;
const DENSE_LEN: usize = 1 + 128;
const BITMAP_BYTES: usize = 32;

impl Codebook {
    /// Appends the compact serialized form to `out` ([`Codebook::serialized_len`] bytes).
    pub fn to_bytes(&self, out: &mut Vec<u8>) {
        let lengths = self.lengths();
        let layout = best_layout(self.symbol_count());
        out.push(self.alphabet().tag() | layout << 4);
        match layout {
            LAYOUT_SPARSE => {
                // best_layout picks sparse only for at most 20 symbols.
                out.push(u8::try_from(self.symbol_count()).unwrap_or(u8::MAX));
                for (symbol, &len) in (0..=255u8).zip(lengths) {
                    if len > 0 {
                        out.extend_from_slice(&[symbol, len]);
                    }
                }
            }
            LAYOUT_DENSE => {
                out.extend(lengths.chunks_exact(2).map(|pair| pair[0] | pair[1] << 4));
            }
            _ => {
                let mut bitmap = [0u8; BITMAP_BYTES];
                for (symbol, &len) in lengths.iter().enumerate() {
                    if len > 0 {
                        bitmap[symbol / 8] |= 1 << (symbol % 8);
                    }
                }
                out.extend_from_slice(&bitmap);
                let used: Vec<u8> = lengths.iter().copied().filter(|&len| len > 0).collect();
                out.extend(
                    used.chunks(2)
                        .map(|pair| pair[0] | pair.get(1).copied().unwrap_or(0) << 4),
                );
            }
        }
    }

    /// Size in bytes of [`Codebook::to_bytes`]'s output.
    pub fn serialized_len(&self) -> usize {
        layout_len(best_layout(self.symbol_count()), self.symbol_count())
    }

    /// Reads a codebook written by [`Codebook::to_bytes`] from the start of `bytes`, returning it and
    /// the number of bytes it took. Trailing bytes are left alone.
    ///
    /// # Errors
    /// A [`CodebookError`] naming what is wrong: truncated input, unknown tags, a length over
    /// [`MAX_CODE_LENGTH`], or lengths that are over-subscribed or incomplete.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Self, usize), CodebookError> {
        let header = *bytes.first().ok_or(CodebookError::Truncated {
            needed: 1,
            found: 0,
        })?;
        let alphabet = Alphabet::from_tag(header & 0x0f)
            .ok_or(CodebookError::UnknownAlphabet { tag: header & 0x0f })?;
        let mut lengths = [0u8; 256];
        let consumed = match header >> 4 {
            LAYOUT_SPARSE => read_sparse(bytes, &mut lengths)?,
            LAYOUT_DENSE => {
                let body = take(bytes, 1, 128)?;
                for (pair, &byte) in lengths.chunks_exact_mut(2).zip(body) {
                    pair[0] = byte & 0x0f;
                    pair[1] = byte >> 4;
                }
                DENSE_LEN
            }
            LAYOUT_BITMAP => read_bitmap(bytes, &mut lengths)?,
            tag => return Err(CodebookError::UnknownLayout { tag }),
        };
        let codebook = Self::from_lengths(alphabet, lengths)?;
        Ok((codebook, consumed))
    }
}

fn layout_len(layout: u8, symbols: usize) -> usize {
    match layout {
        LAYOUT_SPARSE => 2 + 2 * symbols,
        LAYOUT_DENSE => DENSE_LEN,
        _ => 1 + BITMAP_BYTES + symbols.div_ceil(2),
    }
}

fn best_layout(symbols: usize) -> u8 {
    [LAYOUT_SPARSE, LAYOUT_BITMAP, LAYOUT_DENSE]
        .into_iter()
        .filter(|&layout| layout != LAYOUT_SPARSE || symbols <= 255)
        .min_by_key(|&layout| layout_len(layout, symbols))
        .unwrap_or(LAYOUT_DENSE)
}

/// `bytes[start..start + len]`, or the truncation error saying how much was needed.
fn take(bytes: &[u8], start: usize, len: usize) -> Result<&[u8], CodebookError> {
    bytes
        .get(start..start + len)
        .ok_or(CodebookError::Truncated {
            needed: start + len,
            found: bytes.len(),
        })
}

fn read_sparse(bytes: &[u8], lengths: &mut [u8; 256]) -> Result<usize, CodebookError> {
    let count = usize::from(take(bytes, 1, 1)?[0]);
    let entries = take(bytes, 2, 2 * count)?;
    let mut previous: Option<u8> = None;
    for (index, entry) in entries.chunks_exact(2).enumerate() {
        let (symbol, length) = (entry[0], entry[1]);
        if let Some(previous) = previous.filter(|&previous| symbol <= previous) {
            return Err(CodebookError::UnorderedSymbol {
                index,
                symbol,
                previous,
            });
        }
        if length == 0 {
            return Err(CodebookError::ZeroLengthListed { index, symbol });
        }
        if length > MAX_CODE_LENGTH {
            return Err(CodebookError::LengthOverLimit {
                symbol,
                length,
                limit: MAX_CODE_LENGTH,
            });
        }
        lengths[usize::from(symbol)] = length;
        previous = Some(symbol);
    }
    Ok(2 + 2 * count)
}

fn read_bitmap(bytes: &[u8], lengths: &mut [u8; 256]) -> Result<usize, CodebookError> {
    let bitmap = take(bytes, 1, BITMAP_BYTES)?;
    let used: Vec<u8> = (0..=255u8)
        .filter(|&symbol| bitmap[usize::from(symbol / 8)] >> (symbol % 8) & 1 == 1)
        .collect();
    let nibbles = take(bytes, 1 + BITMAP_BYTES, used.len().div_ceil(2))?;
    for (index, &symbol) in used.iter().enumerate() {
        let length = nibbles[index / 2] >> (4 * (index % 2)) & 0x0f;
        if length == 0 {
            return Err(CodebookError::ZeroLengthListed { index, symbol });
        }
        lengths[usize::from(symbol)] = length;
    }
    Ok(1 + BITMAP_BYTES + nibbles.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codebook_with(symbols: usize) -> Codebook {
        let codes: Vec<u8> = (0..symbols * 3)
            .map(|i| u8::try_from(i % symbols).unwrap())
            .collect();
        Codebook::build(&codes, Alphabet::Bytes, MAX_CODE_LENGTH).unwrap()
    }

    #[test]
    fn every_layout_round_trips() {
        for symbols in [0usize, 1, 2, 20, 21, 100, 191, 192, 256] {
            let codebook = if symbols == 0 {
                Codebook::build(&[], Alphabet::NibblePairs, 11).unwrap()
            } else {
                codebook_with(symbols)
            };
            let mut bytes = vec![0xAA];
            codebook.to_bytes(&mut bytes);
            assert_eq!(bytes.len() - 1, codebook.serialized_len());
            bytes.push(0x55);
            let (read, used) = Codebook::from_bytes(&bytes[1..]).unwrap();
            assert_eq!(read, codebook);
            assert_eq!(used, codebook.serialized_len());
        }
        assert_eq!(codebook_with(256).serialized_len(), 129);
        assert_eq!(codebook_with(100).serialized_len(), 83);
        assert_eq!(codebook_with(10).serialized_len(), 22);
    }

    #[test]
    fn every_truncation_is_an_error() {
        for symbols in [2usize, 50, 256] {
            let mut bytes = Vec::new();
            codebook_with(symbols).to_bytes(&mut bytes);
            for cut in 0..bytes.len() {
                let err = Codebook::from_bytes(&bytes[..cut]).unwrap_err();
                assert!(matches!(err, CodebookError::Truncated { found, .. } if found == cut));
            }
        }
    }

    #[test]
    fn corrupt_codebooks_give_exact_variants() {
        let sparse = |entries: &[(u8, u8)]| {
            let mut bytes = vec![LAYOUT_SPARSE << 4, u8::try_from(entries.len()).unwrap()];
            for &(symbol, len) in entries {
                bytes.extend_from_slice(&[symbol, len]);
            }
            Codebook::from_bytes(&bytes)
        };
        assert!(matches!(
            sparse(&[(1, 1), (2, 1), (3, 1)]),
            Err(CodebookError::OverSubscribed { .. })
        ));
        assert!(matches!(
            sparse(&[(1, 1), (2, 2)]),
            Err(CodebookError::Incomplete { .. })
        ));
        assert!(matches!(
            sparse(&[(1, 1), (2, 16)]),
            Err(CodebookError::LengthOverLimit {
                symbol: 2,
                length: 16,
                ..
            })
        ));
        assert!(matches!(
            sparse(&[(2, 1), (2, 1)]),
            Err(CodebookError::UnorderedSymbol {
                index: 1,
                symbol: 2,
                previous: 2
            })
        ));
        assert!(matches!(
            sparse(&[(2, 1), (3, 0)]),
            Err(CodebookError::ZeroLengthListed {
                index: 1,
                symbol: 3
            })
        ));
        assert!(matches!(
            Codebook::from_bytes(&[0x02, 0]),
            Err(CodebookError::UnknownAlphabet { tag: 2 })
        ));
        assert!(matches!(
            Codebook::from_bytes(&[0x30, 0]),
            Err(CodebookError::UnknownLayout { tag: 3 })
        ));
        let mut dense = vec![LAYOUT_DENSE << 4];
        dense.extend(std::iter::repeat_n(0x11, 128));
        assert!(matches!(
            Codebook::from_bytes(&dense),
            Err(CodebookError::OverSubscribed { .. })
        ));
        let mut bitmap = vec![LAYOUT_BITMAP << 4, 0b11];
        bitmap.extend([0u8; 31]);
        bitmap.push(0x01);
        assert!(matches!(
            Codebook::from_bytes(&bitmap),
            Err(CodebookError::ZeroLengthListed {
                index: 1,
                symbol: 1
            })
        ));
    }
}
