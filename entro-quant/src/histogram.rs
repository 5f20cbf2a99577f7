//! Code histogram, counted in batches while the codes are in cache.

/// Histogram counts kept in four interleaved tables so that runs of equal codes
/// do not serialise on one counter (store-to-load forwarding stalls).
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    tables: Box<[[u32; 256]; 4]>,
    pending: usize,
    totals: [u64; 256],
}

/// Flush the u32 tables well before any counter could overflow.
const FLUSH_AFTER: usize = 1 << 30;

impl Histogram {
    pub(crate) fn new() -> Self {
        Histogram {
            tables: Box::new([[0; 256]; 4]),
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
            for (total, count) in self.totals.iter_mut().zip(table.iter_mut()) {
                *total += u64::from(*count);
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
        let mut histogram = Histogram::new();
        histogram.count(&codes[..5000]);
        histogram.count(&codes[5000..]);
        histogram.add(3, 10);
        let counts = histogram.finish();
        let mut expected = [0u64; 256];
        for &code in &codes {
            expected[usize::from(code)] += 1;
        }
        expected[3] += 10;
        assert_eq!(counts, expected);
    }
}
