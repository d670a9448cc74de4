//! The window system: windows, focus, message queues and the screen.
#![forbid(unsafe_code)]
//!
//! The first window takes the framebuffer from the text console; when the
//! last one closes the console gets it back (the log goes to serial all
//! the while). Windows stack in creation order; the top one is shown and
//! has the focus: its [`Inbox`] gets every key and mouse message, built
//! by the host-tested `winsys` crate from the input service's events, in
//! interrupt context and without allocating. A window is a kernel object
//! behind a handle ([`Window`]); closing its last handle (or the end of
//! its process, which closes them all) closes the window.
//!
//! # Locks
//! `MANAGER` (the window list and the pointer) comes before the screen
//! lock (`screen.rs`) and before any inbox's lock; none of them is ever
//! held while taking a process lock.

mod screen;

pub use screen::PresentError;

use crate::sync::SpinLock;
use crate::task::object::Event;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use winsys::layout::Rect;
use winsys::message::{Msg, Pointer};
use winsys::queue::Queue;

/// Messages one window holds before new ones are dropped.
const QUEUE_LEN: usize = 256;
/// Windows one process may have open.
pub const MAX_WINDOWS_PER_PROCESS: usize = 16;

/// A window's message queue and the event that says it has something.
pub struct Inbox {
    queue: SpinLock<Queue<abi::Message, QUEUE_LEN>>,
    /// The handle CREATE_WINDOW gave the program: its messages' `window`.
    handle: AtomicU64,
    /// Set (auto-reset) whenever a message is queued.
    pub arrived: Arc<Event>,
}

impl Inbox {
    /// Queues `m` for window `id` and wakes a waiting reader.
    fn post(&self, id: u64, m: Msg, pointer: Pointer) {
        let handle = self.handle.load(Ordering::Relaxed);
        let message = abi::Message {
            window: if handle == 0 { id } else { handle },
            message: m.message,
            wparam: m.wparam,
            lparam: m.lparam,
            time: (crate::time::now_ns() / 1_000_000) as u32,
            pt_x: pointer.x,
            pt_y: pointer.y,
            ..abi::Message::default()
        };
        if self.queue.lock().push(message) {
            self.arrived.set();
        }
    }

    /// Records the handle the program knows the window by.
    pub fn set_handle(&self, handle: u64) {
        self.handle.store(handle, Ordering::Relaxed);
    }

    /// The oldest message, removed if `remove`.
    pub fn take(&self, remove: bool) -> Option<abi::Message> {
        self.queue.lock().take(remove)
    }
}

/// A window, as its handle holds it. Dropping the last handle closes it.
pub struct Window {
    /// Unique id (the `window` field of its messages until its handle is
    /// known).
    pub id: u64,
    /// Client rectangle on the screen.
    pub rect: Rect,
    /// Its messages.
    pub inbox: Arc<Inbox>,
}

/// One entry of the window list.
struct Entry {
    id: u64,
    process: u64,
    thread: u64,
    rect: Rect,
    title: String,
    inbox: Arc<Inbox>,
}

struct Manager {
    /// Bottom to top; the last is shown and has the focus.
    windows: Vec<Entry>,
    pointer: Pointer,
    /// Alt is held (Alt+F4 asks the focused window to close).
    alt: bool,
}

static MANAGER: SpinLock<Manager> = SpinLock::new(Manager {
    windows: Vec::new(),
    pointer: Pointer {
        x: 0,
        y: 0,
        buttons: 0,
    },
    alt: false,
});
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Why a window could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// There is no 32-bpp framebuffer to draw on.
    NoScreen,
    /// The size is not allowed.
    Layout(winsys::layout::LayoutError),
    /// The process has [`MAX_WINDOWS_PER_PROCESS`] windows.
    TooMany,
    /// The heap is full.
    NoMemory,
}

impl From<WindowError> for abi::Error {
    fn from(e: WindowError) -> Self {
        match e {
            WindowError::NoScreen => Self::NotSupported,
            WindowError::Layout(_) | WindowError::TooMany => Self::InvalidArgument,
            WindowError::NoMemory => Self::NoMemory,
        }
    }
}

