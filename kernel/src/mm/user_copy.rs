//! Checked copies between the kernel and the current process's memory.
//!
//! A user pointer is checked before use (not null, below the end of the
//! user half, no wrap-around), and the copy itself survives unmapped and
//! read-only pages: every failure is `abi::Error::BadPointer`, never a
//! kernel fault.

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

/// Copies user memory at `ptr` into `buf`.
pub fn read(ptr: u64, buf: &mut [u8]) -> Result<(), Error> {
    check_range(ptr, buf.len())?;
    // SAFETY: `buf` is a live kernel buffer of `buf.len()` writable bytes;
    // the source range lies in the user half (checked above), where faults
    // come back as errors.
    unsafe { user_copy::copy(buf.as_mut_ptr(), ptr as *const u8, buf.len()) }
        .map_err(|_| Error::BadPointer)
}

/// Copies `data` to user memory at `ptr`.
pub fn write(ptr: u64, data: &[u8]) -> Result<(), Error> {
    check_range(ptr, data.len())?;
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

/// Copies a plain ABI structure to user memory at `ptr`.
pub fn write_value<T: Plain>(ptr: u64, value: &T) -> Result<(), Error> {
    // SAFETY: `T: Plain` promises a `#[repr(C)]` integer struct without
    // padding, so all `size_of::<T>()` bytes are initialised.
    let bytes = unsafe {
        core::slice::from_raw_parts(value as *const T as *const u8, core::mem::size_of::<T>())
    };
    write(ptr, bytes)
}
