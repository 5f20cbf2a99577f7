//! Finding a grid that reproduces a block exactly: every element equal to
//! `round(offset + k * step)` for an integer `k`, with `offset` and `step` f16 values.
//!
//! Checkpoints dequantized from GGUF block formats have exactly this structure (Q4_0, Q4_1, Q5_0,
//! Q5_1 and Q8_0 store an f16 scale and offset per 32 weights), so a block costs its 4-bit or 8-bit
//! grid indices and 32 bits of parameters instead of full-precision values. Any other data simply
//! finds no grid. The search is a heuristic; the encoder keeps a grid only after checking every
//! element, with the same arithmetic the decoder uses.

use half::f16;

use super::layout::FloatLayout;

/// Elements per block.
pub(crate) const BLOCK: usize = 32;

/// The value of grid point `k`; encoder and decoder must compute it the same way. Rust never fuses
/// the multiply and add, so this is the same on every platform.
#[inline(always)]
pub(crate) fn grid_value(offset: f32, step: f32, k: u8) -> f32 {
    offset + f32::from(k) * step
}

/// A grid found for a block, and every element's index on it.
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    /// f16 bits of the offset.
    pub(crate) offset: u16,
    /// f16 bits of the step.
    pub(crate) step: u16,
    /// Whether some index needs more than 4 bits.
    pub(crate) wide: bool,
    pub(crate) indices: [u8; BLOCK],
}

/// Grid shapes tried, after the GGUF block formats.
#[derive(Debug, Clone, Copy)]
enum Family {
    /// `k = 0` at the block minimum, `k = top` at its maximum (Q4_1, Q5_1).
    FromMin { top: u8 },
    /// `offset = -zero * step` (Q4_0, Q5_0: the largest magnitude at `k = 0`; Q8_0: at `k = 1` or
    /// `k = 255`).
    Centred { zero: u8, top: u8 },
}

const FAMILIES: [Family; 5] = [
    Family::FromMin { top: 15 },
    Family::Centred { zero: 8, top: 15 },
    Family::FromMin { top: 31 },
    Family::Centred { zero: 16, top: 31 },
    Family::Centred {
        zero: 128,
        top: 255,
    },
];

/// f16 candidates tried on either side of an estimated offset.
const OFFSET_RADIUS: i32 = 12;

/// Looks for a grid reproducing the `BLOCK` elements in `block` bit for bit.
pub(crate) fn fit_block(layout: FloatLayout, block: &[u8]) -> Option<Fit> {
    let mut bits = [0u32; BLOCK];
    let mut values = [0f32; BLOCK];
    for ((element, bits), value) in block
        .chunks_exact(layout.element_bytes())
        .zip(&mut bits)
        .zip(&mut values)
    {
        *bits = layout.read_bits(element);
        *value = layout.to_f32(*bits);
        if !value.is_finite() {
            return None;
        }
    }
    let block = Block::new(layout, bits, values);
    FAMILIES.iter().find_map(|&family| block.fit(family))
}

struct Block {
    layout: FloatLayout,
    bits: [u32; BLOCK],
    values: [f32; BLOCK],
    distinct: usize,
    min: usize,
    max: usize,
    largest: usize,
}

impl Block {
    fn new(layout: FloatLayout, bits: [u32; BLOCK], values: [f32; BLOCK]) -> Self {
        let mut sorted = bits;
        sorted.sort_unstable();
        let distinct = 1 + sorted.windows(2).filter(|pair| pair[0] != pair[1]).count();
        let by = |better: fn(f32, f32) -> bool| {
            (1..BLOCK).fold(0, |best, i| {
                if better(values[i], values[best]) {
                    i
                } else {
                    best
                }
            })
        };
        Self {
            layout,
            bits,
            values,
            distinct,
            min: by(|a, b| a < b),
            max: by(|a, b| a > b),
            largest: by(|a, b| a.abs() > b.abs()),
        }
    }