/// Creates a window of the calling thread and puts it on top.
pub fn create(
    process: u64,
    thread: u64,
    title: String,
    width: u32,
    height: u32,
    fullscreen: bool,
) -> Result<Window, WindowError> {
    let size = screen::size().ok_or(WindowError::NoScreen)?;
    let rect =
        winsys::layout::place(size, width, height, fullscreen).map_err(WindowError::Layout)?;
    let inbox = Arc::new(Inbox {
        queue: SpinLock::new(Queue::new()),
        handle: AtomicU64::new(0),
        arrived: Arc::new(Event::new(false, false)),
    });
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut m = MANAGER.lock();
    if m.windows.iter().filter(|w| w.process == process).count() >= MAX_WINDOWS_PER_PROCESS {
        return Err(WindowError::TooMany);
    }
    m.windows
        .try_reserve(1)
        .map_err(|_| WindowError::NoMemory)?;
    if m.windows.is_empty() {
        screen::take().map_err(|_| WindowError::NoScreen)?;
        m.pointer = Pointer {
            x: (size.0 / 2) as i32,
            y: (size.1 / 2) as i32,
            buttons: 0,
        };
    }
    log::info!(
        "window {id} '{title}' of process {process}: {}x{} at ({}, {})",
        rect.width,
        rect.height,
        rect.x,
        rect.y
    );
    m.windows.push(Entry {
        id,
        process,
        thread,
        rect,
        title,
        inbox: inbox.clone(),
    });
    screen::clear(rect);
    Ok(Window { id, rect, inbox })
}

impl Drop for Window {
    fn drop(&mut self) {
        let mut m = MANAGER.lock();
        let Some(at) = m.windows.iter().position(|w| w.id == self.id) else {
            return;
        };
        let entry = m.windows.remove(at);
        log::info!("window {} '{}' closed", entry.id, entry.title);
        match m.windows.last() {
            Some(top) => screen::clear(top.rect),
            None => screen::give_back(),
        }
    }
}

/// Whether `id` is the top window (the one shown).
pub fn is_top(id: u64) -> bool {
    MANAGER.lock().windows.last().is_some_and(|w| w.id == id)
}

/// Open windows.
pub fn count() -> usize {
    MANAGER.lock().windows.len()
}

/// The inboxes of `thread`'s windows (at most `N`), top first.
pub fn inboxes_of<const N: usize>(thread: u64) -> [Option<(u64, Arc<Inbox>)>; N] {
    let mut out = [const { None }; N];
    let m = MANAGER.lock();
    let mine = m.windows.iter().rev().filter(|w| w.thread == thread);
    for (slot, w) in out.iter_mut().zip(mine) {
        *slot = Some((w.id, w.inbox.clone()));
    }
    out
}

/// Posts `WM_QUIT` with `code` to every window of `thread`; false if it
/// has none.
pub fn post_quit(thread: u64, code: u32) -> bool {
    let m = MANAGER.lock();
    let mut any = false;
    for w in m.windows.iter().filter(|w| w.thread == thread) {
        let quit = Msg {
            message: abi::wm::QUIT,
            wparam: u64::from(code),
            lparam: 0,
        };
        w.inbox.post(w.id, quit, m.pointer);
        any = true;
    }
    any
}

/// Interrupt context: gives an input event to the focused window. False
/// when no window is open (the event then stays with the input service).
pub fn deliver(event: crate::drivers::input::InputEvent) -> bool {
    use crate::drivers::input::InputEvent;
    let mut m = MANAGER.lock();
    let Some(top) = m.windows.last() else {
        return false;
    };
    let (id, rect, inbox) = (top.id, top.rect, top.inbox.clone());
    match event {
        InputEvent::Key {
            scancode,
            vk,
            pressed,
            repeat,
            ch,
        } => {
            const VK_MENU: u8 = 0x12;
            const VK_F4: u8 = 0x73;
            if vk == VK_MENU {
                m.alt = pressed;
            }
            let key = winsys::message::Key {
                scancode,
                vk,
                pressed,
                repeat,
                ch,
            };
            for msg in winsys::message::key(key).into_iter().flatten() {
                inbox.post(id, msg, m.pointer);
            }
            if m.alt && pressed && vk == VK_F4 {
                let close = Msg {
                    message: abi::wm::CLOSE,
                    wparam: 0,
                    lparam: 0,
                };
                inbox.post(id, close, m.pointer);
            }
        }
        InputEvent::Mouse {
            dx,
            dy,
            wheel,
            buttons,
        } => {
            let size = screen::size().unwrap_or((1, 1));
            // At most a move, three buttons and the wheel per packet.
            let mut msgs = [None; 5];
            let mut n = 0;
            m.pointer
                .update((dx, dy, wheel, buttons), size, rect, |msg| {
                    if let Some(slot) = msgs.get_mut(n) {
                        *slot = Some(msg);
                        n += 1;
                    }
                });
            for msg in msgs.into_iter().flatten() {
                inbox.post(id, msg, m.pointer);
            }
        }
    }
    true
}

/// Draws a program's buffer into window `w` if it is the one shown.
pub fn present(w: &Window, buffer: screen::Buffer) -> Result<(), PresentError> {
    if !is_top(w.id) {
        return Ok(());
    }
    screen::present(w.rect, buffer)
}

pub use screen::Buffer;
