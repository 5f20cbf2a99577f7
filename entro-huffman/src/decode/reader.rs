//! A 64-bit little-endian bit reader over one stream of a chunk.
//!
//! The refill loads eight bytes at once and advances only over the bytes that fit whole, so it needs
//! no loop and no branch on the bit count (the "branchless refill" described by Fabian Giesen). Bits
//! above `count` in `buf` are the partially loaded next byte: the next refill ORs in the same
//! bits there, so they are never wrong.
//!
//! The reader may load bytes past its own stream (from the next stream of the same chunk); that is
//! harmless because decoding a valid stream never consumes them, and [`StreamReader::consumed_bits`]
//! reveals any stream that did. Past the end of the chunk it reads zero bits.

/// Reader state of one stream. Positions are byte offsets into the chunk.
#[derive(Debug, Clone)]
pub(super) struct StreamReader {
    /// Bit window; bit 0 is the next unread bit.
    pub(super) buf: u64,
    /// Valid bits in `buf` that belong to whole loaded bytes.
    pub(super) count: u32,
    /// Next byte to load.
    pub(super) pos: usize,
    /// First byte of the stream.
    pub(super) start: usize,
    /// One past the last byte of the stream.
    pub(super) end: usize,
}

impl StreamReader {
    pub(super) fn new(start: usize, end: usize) -> Self {
        Self {
            buf: 0,
            count: 0,
            pos: start,
            start,
            end,
        }
    }

    /// Tops the window up to at least 56 valid bits if eight bytes can be loaded; returns false (and
    /// changes nothing) near the end of the chunk.
    #[inline(always)]
    pub(super) fn refill_fast(&mut self, chunk: &[u8]) -> bool {
        let Some(bytes) = chunk.get(self.pos..self.pos + 8) else {
            return false;
        };
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        self.buf |= u64::from_le_bytes(word) << self.count;
        self.pos += ((63 - self.count) >> 3) as usize;
        self.count |= 56;
        true
    }

    /// Byte-at-a-time refill for the last bytes of the chunk; past its end it reads zeros.
    #[inline(never)]
    pub(super) fn refill_slow(&mut self, chunk: &[u8]) {
        while self.count <= 56 {
            let byte = chunk.get(self.pos).copied().unwrap_or(0);
            self.buf |= u64::from(byte) << self.count;
            self.count += 8;
            self.pos += 1;
        }
    }

    /// Guarantees at least 56 valid bits.
    #[inline]
    pub(super) fn refill(&mut self, chunk: &[u8]) {
        if !self.refill_fast(chunk) {
            self.refill_slow(chunk);
        }
    }

    /// Drops `bits` bits (at most `count`).
    #[inline(always)]
    pub(super) fn consume(&mut self, bits: u32) {
        self.buf >>= bits;
        self.count -= bits;
    }

    /// Position of the next unread bit, counted from the start of the chunk.
    pub(super) fn bit_position(&self) -> u64 {
        self.pos as u64 * 8 - u64::from(self.count)
    }

    /// Continues reading at `bit_position` (counted from the start of the chunk).
    pub(super) fn seek(&mut self, chunk: &[u8], bit_position: u64) {
        self.pos = usize::try_from(bit_position / 8).unwrap_or(usize::MAX);
        self.buf = 0;
        self.count = 0;
        self.refill(chunk);
        self.consume((bit_position % 8) as u32);
    }

    /// Bits consumed since the start of the stream.
    pub(super) fn consumed_bits(&self) -> u64 {
        (self.pos - self.start) as u64 * 8 - u64::from(self.count)
    }

    /// Bits in the stream.
    pub(super) fn total_bits(&self) -> u64 {
        (self.end - self.start) as u64 * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bits_lsb_first_and_tracks_consumption() {
        let chunk: Vec<u8> = (0..20u8).collect();
        let mut reader = StreamReader::new(2, 20);
        reader.refill(&chunk);
        assert!(reader.count >= 56);
        assert_eq!(reader.buf & 0xff, 2);
        reader.consume(12);
        assert_eq!(reader.buf & 0xf, 0); // high nibble of byte 3
        assert_eq!(reader.consumed_bits(), 12);
        for _ in 0..20 {
            reader.refill(&chunk);
            reader.consume(reader.count.min(13));
        }
        // Past the end of the chunk only zeros come in.
        reader.refill(&chunk);
        assert_eq!(reader.buf, 0);
        assert!(reader.consumed_bits() > reader.total_bits());
    }

    #[test]
    fn fast_and_slow_refills_agree() {
        let chunk: Vec<u8> = (0..64u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        for step in 1..=15u32 {
            let mut fast = StreamReader::new(0, 64);
            let mut slow = StreamReader::new(0, 64);
            for _ in 0..30 {
                fast.refill(&chunk);
                slow.refill_slow(&chunk);
                let mask = (1u64 << step) - 1;
                assert_eq!(fast.buf & mask, slow.buf & mask);
                fast.consume(step);
                slow.consume(step);
                assert_eq!(fast.consumed_bits(), slow.consumed_bits());
            }
        }
    }
}
