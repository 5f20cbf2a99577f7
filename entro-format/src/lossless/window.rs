//! The exponent window of plainly coded elements: how the top 16 bits of an element become a
//! plane 0 symbol and a rest field, how the encoder picks the window, and how the decoder joins
//! them back (see the plain module for the layout).

use entro_huffman::Histogram;

use super::layout::low_u16;
use super::plane::plan_bytes;

/// Largest `k` a chunk may use.
pub(crate) const MAX_K: u8 = 7;

/// The `k` the encoder tries. More mantissa bits in plane 0 hardly shrink it (they no longer depend
/// on the exponent) but make its symbols longer and slower to decode; 4 leaves 4-bit rest fields,
/// whose unpacking vectorizes, and 0 leaves whole bytes.
const ENCODED_K: [u8; 2] = [0, 4];

/// What the encoder charges an escape, in bits: its 8 stored bits and the pass that patches it.
const ESCAPE_BITS: u64 = 16;

/// A window of exponent bytes for one `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) k: u8,
    pub(crate) base: u8,
}

impl Window {
    /// Window slots; the next value marks an escape.
    pub(crate) fn slots(self) -> u16 {
        (1u16 << (8 - self.k)) - 1
    }

    /// Plane 0 symbol of `top`, and whether it escapes.
    pub(crate) fn symbol(self, top: u16) -> (u8, bool) {
        let x = top >> 7 & 0xff;
        let offset = x.wrapping_sub(u16::from(self.base));
        let escaped = x < u16::from(self.base) || offset >= self.slots();
        let slot = if escaped { self.slots() } else { offset };
        let y_top = (top & 0x7f) >> (7 - self.k);
        (
            low_u16(u32::from(slot << self.k | y_top)).to_le_bytes()[0],
            escaped,
        )
    }

    /// The rest field of `top`: sign and low `7 - k` bits.
    pub(crate) fn rest(self, top: u16) -> u8 {
        let low_bits = 7 - self.k;
        let sign = top >> 15;
        low_u16(u32::from(sign << low_bits | (top & ((1 << low_bits) - 1)))).to_le_bytes()[0]
    }
}

/// The window giving the smallest plane 0, escapes and rest, estimated from symbol counts.
pub(crate) fn best_window(tops: &[u16]) -> Window {
    let mut counts = vec![0u64; 1 << 16];
    for &top in tops {
        counts[usize::from(top)] += 1;
    }
    let mut x_counts = [0u64; 256];
    for (top, &count) in (0..=u16::MAX).zip(&counts) {
        x_counts[usize::from(top >> 7 & 0xff)] += count;
    }
    let total: u64 = x_counts.iter().sum();
    // Windows end at the largest x present, or where the elements above are fewer than 1/10^4 or
    // 1/10^3 of all: tiny values (near zero) rather than the largest ones should escape.
    let end_at = |share: u64| {
        let mut above = 0u64;
        (0..=255u8).rev().find(|&x| {
            above += x_counts[usize::from(x)];
            above > 0 && above * share >= total
        })
    };
    let mut ends: Vec<u8> = [u64::MAX, 10_000, 1000]
        .into_iter()
        .filter_map(|share| end_at(share.min(total.max(1))))
        .collect();
    ends.dedup();
    let mut best: Option<(u64, Window)> = None;
    for k in ENCODED_K {
        for &end in &ends {
            let slots = (1u16 << (8 - k)) - 1;
            let base = u8::try_from(u16::from(end).saturating_sub(slots - 1)).unwrap_or(0);
            let window = Window { k, base };
            let mut symbols = [0u64; 256];
            let mut escapes = 0u64;
            for (top, &count) in (0..=u16::MAX).zip(&counts) {
                if count > 0 {
                    let (symbol, escaped) = window.symbol(top);
                    symbols[usize::from(symbol)] += count;
                    escapes += u64::from(escaped) * count;
                }
            }
            let plane = plan_bytes(&Histogram::from_counts(symbols)).bytes;
            let bits = plane * 8 + escapes * ESCAPE_BITS + total * u64::from(8 - k);
            if best.is_none_or(|(best_bits, _)| bits < best_bits) {
                best = Some((bits, window));
            }
        }
    }
    best.map_or(Window { k: 0, base: 0 }, |(_, window)| window)
}

/// Escape symbols are the top `2^k` values (the last slot).
pub(crate) fn is_escape(window: Window, symbol: u8) -> bool {
    u16::from(symbol) >= window.slots() << window.k
}

/// Rebuilds the top 16 bits from a plane 0 symbol and a rest field with shifts and masks only,
/// so that the loops using it vectorize. Escaped elements get a wrong x, patched afterwards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Joiner {
    k: u32,
    low_bits: u32,
    base: u16,
    k_mask: u16,
    low_mask: u16,
}

impl Joiner {
    pub(crate) fn new(window: Window) -> Self {
        let k = u32::from(window.k);
        let low_bits = 7 - k;
        Self {
            k,
            low_bits,
            base: u16::from(window.base),
            k_mask: (1 << k) - 1,
            low_mask: (1 << low_bits) - 1,
        }
    }

    #[inline(always)]
    pub(crate) fn top(self, symbol: u8, rest: u8) -> u16 {
        let (symbol, rest) = (u16::from(symbol), u16::from(rest));
        let x = ((symbol >> self.k) + self.base) & 0xff;
        x << 7
            | (symbol & self.k_mask) << self.low_bits
            | (rest >> self.low_bits) << 15
            | (rest & self.low_mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_window_rebuilds_every_top_half() {
        for k in 0..=MAX_K {
            for base in [0u8, 1, 100, 120, 255] {
                let window = Window { k, base };
                let joiner = Joiner::new(window);
                for top in 0..=u16::MAX {
                    let (symbol, escaped) = window.symbol(top);
                    let rest = window.rest(top);
                    assert!(u16::from(rest) < 1 << (8 - k));
                    let mut rebuilt = joiner.top(symbol, rest);
                    assert_eq!(escaped, is_escape(window, symbol));
                    if escaped {
                        rebuilt = (rebuilt & 0x807f) | (top & 0x7f80);
                    }
                    assert_eq!(rebuilt, top, "k {k}, base {base}");
                }
            }
        }
    }

    #[test]
    fn windows_cover_the_large_exponents() {
        // Exponents 100..=126 and a few zeros: k = 3 leaves 31 slots, enough for all but zero.
        let tops: Vec<u16> = (0..10_000u32)
            .map(|i| {
                if i % 1000 == 0 {
                    0
                } else {
                    low_u16(((100 + i % 27) << 7) | (i % 128))
                }
            })
            .collect();
        let window = best_window(&tops);
        let escapes = tops.iter().filter(|&&top| window.symbol(top).1).count();
        assert!(escapes <= 10, "{window:?} escapes {escapes}");
    }
}
