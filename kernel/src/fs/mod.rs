//! Files: one namespace over the boot files and the FAT volumes on disks.
//!
//! - `/` holds two directories, `boot` and `disk`.
//! - `/boot/<name>` (or just `<name>`) is a boot file: a boot module, named
//!   by the last component of its path; read-only.
//! - `/disk/<volume>/<path>` is a file or directory on a disk volume, where
//!   `<volume>` is the partition's name (`vdb2`) or its label
//!   (`FERRITE32`) ([`volumes`]).
//!
//! Names are compared without regard to ASCII case, as the names on a FAT
//! volume are. Files on disks are read and written through the volume's
//! lock, a bounded piece at a time ([`OpenFile`]).
#![forbid(unsafe_code)]

use crate::boot;
use abi::{file_flags, DirectoryEntry, Error, FileInfo};
use alloc::sync::Arc;

mod open_file;
pub mod volumes;

pub use open_file::OpenFile;

/// What a name refers to (not yet looked up on the volume).
enum Place<'a> {
    /// `/`.
    Root,
    /// `/boot`.
    BootDirectory,
    /// A boot file, by its bare name.
    Boot(&'a str),
    /// `/disk`.
    DiskDirectory,
    /// A path on a mounted volume (`""` is the volume's root).
    Disk(Arc<volumes::Mounted>, &'a str),
}

/// Whether `name` is one a boot file can have: 1 ..= MAX_FILE_NAME bytes,
/// no directory separator, no NUL.
fn valid_name(name: &str) -> bool {
    (1..=abi::MAX_FILE_NAME as usize).contains(&name.len())
        && !name.bytes().any(|b| b == b'/' || b == b'\\' || b == 0)
}

/// Where `name` points.
fn place(name: &str) -> Result<Place<'_>, Error> {
    if name.is_empty() || name.len() > abi::MAX_FILE_NAME as usize || name.bytes().any(|b| b == 0) {
        return Err(Error::InvalidArgument);
    }
    let dir = name.trim_end_matches('/');
    match dir {
        "" => return Ok(Place::Root),
        abi::path::BOOT => return Ok(Place::BootDirectory),
        abi::path::DISK => return Ok(Place::DiskDirectory),
        _ => {}
    }
    if let Some(rest) = name.strip_prefix("/disk/") {
        let (volume, path) = rest.split_once('/').unwrap_or((rest, ""));
        if volume.is_empty() || path.contains('\\') {
            return Err(Error::InvalidArgument);
        }
        let volume = volumes::find(volume).ok_or(Error::NotFound)?;
        return Ok(Place::Disk(volume, path));
    }
    let bare = name.strip_prefix("/boot/").unwrap_or(name);
    if !valid_name(bare) {
        return Err(Error::InvalidArgument);
    }
    Ok(Place::Boot(bare))
}

/// The boot module called `name`, if there is one.
fn boot_module(name: &str) -> Option<&'static boot::BootFile> {
    boot::info()?
        .modules
        .iter()
        .find(|m| m.file_name().eq_ignore_ascii_case(name))
}

/// The abi error for a file-system error.
pub fn fat_error(e: fat::FatError) -> Error {
    use fat::FatError as F;
    match e {
        F::NotFound | F::NotADirectory => Error::NotFound,
        F::Io(_) | F::Corrupt(_) => Error::IoError,
        F::NoSpace | F::DirectoryFull | F::FileTooLarge => Error::DiskFull,
        F::Exists => Error::AlreadyExists,
        _ => Error::InvalidArgument,
    }
}

const DIRECTORY: FileInfo = FileInfo {
    size: 0,
    flags: file_flags::DIRECTORY,
    reserved: 0,
};

fn fat_flags(e: &fat::DirEntry) -> u32 {
    let mut flags = 0;
    if e.is_dir {
        flags |= file_flags::DIRECTORY;
    }
    if e.attributes & fat::ATTR_READ_ONLY != 0 {
        flags |= file_flags::READ_ONLY;
    }
    flags
}

/// Describes the file or directory `name` (FILE_INFO).
pub fn info(name: &str) -> Result<FileInfo, Error> {
    Ok(match place(name)? {
        Place::Root | Place::BootDirectory | Place::DiskDirectory => DIRECTORY,
        Place::Boot(bare) => FileInfo {
            size: boot_module(bare).ok_or(Error::NotFound)?.data.len() as u64,
            flags: file_flags::READ_ONLY,
            reserved: 0,
        },
        Place::Disk(volume, path) => {
            let e = volume.fs.lock().stat(path).map_err(fat_error)?;
            FileInfo {
                size: u64::from(e.size),
                flags: fat_flags(&e),
                reserved: 0,
            }
        }
    })
}

