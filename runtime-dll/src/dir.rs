//! Paths rather than streams: `GetFileInfo` and `ReadDirectory` (the
//! native interface to FILE_INFO and READ_DIRECTORY), and C's `remove`,
//! `rename`, `mkdir`, `_mkdir` and `access`.
//!
//! A path under `/disk/` goes to the kernel whole; any other names a boot
//! file by its last component ([`crt::stdio::boot_name`]), and boot files
//! are read-only (`EROFS`).

use crate::file::{c_result, c_str, errno_of};
use abi::{nr, DirectoryEntry, FileInfo};
use core::ffi::{c_char, c_int, c_uint};
use crt::stdio::errno::{self, Errno};
use crt::stdio::{boot_name, on_disk};
use ferrite_sys::call;

/// A C path as the kernel names it.
///
/// # Safety
/// `path` must be null or NUL-terminated, and outlive the result.
unsafe fn kernel_name<'a>(path: *const c_char) -> Result<&'a [u8], Errno> {
    // SAFETY: the caller's contract.
    let path = unsafe { c_str(path) }.ok_or(errno::EINVAL)?;
    let name = boot_name(path)?;
    if name.len() as u64 > abi::MAX_FILE_NAME {
        return Err(errno::ENAMETOOLONG);
    }
    Ok(name)
}

/// The kernel's description of `name`.
fn info(name: &[u8]) -> Result<FileInfo, abi::Error> {
    let mut out = FileInfo::default();
    let args = [
        name.as_ptr() as u64,
        name.len() as u64,
        &mut out as *mut FileInfo as u64,
        0,
        0,
    ];
    // SAFETY: FILE_INFO reads the name and writes one FileInfo into `out`.
    unsafe { call(nr::FILE_INFO, args) }.map(|_| out)
}

/// A path-only call (DELETE_FILE, CREATE_DIRECTORY) on `name`.
fn path_call(number: u64, name: &[u8]) -> Result<(), Errno> {
    let args = [name.as_ptr() as u64, name.len() as u64, 0, 0, 0];
    // SAFETY: the call only reads the name.
    unsafe { call(number, args) }.map(|_| ()).map_err(errno_of)
}

/// A status for the native exports: 0, or `-(abi::Error)`.
fn status(r: Result<(), abi::Error>) -> i32 {
    r.map_or_else(|e| -(e as i32), |()| 0)
}

/// Describes the file or directory at `path` (a NUL-terminated kernel
/// name: `/disk/<volume>/<path>`, `/boot/<name>`, `/`, ...): 0, or
/// `-(abi::Error)` (`NotFound` -6, `BadPointer` -1 ...).
///
/// # Safety
/// `path` must be null or NUL-terminated; `out` is checked by the kernel.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn GetFileInfo(path: *const c_char, out: *mut FileInfo) -> i32 {
    // SAFETY: the caller's contract.
    let Some(name) = (unsafe { c_str(path) }) else {
        return -(abi::Error::InvalidArgument as i32);
    };
    let args = [name.as_ptr() as u64, name.len() as u64, out as u64, 0, 0];
    // SAFETY: FILE_INFO reads the name; the kernel checks `out`.
    status(unsafe { call(nr::FILE_INFO, args) }.map(|_| ()))
}

/// Fills `*out` with entry `index` of the directory at `path`: 0, or
/// `-(abi::Error)` (`NotFound`, -6, past the last entry). List a
/// directory by counting `index` up from 0 until it says `NotFound`.
///
/// # Safety
/// `path` must be null or NUL-terminated; `out` is checked by the kernel.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ReadDirectory(
    path: *const c_char,
    index: u32,
    out: *mut DirectoryEntry,
) -> i32 {
    // SAFETY: the caller's contract.
    let Some(name) = (unsafe { c_str(path) }) else {
        return -(abi::Error::InvalidArgument as i32);
    };
    let args = [
        name.as_ptr() as u64,
        name.len() as u64,
        u64::from(index),
        out as u64,
        0,
    ];
    // SAFETY: READ_DIRECTORY reads the name; the kernel checks `out`.
    status(unsafe { call(nr::READ_DIRECTORY, args) }.map(|_| ()))
}

