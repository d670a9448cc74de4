//! The window system: windows, focus, message queues and the screen.
#![forbid(unsafe_code)]
//!
//! The first window takes the framebuffer from the text console; when the
//! last one closes the console gets it back (the log goes to serial all
//! the while). Windows stack in creation order; the top one is shown and
//! has the focus: its [`Inbox`] gets every key and mouse message, built
//! by the host-tested `winsys` crate from the input service's events, in
//! interrupt context, into a fixed ring (only the wake-up of a reader may
//! allocate, in the scheduler). A window is a kernel object
//! behind a handle ([`Window`]); closing its last handle (or the end of
//! its process, which closes them all) closes the window.
//!
//! # Locks
//! `MANAGER` (the window list and the pointer) comes before the screen
//! lock (`screen.rs`) and before any inbox's lock; none of them is ever
//! held while taking a process lock.

mod screen;

/// The screen's size in its current mode (the M7 video check).
#[cfg(feature = "milestones")]
pub use screen::{copy_out, read_back, size as screen_size};
pub use screen::{set_mode, take_damage, PresentError};

use crate::sync::SpinLock;
use crate::task::object::Event;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// The handle CREATE_WINDOW gave the program (0 until then): what
    /// [`Inbox::take`] puts in a message's `window`.
    handle: AtomicU64,
    /// `WM_QUIT` is pending with code `quit - 1` (0: none). Kept apart
    /// from the queue, as Win32 does, so a full queue cannot lose it; it
    /// is returned once the queue is empty.
    quit: AtomicU64,
    /// The window has closed: a reader waiting here must stop waiting.
    closed: AtomicBool,
    /// Set (auto-reset) whenever a message is queued.
    pub arrived: Arc<Event>,
    /// What the window has seen, for the log and the milestone checks.
    activity: ActivityCounters,
}

/// Counters of one window.
#[derive(Default)]
struct ActivityCounters {
    posted: AtomicU64,
    taken: AtomicU64,
    frames: AtomicU64,
}

/// What a window has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// Messages queued for it.
    pub posted: u64,
    /// Messages its program took off the queue.
    pub taken: u64,
    /// Buffers presented into it.
    pub frames: u64,
}

impl Inbox {
    /// Queues `m` and wakes a waiting reader.
    fn post(&self, m: Msg, pointer: Pointer) {
        let message = abi::Message {
            message: m.message,
            wparam: m.wparam,
            lparam: m.lparam,
            time: (crate::time::now_ns() / 1_000_000) as u32,
            pt_x: pointer.x,
            pt_y: pointer.y,
            ..abi::Message::default()
        };
        if self.queue.lock().push(message) {
            self.activity.posted.fetch_add(1, Ordering::Relaxed);
            self.arrived.set();
        }
    }

    /// Records the handle the program knows the window by.
    pub fn set_handle(&self, handle: u64) {
        self.handle.store(handle, Ordering::Relaxed);
    }

    /// The oldest message (then a pending `WM_QUIT`), removed if `remove`.
    /// When messages are left the event is set again, so a second reader
    /// blocked on it is not left waiting while they sit here.
    pub fn take(&self, remove: bool) -> Option<abi::Message> {
        let mut q = self.queue.lock();
        let taken = q.take(remove);
        let more = !q.is_empty();
        drop(q);
        if remove && taken.is_some() {
            self.activity.taken.fetch_add(1, Ordering::Relaxed);
        }
        if more && remove {
            self.arrived.set();
        }
        let handle = self.handle.load(Ordering::Relaxed);
        let message = match taken {
            Some(m) => m,
            None => {
                let quit = if remove {
                    self.quit.swap(0, Ordering::AcqRel)
                } else {
                    self.quit.load(Ordering::Acquire)
                };
                let code = quit.checked_sub(1)?;
                abi::Message {
                    message: abi::wm::QUIT,
                    wparam: code,
                    ..abi::Message::default()
                }
            }
        };
        Some(abi::Message {
            window: handle,
            ..message
        })
    }

    /// Whether the window has closed.
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
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
        quit: AtomicU64::new(0),
        closed: AtomicBool::new(false),
        arrived: Arc::new(Event::new(false, false)),
        activity: ActivityCounters::default(),
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
        "window {id} {title:?} of process {process}: {}x{} at ({}, {})",
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
    screen::show(id, Some(rect));
    Ok(Window { id, rect, inbox })
}