fn entry(name: &str, size: u64, flags: u32) -> DirectoryEntry {
    let mut e = DirectoryEntry {
        size,
        flags,
        ..DirectoryEntry::default()
    };
    // Names are at most 255 bytes on every source (FAT long names are at
    // most 255 UTF-16 units, which can be more bytes: cut at a character).
    let mut n = name.len().min(e.name.len());
    while !name.is_char_boundary(n) {
        n -= 1;
    }
    e.name[..n].copy_from_slice(&name.as_bytes()[..n]);
    e.name_len = n as u32;
    e
}

/// Entry `index` of the directory `name` (READ_DIRECTORY).
pub fn directory_entry(name: &str, index: u64) -> Result<DirectoryEntry, Error> {
    let index = usize::try_from(index).map_err(|_| Error::NotFound)?;
    match place(name)? {
        Place::Root => [abi::path::BOOT, abi::path::DISK]
            .get(index)
            .map(|p| entry(&p[1..], 0, file_flags::DIRECTORY))
            .ok_or(Error::NotFound),
        Place::BootDirectory => {
            let info = boot::info().ok_or(Error::NotFound)?;
            let m = info.modules.get(index).ok_or(Error::NotFound)?;
            Ok(entry(
                m.file_name(),
                m.data.len() as u64,
                file_flags::READ_ONLY,
            ))
        }
        Place::DiskDirectory => {
            let v = volumes::list()
                .into_iter()
                .nth(index)
                .ok_or(Error::NotFound)?;
            Ok(entry(&v.name, 0, file_flags::DIRECTORY))
        }
        Place::Boot(_) => Err(Error::InvalidArgument),
        Place::Disk(volume, path) => {
            let list = volume.fs.lock().read_dir(path).map_err(fat_error)?;
            let e = list.get(index).ok_or(Error::NotFound)?;
            Ok(entry(&e.name, u64::from(e.size), fat_flags(e)))
        }
    }
}

/// The volume and path of a name that must be on a disk, below the
/// volume's root (DELETE_FILE, RENAME_FILE, CREATE_DIRECTORY).
fn on_disk(name: &str) -> Result<(Arc<volumes::Mounted>, &str), Error> {
    match place(name)? {
        Place::Disk(volume, path) if !path.trim_matches('/').is_empty() => Ok((volume, path)),
        Place::Disk(..) | Place::Root | Place::DiskDirectory => Err(Error::InvalidArgument),
        Place::Boot(_) | Place::BootDirectory => Err(Error::AccessDenied),
    }
}

/// The whole file `name` (a program to load), if it is at most `max`
/// bytes (`NoMemory` past that, or when the heap cannot hold it).
pub fn read_whole(name: &str, max: u64) -> Result<alloc::vec::Vec<u8>, Error> {
    let file = OpenFile::open(name, 0)?;
    let size = file.size();
    if size > max {
        return Err(Error::NoMemory);
    }
    let mut bytes = alloc::vec::Vec::new();
    bytes
        .try_reserve_exact(size as usize)
        .map_err(|_| Error::NoMemory)?;
    bytes.resize(size as usize, 0);
    let mut at = 0;
    while at < bytes.len() {
        let end = bytes.len().min(at + (256 << 10));
        let (n, after) = file.read_at_position(&mut bytes[at..end])?;
        if n == 0 {
            break;
        }
        file.advance(after);
        at += n;
    }
    bytes.truncate(at);
    Ok(bytes)
}

/// Deletes a file or an empty directory (DELETE_FILE); a file a handle
/// has open is `AccessDenied`.
pub fn delete(name: &str) -> Result<(), Error> {
    let (volume, path) = on_disk(name)?;
    let mut fs = volume.fs.lock();
    match fs.open(path) {
        Ok(f) if volume.is_open(f.id()) => return Err(Error::AccessDenied),
        Ok(_) | Err(fat::FatError::IsADirectory) => {}
        Err(e) => return Err(fat_error(e)),
    }
    fs.remove(path).map_err(fat_error)?;
    fs.flush().map_err(fat_error)
}

/// Renames or moves a file or directory within one disk volume
/// (RENAME_FILE). A file a handle has open, under either name, is
/// `AccessDenied`; names on two volumes are `InvalidArgument`.
pub fn rename(from: &str, to: &str) -> Result<(), Error> {
    let (volume, from_path) = on_disk(from)?;
    let (other, to_path) = on_disk(to)?;
    if !Arc::ptr_eq(&volume, &other) {
        return Err(Error::InvalidArgument);
    }
    let mut fs = volume.fs.lock();
    for path in [from_path, to_path] {
        // Errors are the rename's to report; only open files matter here.
        if fs.open(path).is_ok_and(|f| volume.is_open(f.id())) {
            return Err(Error::AccessDenied);
        }
    }
    fs.rename(from_path, to_path).map_err(fat_error)?;
    fs.flush().map_err(fat_error)
}

/// Creates a directory (CREATE_DIRECTORY).
pub fn create_directory(name: &str) -> Result<(), Error> {
    let (volume, path) = on_disk(name)?;
    let mut fs = volume.fs.lock();
    fs.create_dir(path).map_err(fat_error)?;
    fs.flush().map_err(fat_error)
}
