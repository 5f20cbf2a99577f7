//! Reusable decode buffers, so that decoding chunk after chunk on one thread neither allocates
//! nor zeroes nor page-faults for every chunk.

use std::cell::RefCell;

/// Buffers kept per thread between chunks.
const MAX_POOLED: usize = 16;

/// Buffers larger than this are freed after use rather than kept (4 Mi elements of F32).
const MAX_POOLED_BYTES: usize = 16 << 20;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A set of buffers borrowed from this thread's pool for the length of one decode.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    free: Vec<Vec<u8>>,
}

impl Scratch {
    /// Takes this thread's pooled buffers.
    pub(crate) fn from_pool() -> Self {
        Self {
            free: POOL.with(|pool| std::mem::take(&mut *pool.borrow_mut())),
        }
    }

    /// A buffer of `len` bytes with unspecified content.
    pub(crate) fn buffer(&mut self, len: usize) -> Buffer {
        let mut bytes = self
            .free
            .iter()
            .position(|buffer| buffer.len() >= len)
            .map_or_else(Vec::new, |index| self.free.swap_remove(index));
        // Buffers only grow, so a reused one is never zeroed again.
        if bytes.len() < len {
            bytes.resize(len, 0);
        }
        Buffer { bytes, len }
    }

    /// Returns a buffer for reuse.
    pub(crate) fn give_back(&mut self, buffer: Buffer) {
        if buffer.bytes.len() <= MAX_POOLED_BYTES && self.free.len() < MAX_POOLED {
            self.free.push(buffer.bytes);
        }
    }
}

/// A pooled buffer, seen as its first `len` bytes.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    bytes: Vec<u8>,
    len: usize,
}

impl std::ops::Deref for Buffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl std::ops::DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.bytes.get_mut(..self.len).unwrap_or(&mut [])
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let free = std::mem::take(&mut self.free);
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.is_empty() {
                *pool = free;
            }
        });
    }
}

/// Views `bytes` as native 16-bit words if it is aligned and the target is little-endian, so that
/// loops store whole words (and vectors) instead of byte pairs.
pub(crate) fn as_le_u16(bytes: &mut [u8]) -> Option<&mut [u16]> {
    if cfg!(target_endian = "little") {
        bytemuck::try_cast_slice_mut(bytes).ok()
    } else {
        None
    }
}

/// [`as_le_u16`] for 32-bit words.
pub(crate) fn as_le_u32(bytes: &mut [u8]) -> Option<&mut [u32]> {
    if cfg!(target_endian = "little") {
        bytemuck::try_cast_slice_mut(bytes).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_sized_exactly() {
        let mut scratch = Scratch::default();
        let first = scratch.buffer(100);
        let address = first.as_ptr();
        scratch.give_back(first);
        let second = scratch.buffer(60);
        assert_eq!(second.len(), 60);
        assert_eq!(second.as_ptr(), address);
        assert_eq!(scratch.buffer(200).len(), 200);
    }

    #[test]
    fn word_views_need_alignment() {
        let mut words = [0u32; 4];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        assert_eq!(
            as_le_u16(&mut bytes[2..10]).map(|words| words.len()),
            Some(4)
        );
        assert!(as_le_u16(&mut bytes[1..9]).is_none());
        assert_eq!(
            as_le_u32(&mut bytes[4..16]).map(|words| words.len()),
            Some(3)
        );
    }
}