impl Drop for Window {
    fn drop(&mut self) {
        let mut m = MANAGER.lock();
        let Some(at) = m.windows.iter().position(|w| w.id == self.id) else {
            return;
        };
        let entry = m.windows.remove(at);
        log::info!("window {} {:?} closed", entry.id, entry.title);
        entry.inbox.closed.store(true, Ordering::Release);
        entry.inbox.arrived.set();
        let was_top = at == m.windows.len();
        match m.windows.last() {
            // The windows keep no copy of their pixels: the new top one
            // shows on a black screen until it presents again.
            Some(top) if was_top => screen::show(top.id, None),
            Some(_) => {}
            None => {
                // No window left: give back the list's memory too.
                m.windows = Vec::new();
                screen::give_back();
            }
        }
    }
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

/// Posts `WM_QUIT` with `code` for `thread` (once, on its top window);
/// false if it has no window.
pub fn post_quit(thread: u64, code: u32) -> bool {
    let m = MANAGER.lock();
    let Some(w) = m.windows.iter().rev().find(|w| w.thread == thread) else {
        return false;
    };
    w.inbox.quit.store(u64::from(code) + 1, Ordering::Release);
    w.inbox.arrived.set();
    true
}

/// Interrupt context: gives an input event to the focused window. False
/// when no window is open (the event then stays with the input service).
pub fn deliver(event: crate::drivers::input::InputEvent) -> bool {
    use crate::drivers::input::InputEvent;
    let mut m = MANAGER.lock();
    let Some(top) = m.windows.last() else {
        return false;
    };
    let (rect, inbox) = (top.rect, top.inbox.clone());
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
                inbox.post(msg, m.pointer);
            }
            if m.alt && pressed && vk == VK_F4 {
                let close = Msg {
                    message: abi::wm::CLOSE,
                    wparam: 0,
                    lparam: 0,
                };
                inbox.post(close, m.pointer);
            }
        }
        InputEvent::Mouse {
            dx,
            dy,
            wheel,
            buttons,
        } => post_pointer(&mut m.pointer, &inbox, |p, size, out| {
            p.update((dx, dy, wheel, buttons), size, rect, out)
        }),
        InputEvent::Pointer {
            x,
            y,
            wheel,
            buttons,
        } => post_pointer(&mut m.pointer, &inbox, |p, size, out| {
            p.place((x, y, wheel, buttons), size, rect, out)
        }),
    }
    true
}

/// Moves the pointer with `apply` (given the screen's size) and posts what
/// it says: at most a move, three buttons and the wheel per packet.
fn post_pointer(
    pointer: &mut Pointer,
    inbox: &Inbox,
    apply: impl FnOnce(&mut Pointer, (u32, u32), &mut dyn FnMut(Msg)),
) {
    let size = screen::size().unwrap_or((1, 1));
    let mut msgs = [None; 5];
    let mut n = 0;
    apply(pointer, size, &mut |msg| {
        if let Some(slot) = msgs.get_mut(n) {
            *slot = Some(msg);
            n += 1;
        }
    });
    for msg in msgs.into_iter().flatten() {
        inbox.post(msg, *pointer);
    }
}

/// Draws a program's buffer into window `w` if it is the one shown (the
/// screen checks that under its own lock, row by row). The caller has
/// checked every byte the buffer's rows span (`mm::user_copy::check_buffer`).
pub fn present(w: &Window, buffer: screen::Buffer) -> Result<(), PresentError> {
    screen::present(w.id, w.rect, buffer)?;
    w.inbox.activity.frames.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// What the top window of `process` has seen (None if it has none).
pub fn activity_of(process: u64) -> Option<Activity> {
    let m = MANAGER.lock();
    let w = m.windows.iter().rev().find(|w| w.process == process)?;
    let a = &w.inbox.activity;
    Some(Activity {
        posted: a.posted.load(Ordering::Relaxed),
        taken: a.taken.load(Ordering::Relaxed),
        frames: a.frames.load(Ordering::Relaxed),
    })
}

pub use screen::Buffer;