    fn fit(&self, family: Family) -> Option<Fit> {
        match family {
            Family::FromMin { top } => {
                if self.distinct > usize::from(top) + 1 {
                    return None;
                }
                let (low, high) = self.interval(self.max);
                let top_f32 = f32::from(top);
                around(
                    f16::from_f32(self.values[self.min]).to_bits(),
                    OFFSET_RADIUS,
                )
                .filter(|&offset| {
                    self.layout.round(f16::from_bits(offset).to_f32()) == self.bits[self.min]
                })
                .find_map(|offset| {
                    let start = f16::from_bits(offset).to_f32();
                    between((low - start) / top_f32, (high - start) / top_f32)
                        .find_map(|step| self.check(offset, step, top))
                })
            }
            Family::Centred { zero, top } => {
                if self.distinct > usize::from(top) + 1 {
                    return None;
                }
                let (low, high) = self.interval(self.largest);
                let (low, high) = (low.abs().min(high.abs()), low.abs().max(high.abs()));
                let sign = -self.values[self.largest].signum();
                // The largest magnitude sits at `k = 2 * zero - 1` or `k = 1` (Q8_0: d =
                // amax / 127), or at `k = 0` (Q4_0, Q5_0: d = max / -8 or / -16).
                let zero_f32 = f32::from(zero);
                let steps = between(low / (zero_f32 - 1.0), high / (zero_f32 - 1.0))
                    .chain(between(sign * low / zero_f32, sign * high / zero_f32));
                steps.into_iter().find_map(|step| {
                    let offset = -zero_f32 * f16::from_bits(step).to_f32();
                    let offset_f16 = f16::from_f32(offset);
                    (offset_f16.to_f32() == offset)
                        .then(|| self.check(offset_f16.to_bits(), step, top))
                        .flatten()
                })
            }
        }
    }

    /// The real values that round to element `index`, approximately (halfway to its neighbours).
    fn interval(&self, index: usize) -> (f32, f32) {
        let bits = self.bits[index];
        let value = self.values[index];
        let neighbour = |bits: Option<u32>| {
            bits.map(|bits| self.layout.to_f32(bits))
                .filter(|neighbour| neighbour.is_finite())
                .map_or(value, |neighbour| (neighbour + value) / 2.0)
        };
        let below = neighbour(bits.checked_sub(1));
        // Finite elements are below the infinities, so `bits + 1` never leaves the layout.
        let above = neighbour(bits.checked_add(1));
        (below.min(above), below.max(above))
    }

    /// The fit with these parameters, if every element lies on the grid within `0..=top`.
    fn check(&self, offset: u16, step: u16, top: u8) -> Option<Fit> {
        let (start, stride) = (
            f16::from_bits(offset).to_f32(),
            f16::from_bits(step).to_f32(),
        );
        let mut indices = [0u8; BLOCK];
        for ((index, &value), &bits) in indices.iter_mut().zip(&self.values).zip(&self.bits) {
            let guess = if stride == 0.0 {
                0.0
            } else {
                ((f64::from(value) - f64::from(start)) / f64::from(stride)).round()
            };
            if !(-1.0..=f64::from(top) + 1.0).contains(&guess) {
                return None;
            }
            #[expect(
                clippy::cast_possible_truncation,
                reason = "a whole number within -1..=256, so the conversion is exact"
            )]
            let guess = guess as i32;
            *index = [guess, guess - 1, guess + 1]
                .into_iter()
                .filter_map(|k| u8::try_from(k).ok().filter(|&k| k <= top))
                .find(|&k| self.layout.round(grid_value(start, stride, k)) == bits)?;
        }
        Some(Fit {
            offset,
            step,
            wide: indices.iter().any(|&k| k > 15),
            indices,
        })
    }
}

/// Most f16 step candidates tried for one estimate.
const MAX_STEPS: i32 = 48;