/// `int remove(const char *path)`: deletes a disk file or empty directory;
/// 0, or -1 with `errno` (`EROFS` for a boot file, `EACCES` while a stream
/// has it open, `ENOENT`).
///
/// # Safety
/// `path` must be null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn remove(path: *const c_char) -> c_int {
    // SAFETY: the caller's contract.
    let r = unsafe { kernel_name(path) }.and_then(|name| {
        if on_disk(name) {
            path_call(nr::DELETE_FILE, name)
        } else {
            info(name).map_err(errno_of)?;
            Err(errno::EROFS)
        }
    });
    c_result(r.map(|()| 0), -1)
}

/// `int rename(const char *from, const char *to)`: renames or moves a disk
/// file or directory within its volume, replacing a file at `to` (POSIX's
/// rule); 0, or -1 with `errno` (`EROFS` for a boot file on either side,
/// `EACCES` while a stream has either file open, `ENOENT`, `EEXIST` for a
/// directory in the way, `EINVAL` across volumes or into itself).
///
/// # Safety
/// Both must be null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rename(from: *const c_char, to: *const c_char) -> c_int {
    // SAFETY: the caller's contract, for both.
    let names = unsafe { kernel_name(from) }.and_then(|f| Ok((f, unsafe { kernel_name(to) }?)));
    let r = names.and_then(|(from, to)| {
        if on_disk(from) && on_disk(to) {
            let args = [
                from.as_ptr() as u64,
                from.len() as u64,
                to.as_ptr() as u64,
                to.len() as u64,
                0,
            ];
            // SAFETY: the call only reads the two names.
            unsafe { call(nr::RENAME_FILE, args) }
                .map(|_| 0)
                .map_err(errno_of)
        } else {
            info(from).map_err(errno_of)?;
            Err(errno::EROFS)
        }
    });
    c_result(r, -1)
}

/// `int mkdir(const char *path, mode_t mode)` (POSIX's, which DOOM calls;
/// the mode is ignored): makes a directory on a disk volume; 0, or -1 with
/// `errno` (`EEXIST`, `ENOENT` for a missing parent, `EROFS` outside
/// `/disk/`).
///
/// # Safety
/// `path` must be null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mkdir(path: *const c_char, _mode: c_uint) -> c_int {
    // SAFETY: the caller's contract.
    let r = unsafe { kernel_name(path) }.and_then(|name| {
        if on_disk(name) {
            path_call(nr::CREATE_DIRECTORY, name)
        } else {
            Err(errno::EROFS)
        }
    });
    c_result(r.map(|()| 0), -1)
}

/// `int _mkdir(const char *path)` (MSVC's): as [`mkdir`].
///
/// # Safety
/// As for [`mkdir`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _mkdir(path: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { mkdir(path, 0) }
}

/// `int access(const char *path, int mode)`: 0 if the file or directory
/// exists and allows `mode` (0 existence, 4 read, 2 write; 1, execute, is
/// never allowed); -1 with `ENOENT`, or `EACCES` for writing a boot file or
/// a read-only disk file.
///
/// # Safety
/// `path` must be null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn access(path: *const c_char, mode: c_int) -> c_int {
    // SAFETY: the caller's contract.
    let r = unsafe { kernel_name(path) }.and_then(|name| {
        let i = info(name).map_err(errno_of)?;
        let read_only = i.flags & abi::file_flags::READ_ONLY != 0;
        if mode & 1 != 0 || (mode & 2 != 0 && read_only) {
            Err(errno::EACCES)
        } else {
            Ok(0)
        }
    });
    c_result(r, -1)
}
