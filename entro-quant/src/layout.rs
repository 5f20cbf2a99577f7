//! Which weights share a scale: rows, groups and block index arithmetic.

use std::ops::Range;

use crate::{Granularity, QuantError};

/// Largest number of blocks a tensor may have. A non-empty row never has more
/// blocks than elements, so this only bounds degenerate shapes with empty rows.
pub const MAX_BLOCKS: usize = u32::MAX as usize;

/// Block geometry of one tensor for one [`Granularity`].
///
/// Every block is a contiguous range of elements (row-major order); see
/// [`Granularity`] for the indexing rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLayout {
    elements: usize,
    row_len: usize,
    group_len: usize,
    groups_per_row: usize,
    blocks: usize,
}

impl BlockLayout {
    /// Computes the layout, checking that the element count fits in `usize`,
    /// the group size is non-zero and the block count is at most [`MAX_BLOCKS`].
    pub fn new(shape: &[usize], granularity: Granularity) -> Result<Self, QuantError> {
        granularity.validate()?;
        let overflow = || QuantError::ShapeOverflow {
            shape: shape.to_vec(),
        };
        let elements = shape
            .iter()
            .try_fold(1usize, |acc, &dim| acc.checked_mul(dim))
            .ok_or_else(overflow)?;
        let (rows, row_len) = match shape.split_first() {
            // The product of the tail cannot overflow when the whole product did not,
            // unless the first dimension is 0; check anyway.
            Some((&rows, rest)) => (
                rows,
                rest.iter()
                    .try_fold(1usize, |acc, &dim| acc.checked_mul(dim))
                    .ok_or_else(overflow)?,
            ),
            None => (1, 1),
        };
        let (row_len, group_len, groups_per_row, row_count) = match granularity {
            Granularity::Tensor => (elements, elements.max(1), 1, 1),
            Granularity::Channel => (row_len, row_len.max(1), 1, rows),
            Granularity::Group(group) => {
                let group = usize::try_from(group).unwrap_or(usize::MAX);
                (row_len, group, row_len.div_ceil(group), rows)
            }
        };
        let blocks = u128::try_from(row_count)
            .ok()
            .zip(u128::try_from(groups_per_row).ok())
            .map(|(rows, per_row)| rows * per_row)
            .unwrap_or(u128::MAX);
        let blocks = usize::try_from(blocks)
            .ok()
            .filter(|&blocks| blocks <= MAX_BLOCKS)
            .ok_or_else(|| QuantError::TooManyBlocks {
                shape: shape.to_vec(),
                blocks,
                limit: MAX_BLOCKS,
            })?;
        Ok(BlockLayout {
            elements,
            row_len,
            group_len,
            groups_per_row,
            blocks,
        })
    }

    /// Number of elements (the product of the shape).
    pub fn elements(&self) -> usize {
        self.elements
    }

    /// Number of blocks, that is of [`BlockParams`](crate::BlockParams) entries.
    pub fn block_count(&self) -> usize {
        self.blocks
    }

    /// Elements per row (the whole tensor for [`Granularity::Tensor`]).
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Nominal block length; the last block of a row may be shorter.
    pub fn block_len(&self) -> usize {
        self.group_len
    }

    /// Blocks per row.
    pub fn blocks_per_row(&self) -> usize {
        self.groups_per_row
    }

    /// Block holding `element`, or `None` when `element` is out of range.
    pub fn block_of(&self, element: usize) -> Option<usize> {
        if element >= self.elements {
            return None;
        }
        // row_len and group_len are non-zero here: the tensor has an element.
        let row = element / self.row_len;
        Some(row * self.groups_per_row + (element % self.row_len) / self.group_len)
    }

    /// Element range of `block`, or `None` when `block` is out of range.
    pub fn block_range(&self, block: usize) -> Option<Range<usize>> {
        if block >= self.blocks {
            return None;
        }
        let row = block / self.groups_per_row;
        let row_start = row * self.row_len;
        let start = row_start + (block % self.groups_per_row) * self.group_len;
        let end = start
            .saturating_add(self.group_len)
            .min(row_start + self.row_len);
        Some(start..end)
    }

    /// Element ranges of all blocks, in order; together they cover every element once.
    pub fn block_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        (0..self.blocks).filter_map(|block| self.block_range(block))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(shape: &[usize], granularity: Granularity) -> BlockLayout {
        BlockLayout::new(shape, granularity).unwrap()
    }

    #[test]
    fn blocks_cover_every_element_in_order() {
        let shapes: [&[usize]; 6] = [&[], &[5], &[3, 7], &[2, 3, 4], &[0, 4], &[4, 0]];
        let granularities = [
            Granularity::Tensor,
            Granularity::Channel,
            Granularity::Group(1),
            Granularity::Group(3),
            Granularity::Group(100),
        ];
        for shape in shapes {
            for granularity in granularities {
                let layout = layout(shape, granularity);
                let mut next = 0;
                for (block, range) in layout.block_ranges().enumerate() {
                    assert_eq!(range.start, next, "{shape:?} {granularity}");
                    for element in range.clone() {
                        assert_eq!(layout.block_of(element), Some(block));
                    }
                    next = range.end;
                }
                assert_eq!(next, layout.elements(), "{shape:?} {granularity}");
                assert_eq!(layout.block_of(layout.elements()), None);
                assert_eq!(layout.block_range(layout.block_count()), None);
            }
        }
    }

    #[test]
    fn block_counts_follow_the_contract() {
        assert_eq!(layout(&[3, 7], Granularity::Tensor).block_count(), 1);
        assert_eq!(layout(&[0, 7], Granularity::Tensor).block_count(), 1);
        assert_eq!(layout(&[3, 7], Granularity::Channel).block_count(), 3);
        assert_eq!(layout(&[4, 0], Granularity::Channel).block_count(), 4);
        assert_eq!(layout(&[3, 7], Granularity::Group(3)).block_count(), 9);
        assert_eq!(layout(&[2, 3, 4], Granularity::Group(5)).block_count(), 6);
        assert_eq!(layout(&[5], Granularity::Channel).block_count(), 5);
        assert_eq!(layout(&[], Granularity::Channel).block_count(), 1);
    }

    #[test]
    fn absurd_shapes_are_errors() {
        let err = BlockLayout::new(&[usize::MAX, 2], Granularity::Tensor).unwrap_err();
        assert!(matches!(err, QuantError::ShapeOverflow { .. }));
        let err = BlockLayout::new(&[usize::MAX, 0], Granularity::Channel).unwrap_err();
        assert!(matches!(err, QuantError::TooManyBlocks { .. }));
        let err = BlockLayout::new(&[2, 2], Granularity::Group(0)).unwrap_err();
        assert!(matches!(err, QuantError::InvalidGroupSize { group: 0 }));
    }
}