/// Finite f16 bit patterns from just below `low` to just above `high` (at most [`MAX_STEPS`]).
fn between(low: f32, high: f32) -> impl Iterator<Item = u16> {
    let (low, high) = (
        key(f16::from_f32(low).to_bits()),
        key(f16::from_f32(high).to_bits()),
    );
    let (low, high) = (low.min(high) - 1, low.max(high) + 1);
    (low..=high.min(low + MAX_STEPS)).filter_map(from_key)
}

/// Position of an f16 bit pattern in value order (-0 and +0 share 0).
fn key(bits: u16) -> i32 {
    let magnitude = i32::from(bits & 0x7fff);
    if bits & 0x8000 == 0 {
        magnitude
    } else {
        -magnitude
    }
}

/// The finite f16 bit pattern at a [`key`] position.
fn from_key(key: i32) -> Option<u16> {
    let magnitude = u16::try_from(key.unsigned_abs()).ok()?;
    // 0x7c00 and above are infinities and NaNs.
    (magnitude < 0x7c00).then_some(if key < 0 {
        0x8000 | magnitude
    } else {
        magnitude
    })
}

/// Finite f16 bit patterns within `radius` of `center` in value order, nearest first.
fn around(center: u16, radius: i32) -> impl Iterator<Item = u16> {
    let center = key(center);
    (0..=2 * radius).filter_map(move |i| {
        let delta = if i % 2 == 0 { i / 2 } else { -(i + 1) / 2 };
        from_key(center + delta)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bf16_block(values: impl Fn(usize) -> f32) -> Vec<u8> {
        (0..BLOCK)
            .flat_map(|i| half::bf16::from_f32(values(i)).to_bits().to_le_bytes())
            .collect()
    }

    #[test]
    fn dequantized_blocks_are_found() {
        // Q4_1: f16 scale and minimum, codes 0..=15 with both ends used.
        let (d, m) = (
            f16::from_f32(0.0479).to_f32(),
            f16::from_f32(-0.3281).to_f32(),
        );
        let codes = |i: usize| [0, 15, 3, 7, 7, 9, 1, 12][i % 8] as f32;
        let q4_1 = bf16_block(|i| codes(i) * d + m);
        let fit = fit_block(FloatLayout::BF16, &q4_1).expect("q4_1 block");
        assert!(!fit.wide);
        // Q8_0: f16 scale, codes -127..=127.
        let d = f16::from_f32(0.000_913).to_f32();
        let q8_0 = bf16_block(|i| ((i * 37 % 255) as f32 - 127.0) * d);
        let fit = fit_block(FloatLayout::BF16, &q8_0).expect("q8_0 block");
        assert!(fit.wide);
        for (i, &k) in fit.indices.iter().enumerate() {
            let offset = f16::from_bits(fit.offset).to_f32();
            let value = grid_value(offset, f16::from_bits(fit.step).to_f32(), k);
            let bits = FloatLayout::BF16.round(value);
            assert_eq!(bits, FloatLayout::BF16.read_bits(&q8_0[2 * i..]));
        }
    }

    #[test]
    fn ordinary_weights_find_no_grid() {
        let weights = bf16_block(|i| ((i * 7919 % 1000) as f32 - 500.0) * 1.37e-5 + 1e-7);
        assert!(fit_block(FloatLayout::BF16, &weights).is_none());
        let mut nan = bf16_block(|_| 0.5);
        nan[0..2].copy_from_slice(&0x7fc0u16.to_le_bytes());
        assert!(fit_block(FloatLayout::BF16, &nan).is_none());
    }

    #[test]
    fn candidates_cross_zero_and_skip_infinities() {
        let near_zero: Vec<u16> = around(0x0001, 2).collect();
        assert_eq!(near_zero, [0x0001, 0x0000, 0x0002, 0x8001, 0x0003]);
        assert!(around(0x7bff, 3).all(|bits| bits & 0x7fff < 0x7c00));
    }
}
