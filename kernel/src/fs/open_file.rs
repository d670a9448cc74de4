//! Open files: a boot file's bytes or a file on a disk volume, and a
//! position (one [`OpenFile`] per handle object).
#![forbid(unsafe_code)]

use super::{boot_module, fat_error, place, volumes, Place};
use crate::sync::Mutex;
use abi::{open_flags, Error};
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Where an open file's bytes are.
enum Source {
    /// A boot module's bytes, where the loader put them.
    Boot(&'static [u8]),
    /// A file on a mounted FAT volume. Locks: the volume's, then `file`.
    Disk {
        volume: Arc<volumes::Mounted>,
        file: Mutex<fat::File>,
        writable: bool,
        /// Written since it was opened: the device is flushed at close.
        dirty: AtomicBool,
    },
}

/// An open file: where its bytes are and a position.
///
/// Two threads reading through one handle at once may both read from the
/// same position (the position is not locked across the copy); each read
/// is still whole and in bounds. A disk file open for writing has no other
/// handle (see [`volumes::Mounted::claim`]), so no handle sees another's
/// stale size or clusters.
pub struct OpenFile {
    name: String,
    source: Source,
    position: AtomicU64,
}

impl OpenFile {
    /// Opens the file called `name` (see the module's naming rules) with
    /// [`open_flags`].
    pub fn open(name: &str, flags: u64) -> Result<Self, Error> {
        let write = flags & open_flags::WRITE != 0;
        if flags & !open_flags::ALL != 0
            || (!write && flags != 0)
            || (flags & open_flags::EXCLUSIVE != 0 && flags & open_flags::CREATE == 0)
        {
            return Err(Error::InvalidArgument);
        }
        let source = match place(name)? {
            Place::Boot(bare) => {
                let module = boot_module(bare).ok_or(Error::NotFound)?;
                if write {
                    return Err(Error::AccessDenied);
                }
                let data: &'static [u8] = match &module.data {
                    alloc::borrow::Cow::Borrowed(bytes) => bytes,
                    // Modules stay where the loader put them (`BootFile`).
                    alloc::borrow::Cow::Owned(_) => return Err(Error::NotFound),
                };
                return Ok(Self {
                    name: String::from(module.file_name()),
                    source: Source::Boot(data),
                    position: AtomicU64::new(0),
                });
            }
            Place::Disk(volume, path) if !path.trim_matches('/').is_empty() => {
                let file = Self::open_on_disk(&volume, path, flags)?;
                Source::Disk {
                    volume,
                    file: Mutex::new(file),
                    writable: write,
                    dirty: AtomicBool::new(false),
                }
            }
            _ => return Err(Error::InvalidArgument),
        };
        let mut owned = String::new();
        owned
            .try_reserve_exact(name.len())
            .map_err(|_| Error::NoMemory)?;
        owned.push_str(name);
        Ok(Self {
            name: owned,
            source,
            position: AtomicU64::new(0),
        })
    }

    /// Opens (creating or truncating, as `flags` say) and claims the file.
    fn open_on_disk(volume: &volumes::Mounted, path: &str, flags: u64) -> Result<fat::File, Error> {
        let write = flags & open_flags::WRITE != 0;
        let mut fs = volume.fs.lock();
        let file = match fs.open(path) {
            Ok(_) if flags & open_flags::EXCLUSIVE != 0 => return Err(Error::AlreadyExists),
            Ok(f) => {
                if write && fs.stat(path).map_err(fat_error)?.attributes & fat::ATTR_READ_ONLY != 0
                {
                    return Err(Error::AccessDenied);
                }
                volume.claim(f.id(), write)?;
                if flags & open_flags::TRUNCATE == 0 {
                    return Ok(f);
                }
                match fs.create_file(path) {
                    Ok(f) => f,
                    Err(e) => {
                        volume.release(f.id(), write);
                        return Err(fat_error(e));
                    }
                }
            }
            Err(fat::FatError::NotFound) if flags & open_flags::CREATE != 0 => {
                let f = fs.create_file(path).map_err(fat_error)?;
                if let Err(e) = volume.claim(f.id(), write) {
                    // Nobody can have it open yet; only memory can fail.
                    let _ = fs.remove(path);
                    return Err(e);
                }
                f
            }
            Err(e) => return Err(fat_error(e)),
        };
        Ok(file)
    }

    /// The file's name: a boot file's as the boot volume spells it, a disk
    /// file's path as it was opened.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the handle may write.
    pub fn writable(&self) -> bool {
        matches!(self.source, Source::Disk { writable: true, .. })
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        match &self.source {
            Source::Boot(data) => data.len() as u64,
            Source::Disk { file, .. } => file.lock().len(),
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
            Source::Disk { volume, file, .. } => {
                let mut fs = volume.fs.lock();
                let file = file.lock();
                fs.read_at(&file, at, buf).map_err(fat_error)?
            }
        };
        Ok((n, at.saturating_add(n as u64)))
    }

    /// Writes `data` at the position (a handle opened to write); returns
    /// the bytes written and the position after them, for
    /// [`advance`](Self::advance). `AccessDenied` for a read-only handle.
    pub fn write_at_position(&self, data: &[u8]) -> Result<(usize, u64), Error> {
        let Source::Disk {
            volume,
            file,
            writable: true,
            dirty,
        } = &self.source
        else {
            return Err(Error::AccessDenied);
        };
        let at = self.position.load(Ordering::Relaxed);
        let mut fs = volume.fs.lock();
        let mut file = file.lock();
        dirty.store(true, Ordering::Relaxed);
        let n = fs.write_at(&mut file, at, data).map_err(fat_error)?;
        Ok((n, at.saturating_add(n as u64)))
    }

    /// Sets the position after a read or write.
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

impl Drop for OpenFile {
    /// Gives up the file's claim; after writes, flushes the volume (its
    /// free-space hints and the device's write cache).
    fn drop(&mut self) {
        if let Source::Disk {
            volume,
            file,
            writable,
            dirty,
        } = &self.source
        {
            let mut fs = volume.fs.lock();
            volume.release(file.lock().id(), *writable);
            if dirty.load(Ordering::Relaxed) {
                if let Err(e) = fs.flush() {
                    log::warn!("{}: flush after writing {}: {e}", volume.name, self.name);
                }
            }
        }
    }
}
