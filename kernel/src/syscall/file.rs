//! System calls on files (boot files and files on disk volumes): OPEN_FILE,
//! READ_FILE, WRITE_FILE, SEEK_FILE, FILE_SIZE, FILE_INFO, READ_DIRECTORY,
//! DELETE_FILE, RENAME_FILE, CREATE_DIRECTORY.
#![forbid(unsafe_code)]

use super::objects::{add, object};
use super::{check_user, uread, user_string, uwrite, with_user};
use crate::fs::OpenFile;
use crate::mm::user_copy;
use crate::task::object::Object;
use abi::{Error, SysResult};
use alloc::sync::Arc;
use alloc::vec::Vec;
use handles::Rights;

fn file(handle: u64, need: Rights) -> Result<Arc<OpenFile>, Error> {
    match object(handle, need)? {
        Object::File(f) => Ok(f),
        _ => Err(Error::InvalidHandle),
    }
}

fn name(ptr: u64, len: u64) -> Result<alloc::string::String, Error> {
    user_string(ptr, len, abi::MAX_FILE_NAME)
}

pub(super) fn open_file(name_ptr: u64, name_len: u64, flags: u64) -> SysResult {
    let file = OpenFile::open(&name(name_ptr, name_len)?, flags)?;
    let rights = if file.writable() {
        Rights::READ | Rights::WRITE | Rights::QUERY
    } else {
        Rights::READ | Rights::QUERY
    };
    add(Object::File(Arc::new(file)), rights)
}

pub(super) fn write_file(handle: u64, ptr: u64, len: u64) -> SysResult {
    let file = file(handle, Rights::WRITE)?;
    let n = len.min(abi::WRITE_FILE_MAX);
    if n == 0 {
        return Ok(0);
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(n as usize)
        .map_err(|_| Error::NoMemory)?;
    buf.resize(n as usize, 0);
    uread(ptr, &mut buf)?;
    let (wrote, after) = file.write_at_position(&buf)?;
    file.advance(after);
    Ok(wrote as u64)
}

pub(super) fn file_info(name_ptr: u64, name_len: u64, out: u64) -> SysResult {
    let size = core::mem::size_of::<abi::FileInfo>() as u64;
    // The pointer first: a bad one is BadPointer whatever the name.
    check_user(out, size, true)?;
    let info = crate::fs::info(&name(name_ptr, name_len)?)?;
    with_user(out, size, true, || user_copy::write_value(out, &info))?;
    Ok(0)
}

pub(super) fn read_directory(name_ptr: u64, name_len: u64, index: u64, out: u64) -> SysResult {
    let size = core::mem::size_of::<abi::DirectoryEntry>() as u64;
    check_user(out, size, true)?;
    let entry = crate::fs::directory_entry(&name(name_ptr, name_len)?, index)?;
    with_user(out, size, true, || user_copy::write_value(out, &entry))?;
    Ok(0)
}

pub(super) fn delete_file(name_ptr: u64, name_len: u64) -> SysResult {
    crate::fs::delete(&name(name_ptr, name_len)?).map(|()| 0)
}

pub(super) fn rename_file(from_ptr: u64, from_len: u64, to_ptr: u64, to_len: u64) -> SysResult {
    let from = name(from_ptr, from_len)?;
    crate::fs::rename(&from, &name(to_ptr, to_len)?).map(|()| 0)
}

pub(super) fn create_directory(name_ptr: u64, name_len: u64) -> SysResult {
    crate::fs::create_directory(&name(name_ptr, name_len)?).map(|()| 0)
}

/// The most one READ_FILE moves from a disk file (through a kernel
/// buffer; boot files are copied straight from where they lie).
const DISK_READ_MAX: u64 = 64 << 10;

pub(super) fn read_file(handle: u64, ptr: u64, len: u64) -> SysResult {
    let file = file(handle, Rights::READ)?;
    if let Some((bytes, after)) = file.peek(len) {
        if bytes.is_empty() {
            return Ok(0);
        }
        // The whole destination first: a bad one moves nothing.
        check_user(ptr, bytes.len() as u64, true)?;
        uwrite(ptr, bytes)?;
        file.advance(after);
        return Ok(bytes.len() as u64);
    }
    let position = file.seek(0, abi::seek::CURRENT)?;
    let n = len
        .min(DISK_READ_MAX)
        .min(file.size().saturating_sub(position));
    if n == 0 {
        return Ok(0);
    }
    check_user(ptr, n, true)?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(n as usize)
        .map_err(|_| Error::NoMemory)?;
    buf.resize(n as usize, 0);
    let (got, after) = file.read_at_position(&mut buf)?;
    uwrite(ptr, &buf[..got])?;
    file.advance(after);
    Ok(got as u64)
}

pub(super) fn seek_file(handle: u64, offset: u64, whence: u64) -> SysResult {
    file(handle, Rights::READ)?.seek(offset as i64, whence)
}

pub(super) fn file_size(handle: u64) -> SysResult {
    Ok(file(handle, Rights::QUERY)?.size())
}
