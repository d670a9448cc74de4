//! Files: the boot files (the loader's modules), each named by the last
//! component of its path, read-only; and the FAT volumes on disks
//! ([`volumes`]), which the kernel reads and writes (system calls for them
//! come next).
#![forbid(unsafe_code)]

use crate::boot;
use abi::Error;
use core::sync::atomic::{AtomicU64, Ordering};

pub mod volumes;

/// An open file: the bytes and a position (one per handle object).
///
/// Two threads reading through one handle at once may both read from the
/// same position (the position is not locked across the copy); each read
/// is still whole and in bounds.
pub struct OpenFile {
    name: &'static str,
    data: &'static [u8],
    position: AtomicU64,
}

/// Whether `name` is one a boot file can have: 1 ..= MAX_FILE_NAME bytes,
/// no directory separator, no NUL.
fn valid_name(name: &str) -> bool {
    (1..=abi::MAX_FILE_NAME as usize).contains(&name.len())
        && !name.bytes().any(|b| b == b'/' || b == b'\\' || b == 0)
}

impl OpenFile {
    /// Opens the boot file called `name` (ASCII case ignored).
    pub fn open(name: &str) -> Result<Self, Error> {
        if !valid_name(name) {
            return Err(Error::InvalidArgument);
        }
        let info = boot::info().ok_or(Error::NotFound)?;
        let module = info
            .modules
            .iter()
            .find(|m| m.file_name().eq_ignore_ascii_case(name))
            .ok_or(Error::NotFound)?;
        let data: &'static [u8] = match &module.data {
            alloc::borrow::Cow::Borrowed(bytes) => bytes,
            // Modules stay where the loader put them (see `BootFile`).
            alloc::borrow::Cow::Owned(_) => return Err(Error::NotFound),
        };
        Ok(Self {
            name: module.file_name(),
            data,
            position: AtomicU64::new(0),
        })
    }

    /// The file's name as the boot volume spells it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// The bytes from the position on (at most `max`), and the position
    /// after them; the caller copies, then [`advance`](Self::advance)s.
    pub fn peek(&self, max: u64) -> (&'static [u8], u64) {
        let at = self.position.load(Ordering::Relaxed);
        let start = at.min(self.size()) as usize;
        let end = (start as u64).saturating_add(max).min(self.size()) as usize;
        (
            &self.data[start..end],
            at.saturating_add((end - start) as u64),
        )
    }

    /// Sets the position after a read.
    pub fn advance(&self, to: u64) {
        self.position.store(to, Ordering::Relaxed);
    }

    /// Moves the position (C's `fseek` rules; past the end is allowed).
    pub fn seek(&self, offset: i64, whence: u64) -> Result<u64, Error> {
        let base = match whence {
            abi::seek::SET => 0,
            abi::seek::CURRENT => self.position.load(Ordering::Relaxed),
            abi::seek::END => self.size(),
            _ => return Err(Error::InvalidArgument),
        };
        let to = base
            .checked_add_signed(offset)
            .filter(|&p| p <= i64::MAX as u64)
            .ok_or(Error::InvalidArgument)?;
        self.position.store(to, Ordering::Relaxed);
        Ok(to)
    }
}
