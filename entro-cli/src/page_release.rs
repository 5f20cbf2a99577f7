//! Tells the kernel that a memory-mapped tensor will not be read again, so that
//! compressing a checkpoint larger than memory keeps the resident set at about
//! one tensor. File-backed pages of a map count toward the resident set until
//! the kernel reclaims them, which it otherwise does only under memory pressure.

/// Drops the resident pages that lie wholly inside `bytes`. Only a hint: it
/// never changes what `bytes` reads, and failures (old kernels, other
/// platforms) are ignored.
#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "madvise is a raw system call; entro-format's checkpoint reader has no page-release method yet"
)]
pub(crate) fn release(bytes: &[u8]) {
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let Ok(page) = usize::try_from(page) else {
        return;
    };
    if page == 0 || !page.is_power_of_two() {
        return;
    }
    let start = (bytes.as_ptr() as usize).next_multiple_of(page);
    let end = (bytes.as_ptr() as usize).saturating_add(bytes.len()) & !(page - 1);
    if end <= start {
        return;
    }
    // SAFETY: [start, end) is a page-aligned range inside `bytes`, which is
    // mapped for as long as the borrow lives. MADV_PAGEOUT only asks the kernel
    // to reclaim the pages: their contents are preserved (clean file pages are
    // re-read from the file, anonymous ones swapped or left alone), so no Rust
    // reference can observe a change, unlike MADV_DONTNEED, which would zero
    // anonymous memory.
    let _ = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
}

/// Nothing to do where the map's pages are not charged this way, or no hint exists.
#[cfg(not(target_os = "linux"))]
pub(crate) fn release(_bytes: &[u8]) {}
