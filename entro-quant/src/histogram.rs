//! Code histogram, counted in batches while the codes are in cache.

/// Histogram counts kept in four interleaved tables so that runs of equal codes
/// do not serialise on one counter (store-to-load forwarding stalls).
///
/// Codes of 4 bits or fewer are counted in pairs (`first << 4 | second`, one
/// increment per two codes); the spiky low-bit distributions, where most codes
/// hit the same few counters, then spread over up to 256 counters instead of 16.
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    tables: Box<[[u32; 256]; 4]>,
    pairs: bool,
    pending: usize,
    totals: [u64; 256],
}

/// Flush the u32 tables well before any counter could overflow.
const FLUSH_AFTER: usize = 1 << 30;

impl Histogram {
    /// A histogram for codes below `2^bits`.
    pub(crate) fn new(bits: u8) -> Self {
        Histogram {
            tables: Box::new([[0; 256]; 4]),
            pairs: bits <= 4,
            pending: 0,
            totals: [0; 256],
        }
    }

    pub(crate) fn count(&mut self, codes: &[u8]) {
        if self.pending + codes.len() > FLUSH_AFTER {
            self.flush();
        }
        self.pending += codes.len();
        let [t0, t1, t2, t3] = &mut *self.tables;
        if self.pairs {
            let pair = |two: &[u8]| usize::from(two[0] << 4 | two[1]);
            let mut octets = codes.chunks_exact(8);
            for octet in &mut octets {
                t0[pair(&octet[0..2])] += 1;
                t1[pair(&octet[2..4])] += 1;
                t2[pair(&octet[4..6])] += 1;
                t3[pair(&octet[6..8])] += 1;
            }
            for &code in octets.remainder() {
                self.totals[usize::from(code)] += 1;
            }
            return;
        }
        let mut quads = codes.chunks_exact(4);
        for quad in &mut quads {
            t0[usize::from(quad[0])] += 1;
            t1[usize::from(quad[1])] += 1;
            t2[usize::from(quad[2])] += 1;
            t3[usize::from(quad[3])] += 1;
        }
        for &code in quads.remainder() {
            t0[usize::from(code)] += 1;
        }
    }

    pub(crate) fn add(&mut self, code: u8, count: usize) {
        self.totals[usize::from(code)] += count as u64;
    }

    fn flush(&mut self) {
        for table in self.tables.iter_mut() {
            for (index, count) in table.iter_mut().enumerate() {
                let n = u64::from(*count);
                if self.pairs {
                    self.totals[index >> 4] += n;
                    self.totals[index & 15] += n;
                } else {
                    self.totals[index] += n;
                }
                *count = 0;
            }
        }
        self.pending = 0;
    }

    pub(crate) fn finish(mut self) -> [u64; 256] {
        self.flush();
        self.totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_every_code() {
        let codes: Vec<u8> = (0..10_007u32).map(|i| (i * i % 251) as u8).collect();
        for (bits, codes) in [
            (8, codes.clone()),
            (4, codes.iter().map(|c| c % 16).collect()),
        ] {
            let mut histogram = Histogram::new(bits);
            histogram.count(&codes[..5003]);
            histogram.count(&codes[5003..]);
            histogram.add(3, 10);
            let counts = histogram.finish();
            let mut expected = [0u64; 256];
            for &code in &codes {
                expected[usize::from(code)] += 1;
            }
            expected[3] += 10;
            assert_eq!(counts, expected, "{bits} bits");
        }
    }
}
