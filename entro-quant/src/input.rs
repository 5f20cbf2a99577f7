//! Borrowed weight slices in any of the three float formats, read as f32.

use std::ops::Range;

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

/// Elements widened to f32 at a time; also the longest run the kernels see,
/// which bounds their per-run accumulators.
pub(crate) const PIECE: usize = 4096;

/// Weights to quantize, borrowed in their stored format.
#[derive(Debug, Clone, Copy)]
pub enum FloatSlice<'a> {
    /// Single precision.
    F32(&'a [f32]),
    /// IEEE half precision.
    F16(&'a [f16]),
    /// bfloat16.
    BF16(&'a [bf16]),
}

/// Destination of dequantized weights, in the format wanted.
#[derive(Debug)]
pub enum FloatSliceMut<'a> {
    /// Single precision.
    F32(&'a mut [f32]),
    /// IEEE half precision, rounded to nearest from the f32 value.
    F16(&'a mut [f16]),
    /// bfloat16, rounded to nearest from the f32 value.
    BF16(&'a mut [bf16]),
}

impl FloatSlice<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            FloatSlice::F32(values) => values.len(),
            FloatSlice::F16(values) => values.len(),
            FloatSlice::BF16(values) => values.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `index` widened to f32, or `None` when out of range.
    pub fn get(&self, index: usize) -> Option<f32> {
        match self {
            FloatSlice::F32(values) => values.get(index).copied(),
            FloatSlice::F16(values) => values.get(index).map(|v| v.to_f32()),
            FloatSlice::BF16(values) => values.get(index).map(|v| v.to_f32()),
        }
    }

    /// Calls `visit(start, values)` for consecutive pieces of `range` of at most
    /// [`PIECE`] elements, widened to f32 (F32 input is passed through without a
    /// copy). A range beyond the slice is cut at its end.
    pub(crate) fn for_each_piece(
        &self,
        range: Range<usize>,
        scratch: &mut Vec<f32>,
        mut visit: impl FnMut(usize, &[f32]),
    ) {
        let end = range.end.min(self.len());
        let mut start = range.start;
        while start < end {
            let piece_end = end.min(start.saturating_add(PIECE));
            match self {
                FloatSlice::F32(values) => visit(start, &values[start..piece_end]),
                FloatSlice::F16(values) => {
                    let source = &values[start..piece_end];
                    scratch.resize(source.len(), 0.0);
                    source.convert_to_f32_slice(scratch);
                    visit(start, scratch);
                }
                FloatSlice::BF16(values) => {
                    let source = &values[start..piece_end];
                    scratch.resize(source.len(), 0.0);
                    source.convert_to_f32_slice(scratch);
                    visit(start, scratch);
                }
            }
            start = piece_end;
        }
    }
}

impl FloatSliceMut<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            FloatSliceMut::F32(values) => values.len(),
            FloatSliceMut::F16(values) => values.len(),
            FloatSliceMut::BF16(values) => values.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> From<&'a [f32]> for FloatSlice<'a> {
    fn from(values: &'a [f32]) -> Self {
        FloatSlice::F32(values)
    }
}

impl<'a> From<&'a [f16]> for FloatSlice<'a> {
    fn from(values: &'a [f16]) -> Self {
        FloatSlice::F16(values)
    }
}

impl<'a> From<&'a [bf16]> for FloatSlice<'a> {
    fn from(values: &'a [bf16]) -> Self {
        FloatSlice::BF16(values)
    }
}

impl<'a> From<&'a mut [f32]> for FloatSliceMut<'a> {
    fn from(values: &'a mut [f32]) -> Self {
        FloatSliceMut::F32(values)
    }
}

impl<'a> From<&'a mut [f16]> for FloatSliceMut<'a> {
    fn from(values: &'a mut [f16]) -> Self {
        FloatSliceMut::F16(values)
    }
}

impl<'a> From<&'a mut [bf16]> for FloatSliceMut<'a> {
    fn from(values: &'a mut [bf16]) -> Self {
        FloatSliceMut::BF16(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_range_in_every_format() {
        let values: Vec<f32> = (0..10_000).map(|i| i as f32 * 0.5).collect();
        let halves: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
        let brains: Vec<bf16> = values.iter().map(|&v| bf16::from_f32(v)).collect();
        let inputs = [
            FloatSlice::from(&values[..]),
            FloatSlice::from(&halves[..]),
            FloatSlice::from(&brains[..]),
        ];
        for input in inputs {
            assert_eq!(input.len(), 10_000);
            let mut seen = Vec::new();
            let mut scratch = Vec::new();
            input.for_each_piece(5..9_999, &mut scratch, |start, piece| {
                assert_eq!(start, 5 + seen.len());
                assert!(piece.len() <= PIECE);
                seen.extend_from_slice(piece);
            });
            assert_eq!(seen.len(), 9_994);
            for (offset, value) in seen.iter().enumerate() {
                assert_eq!(Some(*value), input.get(5 + offset));
            }
            let mut calls = 0;
            input.for_each_piece(9_999..20_000, &mut scratch, |_, piece| {
                calls += 1;
                assert_eq!(piece.len(), 1);
            });
            assert_eq!(calls, 1);
        }
    }
}
