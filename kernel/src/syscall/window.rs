//! The window system calls: CREATE_WINDOW, GET_WINDOW_RECT, GET_MESSAGE,
//! SET_SCREEN_BUFFER, POST_QUIT.

use super::{check_user, uread};
use crate::mm::user_copy;
use crate::task::object::{wait_any, Object, WaitResult};
use crate::task::{self, sched};
use crate::window::{self, Buffer, Inbox, Window};
use abi::{Error, SysResult};
use alloc::string::String;
use alloc::sync::Arc;
use handles::Rights;

/// Longest window title kept (bytes).
const TITLE_MAX: u64 = 64;
/// Windows one GET_MESSAGE of all of a thread's windows looks at: as
/// many as a process may have.
const WAIT_WINDOWS: usize = window::MAX_WINDOWS_PER_PROCESS;

fn window(handle: u64) -> Result<Arc<Window>, Error> {
    let p = task::current_process().ok_or(Error::NotFound)?;
    let object = p.lock().handle(handle, Rights::ALL)?;
    match object {
        Object::Window(w) => Ok(w),
        _ => Err(Error::InvalidHandle),
    }
}

pub(super) fn create_window(
    title: u64,
    len: u64,
    width: u64,
    height: u64,
    flags: u64,
) -> SysResult {
    if flags & !abi::window_flags::FULLSCREEN != 0 || len > TITLE_MAX {
        return Err(Error::InvalidArgument);
    }
    let fullscreen = flags & abi::window_flags::FULLSCREEN != 0;
    let (width, height) = (
        u32::try_from(width).map_err(|_| Error::InvalidArgument)?,
        u32::try_from(height).map_err(|_| Error::InvalidArgument)?,
    );
    let mut bytes = [0u8; TITLE_MAX as usize];
    let bytes = &mut bytes[..len as usize];
    // A null title (length 0) is allowed; a non-empty one is checked.
    if len > 0 {
        check_user(title, len, false)?;
        uread(title, bytes)?;
    }
    let mut name = String::new();
    name.try_reserve(bytes.len()).map_err(|_| Error::NoMemory)?;
    // Control characters would let a title forge log lines.
    for piece in bytes.utf8_chunks() {
        name.extend(piece.valid().chars().filter(|c| !c.is_control()));
    }
    let process = task::with_current(|p| p.id()).ok_or(Error::NotFound)?;
    let thread = sched::current().map_or(0, |t| t.id());
    let w = window::create(process, thread, name, width, height, fullscreen)?;
    let p = task::current_process().ok_or(Error::NotFound)?;
    // A refused handle drops the window again (after the lock).
    let inbox = w.inbox.clone();
    let added = p
        .lock()
        .add_handle(Object::Window(Arc::new(w)), Rights::ALL);
    if let Ok(h) = added {
        inbox.set_handle(h);
    }
    added
}

pub(super) fn window_rect(handle: u64, out: u64) -> SysResult {
    let size = core::mem::size_of::<abi::Rect>() as u64;
    check_user(out, size, true)?;
    let w = window(handle)?;
    let r = w.rect;
    let rect = abi::Rect {
        left: r.x as i32,
        top: r.y as i32,
        right: (r.x + r.width) as i32,
        bottom: (r.y + r.height) as i32,
    };
    user_copy::write_value(out, &rect)?;
    Ok(0)
}

pub(super) fn get_message(out: u64, handle: u64, flags: u64, timeout_ms: u64) -> SysResult {
    if flags & !abi::message_flags::REMOVE != 0 {
        return Err(Error::InvalidArgument);
    }
    let remove = flags & abi::message_flags::REMOVE != 0;
    check_user(out, core::mem::size_of::<abi::Message>() as u64, true)?;
    let inboxes: [Option<(u64, Arc<Inbox>)>; WAIT_WINDOWS] = if handle == 0 {
        let thread = sched::current().map_or(0, |t| t.id());
        window::inboxes_of(thread)
    } else {
        let w = window(handle)?;
        let mut one = [const { None }; WAIT_WINDOWS];
        one[0] = Some((w.id, w.inbox.clone()));
        one
    };
    if inboxes[0].is_none() {
        return Err(Error::NotFound);
    }
    let deadline = (timeout_ms != u64::MAX)
        .then(|| crate::time::now_ns().saturating_add(timeout_ms.saturating_mul(1_000_000)));
    loop {
        for (_, inbox) in inboxes.iter().flatten() {
            if let Some(m) = inbox.take(remove) {
                user_copy::write_value(out, &m)?;
                return Ok(1);
            }
        }
        // Every window it waits on has closed (on another thread): nothing
        // will ever come.
        if inboxes.iter().flatten().all(|(_, inbox)| inbox.closed()) {
            return Err(Error::InvalidHandle);
        }
        let left = match deadline {
            None => None,
            Some(d) => match d.checked_sub(crate::time::now_ns()) {
                Some(left) if left > 0 => Some(left),
                _ => return Ok(0),
            },
        };
        let events: [Option<Object>; WAIT_WINDOWS] = core::array::from_fn(|i| {
            inboxes[i]
                .as_ref()
                .map(|(_, b)| Object::Event(b.arrived.clone()))
        });
        match wait_any(&events, left)? {
            WaitResult::Signaled(_) => {}
            WaitResult::TimedOut => continue,
            WaitResult::Exiting => return Ok(0),
        }
    }
}

pub(super) fn set_screen_buffer(
    handle: u64,
    ptr: u64,
    width: u64,
    height: u64,
    pitch: u64,
) -> SysResult {
    let side = 1..=abi::MAX_BUFFER_SIDE;
    if !side.contains(&width)
        || !side.contains(&height)
        || pitch < width * 4
        || pitch > abi::MAX_BUFFER_SIDE * 4
    {
        return Err(Error::InvalidArgument);
    }
    // Every byte the rows span, checked (and faulted in) before one is read.
    let span = pitch * (height - 1) + width * 4;
    check_user(ptr, span, false)?;
    let w = window(handle)?;
    let buffer = Buffer {
        ptr,
        width: width as u32,
        height: height as u32,
        pitch,
    };
    window::present(&w, buffer).map_err(|_| Error::BadPointer)?;
    Ok(0)
}

pub(super) fn post_quit(code: u64) -> SysResult {
    let thread = sched::current().map_or(0, |t| t.id());
    if window::post_quit(thread, code as u32) {
        Ok(0)
    } else {
        Err(Error::NotFound)
    }
}
