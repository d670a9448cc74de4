//! System calls on files (boot files and files on disk volumes): OPEN_FILE,
//! READ_FILE, SEEK_FILE, FILE_SIZE.
#![forbid(unsafe_code)]

use super::objects::{add, object};
use super::{check_user, user_string, uwrite};
use crate::fs::OpenFile;
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

pub(super) fn open_file(name: u64, name_len: u64) -> SysResult {
    let name = user_string(name, name_len, abi::MAX_FILE_NAME)?;
    let file = OpenFile::open(&name)?;
    add(Object::File(Arc::new(file)), Rights::READ | Rights::QUERY)
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
