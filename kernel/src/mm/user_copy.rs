//! Checked copies between the kernel and the current process's memory.
//!
//! The rule for every user buffer: it must lie wholly in the user half
//! (not null, below its end, no wrap-around), and when its length is not
//! zero every page of it must be mapped with the access the call needs.
//! The whole range is checked before a byte is read or written, so a
//! refused call has written nothing. A zero-length buffer needs only a
//! valid user address. The copy itself still survives a page that
//! another thread unmaps meanwhile: every failure is
//! `abi::Error::BadPointer`, never a kernel fault.

use crate::arch::user_copy;
use abi::{Error, ProcessInfo, SystemInfo};

/// Checks that `[ptr, ptr + len)` is a non-null range inside user space.
pub fn check_range(ptr: u64, len: usize) -> Result<(), Error> {
    let end = ptr.checked_add(len as u64).ok_or(Error::BadPointer)?;
    if ptr == 0 || ptr < abi::USER_MIN || end > abi::USER_END {
        return Err(Error::BadPointer);
    }
    Ok(())
}

/// Checks that every page of `[ptr, ptr + len)` is mapped for ring 3 in
/// the current address space, writable too if `write` (as the CPU judges
/// it: at every level of the walk).
pub fn check_mapped(ptr: u64, len: u64, write: bool) -> Result<(), Error> {
    let space = paging::AddressSpace::from_root(
        crate::arch::paging::current_root(),
        paging::KernelHalf::Shared,
    );
    let need = if write {
        paging::Flags::USER | paging::Flags::WRITABLE
    } else {
        paging::Flags::USER
    };
    if space.allows(&super::phys::Hhdm, ptr, len, need) {
        Ok(())
    } else {
        Err(Error::BadPointer)
    }
}

/// Checks a whole user buffer by the module's rule.
pub fn check_buffer(ptr: u64, len: u64, write: bool) -> Result<(), Error> {
    let len_usize = usize::try_from(len).map_err(|_| Error::BadPointer)?;
    check_range(ptr, len_usize)?;
    check_mapped(ptr, len, write)
}

/// Copies user memory at `ptr` into `buf`.
pub fn read(ptr: u64, buf: &mut [u8]) -> Result<(), Error> {
    check_buffer(ptr, buf.len() as u64, false)?;
    // SAFETY: `buf` is a live kernel buffer of `buf.len()` writable bytes;
    // the source range lies in the user half (checked above), where faults
    // come back as errors.
    unsafe { user_copy::copy(buf.as_mut_ptr(), ptr as *const u8, buf.len()) }
        .map_err(|_| Error::BadPointer)
}

/// Copies user memory at `ptr` into `buf`, part of a buffer the caller
/// has already checked whole with [`check_buffer`] (a frame read row by
/// row): the pages are not walked again, only the range rule is applied.
/// A page unmapped since the check still comes back as `BadPointer`.
pub fn read_checked_part(ptr: u64, buf: &mut [u8]) -> Result<(), Error> {
    check_range(ptr, buf.len())?;
    // SAFETY: as in `read`: `buf` is a live kernel buffer of `buf.len()`
    // writable bytes and the source lies in the user half, where faults
    // come back as errors.
    unsafe { user_copy::copy(buf.as_mut_ptr(), ptr as *const u8, buf.len()) }
        .map_err(|_| Error::BadPointer)
}

/// Copies `rows` rows of `len` bytes of user memory, row `i` from
/// `ptr + i * pitch` into `buf` at `i * buf_pitch`, from a buffer the
/// caller has already checked whole with [`check_buffer`] (see
/// [`read_checked_part`]). Rows that do not fit `buf` are refused
/// (`BadPointer`, nothing copied); so is a user side outside user space.
pub fn read_rows_checked_part(
    ptr: u64,
    pitch: u64,
    buf: &mut [u8],
    buf_pitch: usize,
    len: usize,
    rows: usize,
) -> Result<(), Error> {
    if rows == 0 || len == 0 {
        return Ok(());
    }
    // Where the last row ends, for rows `pitch` apart that do not overlap.
    let span = |pitch: usize| {
        if rows > 1 && len > pitch {
            return None;
        }
        (rows - 1).checked_mul(pitch)?.checked_add(len)
    };
    let kernel_end = span(buf_pitch)
        .filter(|&end| end <= buf.len())
        .ok_or(Error::BadPointer)?;
    let user_pitch = usize::try_from(pitch).map_err(|_| Error::BadPointer)?;
    let user_span = span(user_pitch).ok_or(Error::BadPointer)?;
    check_range(ptr, user_span)?;
    let kernel = &mut buf[..kernel_end];
    // SAFETY: every row lies in `kernel` (a live buffer, checked above),
    // rows of distinct offsets not overlapping (len <= pitch); the user
    // rows lie in the user half, where faults come back as errors.
    unsafe {
        user_copy::copy_rows(
            kernel.as_mut_ptr(),
            buf_pitch,
            ptr as *const u8,
            user_pitch,
            len,
            rows,
        )
    }
    .map_err(|_| Error::BadPointer)
}

/// Copies `data` to user memory at `ptr`.
pub fn write(ptr: u64, data: &[u8]) -> Result<(), Error> {
    check_buffer(ptr, data.len() as u64, true)?;
    // SAFETY: `data` is a live kernel buffer; the destination lies in the
    // user half (checked above), where faults (unmapped or read-only
    // pages, CR0.WP is on) come back as errors.
    unsafe { user_copy::copy(ptr as *mut u8, data.as_ptr(), data.len()) }
        .map_err(|_| Error::BadPointer)
}

/// `#[repr(C)]` ABI structures without padding, safe to copy as bytes.
///
/// # Safety
/// Implementors must be `#[repr(C)]`, contain only integers (and arrays of
/// them) and have no padding, so that every byte is initialised.
pub unsafe trait Plain: Copy {}
// SAFETY: four u32 then five u64, no padding (size 56, pinned by the abi
// crate's layout test).
unsafe impl Plain for SystemInfo {}
// SAFETY: seven u64 then [u8; 32], no padding (size 88, pinned likewise).
unsafe impl Plain for ProcessInfo {}
// SAFETY: four u32, two u16, four u8, one u32, then [u8; 32], [u8; 32] and
// [u8; 16]: every field at its natural alignment, no padding (size 108,
// pinned by the abi crate's layout test).
unsafe impl Plain for abi::DeviceRecord {}
// SAFETY: u64, two u32, u64, i64, u32, two i32, u32: every field at its
// natural alignment, no padding (size 48, pinned by the abi crate's test).
unsafe impl Plain for abi::Message {}
// SAFETY: four i32, no padding (size 16, pinned likewise).
unsafe impl Plain for abi::Rect {}
// SAFETY: u64 then two u32, no padding (size 16, pinned likewise).
unsafe impl Plain for abi::FileInfo {}
// SAFETY: u64, two u32, then [u8; 256], no padding (size 272, pinned
// likewise).
unsafe impl Plain for abi::DirectoryEntry {}
// SAFETY: u32, u16, two u8, no padding (size 8, pinned likewise).
unsafe impl Plain for abi::SocketAddress {}

/// Copies a plain ABI structure to user memory at `ptr`.
pub fn write_value<T: Plain>(ptr: u64, value: &T) -> Result<(), Error> {
    // SAFETY: `T: Plain` promises a `#[repr(C)]` integer struct without
    // padding, so all `size_of::<T>()` bytes are initialised.
    let bytes = unsafe {
        core::slice::from_raw_parts(value as *const T as *const u8, core::mem::size_of::<T>())
    };
    write(ptr, bytes)
}
