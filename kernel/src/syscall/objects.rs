//! System calls on handles: threads, processes, waits, events, pipes, time.
#![forbid(unsafe_code)]

use super::{uread, user_string, uwrite};
use crate::task::object::{self, Event, Object, Pipe, WaitResult};
use crate::task::{self, sched, SharedProcess};
use abi::{Error, SysResult};
use alloc::sync::Arc;
use handles::Rights;

fn me() -> Result<SharedProcess, Error> {
    task::current_process().ok_or(Error::NotFound)
}

/// The object behind `handle` (or a pseudo-handle) with right `need`.
pub(super) fn object(handle: u64, need: Rights) -> Result<Object, Error> {
    match handle {
        abi::CURRENT_PROCESS => Ok(Object::Process(me()?)),
        abi::CURRENT_THREAD => Ok(Object::Thread(sched::current().ok_or(Error::NotFound)?)),
        h => me()?.lock().handle(h, need),
    }
}

pub(super) fn add(object: Object, rights: Rights) -> SysResult {
    me()?.lock().add_handle(object, rights)
}

pub(super) fn create_thread(entry: u64, arg: u64, stack: u64) -> SysResult {
    if entry == 0 || entry >= abi::USER_END || stack > 16 << 20 {
        return Err(Error::InvalidArgument);
    }
    let process = me()?;
    let thread = task::create_thread(&process, entry, arg, stack)?;
    let h = add(Object::Thread(thread.clone()), Rights::ALL);
    if h.is_err() {
        // No handle for it: it still runs, but the caller learns it could
        // not be given one.
        thread.request_exit(abi::status::UNHANDLED_EXCEPTION);
        sched::wake(&thread);
    }
    h
}

pub(super) fn set_thread_affinity(handle: u64, mask: u64) -> SysResult {
    match object(handle, Rights::WRITE)? {
        Object::Thread(t) => sched::set_affinity(&t, mask),
        _ => Err(Error::InvalidHandle),
    }
}

pub(super) fn wait_multiple(ptr: u64, count: u64, all: u64, timeout_ms: u64) -> SysResult {
    if all > 1 || count == 0 || count > abi::MAXIMUM_WAIT_OBJECTS {
        return Err(Error::InvalidArgument);
    }
    let mut raw = [0u8; 8 * abi::MAXIMUM_WAIT_OBJECTS as usize];
    let raw = &mut raw[..count as usize * 8];
    uread(ptr, raw)?;
    let mut objects: [Option<Object>; abi::MAXIMUM_WAIT_OBJECTS as usize] =
        [const { None }; abi::MAXIMUM_WAIT_OBJECTS as usize];
    for (slot, bytes) in objects.iter_mut().zip(raw.chunks_exact(8)) {
        let h = u64::from_le_bytes(bytes.try_into().map_err(|_| Error::InvalidArgument)?);
        let o = object(h, Rights::WAIT)?;
        if !o.waitable() {
            return Err(Error::InvalidHandle);
        }
        *slot = Some(o);
    }
    let objects = &objects[..count as usize];
    let timeout = (timeout_ms != u64::MAX).then(|| timeout_ms.saturating_mul(1_000_000));
    let result = if all == 1 {
        // Waiting for all of one object twice could never be satisfied
        // by an auto-reset event (Win32 refuses duplicates too).
        let duplicate = objects
            .iter()
            .flatten()
            .enumerate()
            .any(|(i, a)| objects[i + 1..].iter().flatten().any(|b| a.same(b)));
        if duplicate {
            return Err(Error::InvalidArgument);
        }
        object::wait_all(objects, timeout)?
    } else {
        object::wait_any(objects, timeout)?
    };
    match result {
        WaitResult::Signaled(i) => Ok(i as u64),
        // A thread asked to exit ends on its way back to ring 3.
        WaitResult::TimedOut | WaitResult::Exiting => Ok(abi::WAIT_TIMEOUT),
    }
}

pub(super) fn exit_code(handle: u64) -> SysResult {
    match object(handle, Rights::QUERY)? {
        Object::Process(p) => Ok(p
            .lock()
            .exit_status()
            .map_or(abi::STILL_ACTIVE, |e| u64::from(e.code))),
        Object::Thread(t) => Ok(t.exit_code().map_or(abi::STILL_ACTIVE, u64::from)),
        _ => Err(Error::InvalidHandle),
    }
}

pub(super) fn terminate_process(handle: u64, code: u64) -> SysResult {
    match object(handle, Rights::TERMINATE)? {
        Object::Process(p) => {
            task::terminate(&p, code as u32);
            Ok(0)
        }
        _ => Err(Error::InvalidHandle),
    }
}

/// Ends the calling process: every thread, this one on its way out.
pub(super) fn exit_process(code: u32) -> SysResult {
    let p = me()?;
    task::terminate(&p, code);
    Ok(0)
}

