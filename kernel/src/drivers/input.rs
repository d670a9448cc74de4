//! The input service: keyboard and mouse events from drivers, in order.
//!
//! Drivers call [`push`] from their interrupt handlers; the queue is a
//! fixed ring, so an interrupt never allocates. When it is full the
//! newest event is dropped and counted ([`dropped`]), never an older one:
//! a reader always sees a gap-free prefix of what was typed. Readers take
//! events with [`pop`], or block for one with [`wait`] (an auto-reset
//! event signals "something arrived").
//!
//! While a window is open the window system takes every event instead
//! (`window::deliver`), as messages for the focused window.

use crate::sync::SpinLock;
use crate::task::object::{wait_any, Event, Object, WaitResult};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;

/// One input event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputEvent {
    /// A key went down or up.
    Key {
        /// Set-1 scan code (0xE0xx for extended keys).
        scancode: u16,
        /// Win32 virtual-key code (0 if none).
        vk: u8,
        /// Down (true) or up.
        pressed: bool,
        /// A typematic repeat of a key already down.
        repeat: bool,
        /// The character typed, on key down.
        ch: Option<char>,
    },
    /// The mouse moved, or its buttons or wheel changed.
    Mouse {
        /// Motion right.
        dx: i16,
        /// Motion up.
        dy: i16,
        /// Wheel clicks (positive: away from the user).
        wheel: i8,
        /// Buttons held: bit 0 left, 1 right, 2 middle.
        buttons: u8,
    },
    /// An absolute pointer (Hyper-V's synthetic mouse) is at a place.
    Pointer {
        /// 0..=0x7FFF, left to right across the screen.
        x: u16,
        /// 0..=0x7FFF, top to bottom.
        y: u16,
        /// Wheel clicks (positive: away from the user).
        wheel: i8,
        /// Buttons held: bit 0 left, 1 right, 2 middle.
        buttons: u8,
    },
}

/// Events the queue holds.
const CAPACITY: usize = 256;

struct Ring {
    slots: [Option<InputEvent>; CAPACITY],
    head: usize,
    len: usize,
}

static RING: SpinLock<Ring> = SpinLock::new(Ring {
    slots: [None; CAPACITY],
    head: 0,
    len: 0,
});
static ARRIVED: Once<Arc<Event>> = Once::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Creates the "arrived" event; call once at boot, before any driver.
pub fn init() {
    ARRIVED.call_once(|| Arc::new(Event::new(false, false)));
}

/// Gives `event` to the focused window, or queues it here when no window
/// is open (interrupt context; never allocates).
pub fn push(event: InputEvent) {
    if crate::window::deliver(event) {
        return;
    }
    let mut r = RING.lock();
    if r.len == CAPACITY {
        drop(r);
        DROPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let at = (r.head + r.len) % CAPACITY;
    r.slots[at] = Some(event);
    r.len += 1;
    drop(r);
    if let Some(e) = ARRIVED.get() {
        e.set();
    }
}

/// Takes the oldest event, if any.
pub fn pop() -> Option<InputEvent> {
    let mut r = RING.lock();
    if r.len == 0 {
        return None;
    }
    let head = r.head;
    let event = r.slots[head].take();
    r.head = (head + 1) % CAPACITY;
    r.len -= 1;
    event
}

/// Takes the oldest event, waiting up to `timeout_ns` for one.
pub fn wait(timeout_ns: u64) -> Option<InputEvent> {
    let deadline = crate::time::now_ns().saturating_add(timeout_ns);
    loop {
        if let Some(e) = pop() {
            return Some(e);
        }
        let left = deadline.checked_sub(crate::time::now_ns())?;
        let arrived = Object::Event(ARRIVED.get()?.clone());
        match wait_any(&[Some(arrived)], Some(left)) {
            Ok(WaitResult::Signaled(_)) => {}
            _ => return pop(),
        }
    }
}

/// Events dropped because the queue was full.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// A decoded PS/2 event (the i8042's, or the Hyper-V keyboard's set-1
/// bytes through the same decoder) as the input service's.
pub fn from_ps2(e: ps2::Event) -> InputEvent {
    match e {
        ps2::Event::Key(k) => InputEvent::Key {
            scancode: k.scancode,
            vk: k.vk,
            pressed: k.pressed,
            repeat: k.repeat,
            ch: k.ch,
        },
        // The IntelliMouse fourth byte counts towards the user (Linux's
        // psmouse reports REL_WHEEL as its negation); the input service
        // counts away from the user, as Win32's wheel delta does.
        ps2::Event::Mouse(m) => InputEvent::Mouse {
            dx: m.dx,
            dy: m.dy,
            wheel: m.wheel.saturating_neg(),
            buttons: m.buttons,
        },
    }
}
