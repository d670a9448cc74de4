//! Files: one namespace over the boot files and the FAT volumes on disks.
//!
//! A name is either a boot file's (a boot module, named by the last
//! component of its path; `/boot/<name>` names it too), read-only, or a
//! path on a disk volume, `/disk/<volume>/<path>`, where `<volume>` is
//! the partition's name (`vdb2`) or its label (`FERRITE32`), compared
//! without regard to ASCII case, as the names on the volume are
//! ([`volumes`]). Files on disks are read through the volume's lock, a
//! bounded piece at a time.
#![forbid(unsafe_code)]

use crate::boot;
use abi::Error;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

pub mod volumes;

/// Where an open file's bytes are.
enum Source {
    /// A boot module's bytes, where the loader put them.
    Boot(&'static [u8]),
    /// A file on a mounted FAT volume.
    Disk {
        volume: Arc<volumes::Mounted>,
        file: fat::File,
    },
}

/// An open file: where its bytes are and a position (one per handle
/// object).
///
/// Two threads reading through one handle at once may both read from the
/// same position (the position is not locked across the copy); each read
/// is still whole and in bounds.
pub struct OpenFile {
    name: String,
    source: Source,
    position: AtomicU64,
}

/// Whether `name` is one a boot file can have: 1 ..= MAX_FILE_NAME bytes,
/// no directory separator, no NUL.
fn valid_name(name: &str) -> bool {
    (1..=abi::MAX_FILE_NAME as usize).contains(&name.len())
        && !name.bytes().any(|b| b == b'/' || b == b'\\' || b == 0)
}

/// The abi error for a file-system error.
pub fn fat_error(e: fat::FatError) -> Error {
    use fat::FatError as F;
    match e {
        F::NotFound => Error::NotFound,
        F::Io(_) | F::Corrupt(_) => Error::IoError,
        F::NoSpace | F::DirectoryFull | F::FileTooLarge => Error::NoMemory,
        _ => Error::InvalidArgument,
    }
}

impl OpenFile {
    /// Opens the file called `name` (see the module's naming rules).
    pub fn open(name: &str) -> Result<Self, Error> {
        if name.len() > abi::MAX_FILE_NAME as usize || name.bytes().any(|b| b == 0) {
            return Err(Error::InvalidArgument);
        }
        if let Some(rest) = name.strip_prefix("/disk/") {
            return Self::open_on_disk(name, rest);
        }
        let name = name.strip_prefix("/boot/").unwrap_or(name);
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
            name: String::from(module.file_name()),
            source: Source::Boot(data),
            position: AtomicU64::new(0),
        })
    }

    /// Opens `<volume>/<path>` (`rest`) of `/disk/...` (`full`).
    fn open_on_disk(full: &str, rest: &str) -> Result<Self, Error> {
        let (volume, path) = rest.split_once('/').ok_or(Error::InvalidArgument)?;
        if volume.is_empty() || path.is_empty() || path.contains('\\') {
            return Err(Error::InvalidArgument);
        }
        let volume = volumes::list()
            .into_iter()
            .find(|v| v.name.eq_ignore_ascii_case(volume) || v.label.eq_ignore_ascii_case(volume))
            .ok_or(Error::NotFound)?;
        let file = volume.fs.lock().open(path).map_err(fat_error)?;
        Ok(Self {
            name: String::from(full),
            source: Source::Disk { volume, file },
            position: AtomicU64::new(0),
        })
    }

    /// The file's name: a boot file's as the boot volume spells it, a disk
    /// file's path as it was opened.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        match &self.source {
            Source::Boot(data) => data.len() as u64,
            Source::Disk { file, .. } => file.len(),
        }
    }

    /// For a boot file: the bytes from the position on (at most `max`),
    /// and the position after them; the caller copies, then
    /// [`advance`](Self::advance)s. `None` for a disk file (use
    /// [`read_at_position`](Self::read_at_position)).
    pub fn peek(&self, max: u64) -> Option<(&'static [u8], u64)> {
        let Source::Boot(data) = self.source else {
            return None;
        };
        let at = self.position.load(Ordering::Relaxed);
        let start = at.min(data.len() as u64) as usize;
        let end = (start as u64).saturating_add(max).min(data.len() as u64) as usize;
        Some((&data[start..end], at.saturating_add((end - start) as u64)))
    }

    /// Reads from the position into `buf` (any file); returns the bytes
    /// read and the position after them, for [`advance`](Self::advance).
    pub fn read_at_position(&self, buf: &mut [u8]) -> Result<(usize, u64), Error> {
        let at = self.position.load(Ordering::Relaxed);
        let n = match &self.source {
            Source::Boot(data) => {
                let start = at.min(data.len() as u64) as usize;
                let n = buf.len().min(data.len() - start);
                buf[..n].copy_from_slice(&data[start..start + n]);
                n
            }
            Source::Disk { volume, file } => {
                volume.fs.lock().read_at(file, at, buf).map_err(fat_error)?
            }
        };
        Ok((n, at.saturating_add(n as u64)))
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