pub(super) fn close_handle(handle: u64) -> SysResult {
    let object = me()?.lock().close_handle(handle)?;
    drop(object);
    Ok(0)
}

pub(super) fn yield_now() -> SysResult {
    let (before, _) = sched::stats();
    sched::yield_now();
    let (after, _) = sched::stats();
    Ok(u64::from(after != before))
}

pub(super) fn get_time(which: u64) -> SysResult {
    let now = crate::time::now_ns();
    match which {
        abi::clock::TICK_COUNT_MS => Ok(now / 1_000_000),
        abi::clock::PERFORMANCE_COUNTER => Ok(now),
        abi::clock::PERFORMANCE_FREQUENCY => Ok(1_000_000_000),
        _ => Err(Error::InvalidArgument),
    }
}

pub(super) fn create_event(manual: u64, set: u64) -> SysResult {
    let event = Arc::new(Event::new(manual != 0, set != 0));
    add(Object::Event(event), Rights::ALL)
}

fn event(handle: u64) -> Result<Arc<Event>, Error> {
    match object(handle, Rights::SIGNAL)? {
        Object::Event(e) => Ok(e),
        _ => Err(Error::InvalidHandle),
    }
}

pub(super) fn set_event(handle: u64) -> SysResult {
    event(handle)?.set();
    Ok(0)
}

pub(super) fn reset_event(handle: u64) -> SysResult {
    event(handle)?.reset();
    Ok(0)
}

pub(super) fn create_process(
    name: u64,
    name_len: u64,
    cmd: u64,
    cmd_len: u64,
    flags: u64,
) -> SysResult {
    if flags & !abi::create_flags::FRESH_IMAGE != 0 {
        return Err(Error::InvalidArgument);
    }
    let name = user_string(name, name_len, abi::MAX_FILE_NAME)?;
    let cmdline = user_string(cmd, cmd_len, 1024)?;
    let info = crate::boot::info().ok_or(Error::NotSupported)?;
    let fresh = flags & abi::create_flags::FRESH_IMAGE != 0;
    let spawned = if name.starts_with("/disk/") {
        crate::pe::spawn_from_disk(info, &name)
    } else if name.len() > 64 {
        return Err(Error::InvalidArgument);
    } else {
        crate::pe::spawn_program(info, &name, fresh)
    };
    let mut process = spawned.map_err(|e| {
        log::info!("CreateProcess '{name}': {e}");
        match e {
            crate::pe::SpawnError::Pe(_) => Error::NotFound,
            crate::pe::SpawnError::Process(_) => Error::NoMemory,
            crate::pe::SpawnError::File(e) => e,
        }
    })?;
    process.set_cmdline(cmdline);
    let (_thread, shared) = task::spawn(process).map_err(|_| Error::NoMemory)?;
    let h = add(Object::Process(shared.clone()), Rights::ALL);
    if h.is_err() {
        task::terminate(&shared, abi::status::UNHANDLED_EXCEPTION);
    }
    h
}

pub(super) fn command_line(buf: u64, len: u64) -> SysResult {
    let p = me()?;
    let mut chunk = [0u8; 1024];
    let n = {
        let p = p.lock();
        let bytes = p.cmdline().as_bytes();
        let n = bytes.len().min(chunk.len());
        chunk[..n].copy_from_slice(&bytes[..n]);
        n
    };
    let copy = (len as usize).min(n);
    uwrite(buf, &chunk[..copy])?;
    Ok(n as u64)
}

pub(super) fn open_pipe(name: u64, name_len: u64) -> SysResult {
    let name = user_string(name, name_len, 64)?;
    if name.is_empty() {
        return Err(Error::InvalidArgument);
    }
    let pipe = Pipe::open(&name)?;
    add(
        Object::Pipe(pipe),
        Rights::READ | Rights::WRITE | Rights::QUERY,
    )
}

fn pipe(handle: u64, need: Rights) -> Result<Arc<Pipe>, Error> {
    match object(handle, need)? {
        Object::Pipe(p) => Ok(p),
        _ => Err(Error::InvalidHandle),
    }
}

pub(super) fn pipe_write(handle: u64, ptr: u64, len: u64) -> SysResult {
    let pipe = pipe(handle, Rights::WRITE)?;
    let mut chunk = [0u8; 512];
    let n = (len as usize).min(chunk.len());
    uread(ptr, &mut chunk[..n])?;
    Ok(pipe.write(&chunk[..n])? as u64)
}

pub(super) fn pipe_read(handle: u64, ptr: u64, len: u64) -> SysResult {
    let pipe = pipe(handle, Rights::READ)?;
    let mut chunk = [0u8; 512];
    let n = (len as usize).min(chunk.len());
    if n == 0 {
        return Ok(0);
    }
    // Check the destination first: bytes taken from the pipe must land.
    super::check_user(ptr, n as u64, true)?;
    let got = pipe.read(&mut chunk[..n])?;
    uwrite(ptr, &chunk[..got])?;
    Ok(got as u64)
}
