//! doom.exe's keyboard path, as pure logic: Win32 virtual keys (what
//! `WM_KEYDOWN`/`WM_KEYUP` carry) to DOOM's key codes (`doomkeys.h` in
//! doomgeneric), and the queue `DG_GetKey` drains one event at a time.
//!
//! The engine reads keys as codes of its own: printable keys as their
//! lowercase ASCII, the rest as values from 0x80 up (arrows 0xac–0xaf,
//! fire 0xa3, use 0xa2, F1 0xbb, ...). Keys DOOM has no code for are
//! dropped.
#![no_std]
#![forbid(unsafe_code)]

use winsys::queue::Queue;

/// DOOM's codes for the keys that are not ASCII (doomkeys.h).
pub mod key {
    pub const RIGHT_ARROW: u8 = 0xae;
    pub const LEFT_ARROW: u8 = 0xac;
    pub const UP_ARROW: u8 = 0xad;
    pub const DOWN_ARROW: u8 = 0xaf;
    pub const STRAFE_LEFT: u8 = 0xa0;
    pub const STRAFE_RIGHT: u8 = 0xa1;
    pub const USE: u8 = 0xa2;
    pub const FIRE: u8 = 0xa3;
    pub const ESCAPE: u8 = 27;
    pub const ENTER: u8 = 13;
    pub const TAB: u8 = 9;
    pub const BACKSPACE: u8 = 0x7f;
    pub const PAUSE: u8 = 0xff;
    /// F1; F2..F10 follow it, F11 and F12 are [`F11`] and [`F12`].
    pub const F1: u8 = 0x80 + 0x3b;
    pub const F11: u8 = 0x80 + 0x57;
    pub const F12: u8 = 0x80 + 0x58;
    pub const RSHIFT: u8 = 0x80 + 0x36;
    pub const RALT: u8 = 0x80 + 0x38;
    pub const CAPSLOCK: u8 = 0x80 + 0x3a;
    pub const NUMLOCK: u8 = 0x80 + 0x45;
    pub const SCROLL_LOCK: u8 = 0x80 + 0x46;
    pub const HOME: u8 = 0x80 + 0x47;
    pub const PAGE_UP: u8 = 0x80 + 0x49;
    pub const END: u8 = 0x80 + 0x4f;
    pub const PAGE_DOWN: u8 = 0x80 + 0x51;
    pub const INSERT: u8 = 0x80 + 0x52;
    pub const DELETE: u8 = 0x80 + 0x53;
}

/// The DOOM key for Win32 virtual key `vk`, if DOOM has one.
///
/// Control fires, Space uses (the usual doomgeneric bindings), Shift runs,
/// Alt strafes, `,` and `.` strafe left and right.
pub fn doom_key(vk: u8) -> Option<u8> {
    Some(match vk {
        0x08 => key::BACKSPACE,
        0x09 => key::TAB,
        0x0d => key::ENTER,
        0x10 => key::RSHIFT,
        0x11 => key::FIRE,
        0x12 => key::RALT,
        0x13 => key::PAUSE,
        0x14 => key::CAPSLOCK,
        0x1b => key::ESCAPE,
        0x20 => key::USE,
        0x21 => key::PAGE_UP,
        0x22 => key::PAGE_DOWN,
        0x23 => key::END,
        0x24 => key::HOME,
        0x25 => key::LEFT_ARROW,
        0x26 => key::UP_ARROW,
        0x27 => key::RIGHT_ARROW,
        0x28 => key::DOWN_ARROW,
        0x2d => key::INSERT,
        0x2e => key::DELETE,
        b'0'..=b'9' => vk,
        b'A'..=b'Z' => vk.to_ascii_lowercase(),
        // The keypad as DOOM's KEYP_* (arrows on 2/4/6/8).
        0x60 => b'0',
        0x61 => key::END,
        0x62 => key::DOWN_ARROW,
        0x63 => key::PAGE_DOWN,
        0x64 => key::LEFT_ARROW,
        0x65 => b'5',
        0x66 => key::RIGHT_ARROW,
        0x67 => key::HOME,
        0x68 => key::UP_ARROW,
        0x69 => key::PAGE_UP,
        0x6a => b'*',
        0x6b => b'+',
        0x6d => b'-',
        0x6f => b'/',
        0x70..=0x79 => key::F1 + (vk - 0x70),
        0x7a => key::F11,
        0x7b => key::F12,
        0x90 => key::NUMLOCK,
        0x91 => key::SCROLL_LOCK,
        0xba => b';',
        0xbb => b'=',
        0xbc => key::STRAFE_LEFT,
        0xbd => b'-',
        0xbe => key::STRAFE_RIGHT,
        0xbf => b'/',
        0xc0 => b'`',
        0xdb => b'[',
        0xdc => b'\\',
        0xdd => b']',
        0xde => b'\'',
        _ => return None,
    })
}

/// One key event for the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    /// Down (true) or up.
    pub pressed: bool,
    /// The DOOM key code.
    pub key: u8,
}

/// Most events the queue holds.
pub const QUEUE_LEN: usize = 64;

/// The events not yet taken by the engine, oldest first (a
/// `winsys::queue::Queue`).
///
/// When it is full a new key-down is dropped, but a key-up still goes in,
/// in place of the newest queued key-down if need be: a lost release
/// would leave the key held down in the game for ever.
#[derive(Default)]
pub struct KeyQueue {
    events: Queue<KeyEvent, QUEUE_LEN>,
}

impl KeyQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            events: Queue::new(),
        }
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Events that did not fit.
    pub fn dropped(&self) -> u64 {
        self.events.dropped()
    }

    /// Queues the event for virtual key `vk` (ignored if DOOM has no key
    /// for it). Returns whether it was queued.
    pub fn push_vk(&mut self, vk: u8, pressed: bool) -> bool {
        match doom_key(vk) {
            Some(key) => self.push(KeyEvent { pressed, key }),
            None => false,
        }
    }

    /// Queues `event` (see the type's rule for a full queue).
    pub fn push(&mut self, event: KeyEvent) -> bool {
        if self.events.push(event) {
            return true;
        }
        // Full (and counted): a release replaces the newest key-down.
        !event.pressed && self.events.replace_newest(|e| e.pressed, event)
    }

    /// Takes the oldest event.
    pub fn pop(&mut self) -> Option<KeyEvent> {
        self.events.take(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_digits_are_lowercase_ascii() {
        assert_eq!(doom_key(b'A'), Some(b'a'));
        assert_eq!(doom_key(b'Z'), Some(b'z'));
        assert_eq!(doom_key(b'7'), Some(b'7'));
    }

    #[test]
    fn game_keys_match_doomkeys_h() {
        assert_eq!(doom_key(0x25), Some(0xac));
        assert_eq!(doom_key(0x26), Some(0xad));
        assert_eq!(doom_key(0x27), Some(0xae));
        assert_eq!(doom_key(0x28), Some(0xaf));
        assert_eq!(doom_key(0x11), Some(0xa3));
        assert_eq!(doom_key(0x20), Some(0xa2));
        assert_eq!(doom_key(0x1b), Some(27));
        assert_eq!(doom_key(0x0d), Some(13));
        assert_eq!(doom_key(0x70), Some(0xbb));
        assert_eq!(doom_key(0x79), Some(0xc4));
        assert_eq!(doom_key(0x7b), Some(0xd8));
        assert_eq!(doom_key(0xbc), Some(0xa0));
        assert_eq!(doom_key(0xbe), Some(0xa1));
    }

    #[test]
    fn keys_doom_lacks_are_dropped() {
        for vk in [0x00, 0x5b, 0x5c, 0x5d, 0xad, 0xe2, 0xff] {
            assert_eq!(doom_key(vk), None, "vk {vk:#x}");
        }
        let mut q = KeyQueue::new();
        assert!(!q.push_vk(0x5b, true));
        assert!(q.is_empty());
    }

    #[test]
    fn queue_keeps_order() {
        let mut q = KeyQueue::new();
        assert!(q.push_vk(0x26, true));
        assert!(q.push_vk(0x26, false));
        assert!(q.push_vk(b'Y', true));
        let got: [Option<KeyEvent>; 4] = [q.pop(), q.pop(), q.pop(), q.pop()];
        assert_eq!(
            got,
            [
                Some(KeyEvent {
                    pressed: true,
                    key: 0xad
                }),
                Some(KeyEvent {
                    pressed: false,
                    key: 0xad
                }),
                Some(KeyEvent {
                    pressed: true,
                    key: b'y'
                }),
                None
            ]
        );
    }

    #[test]
    fn a_full_queue_drops_presses_but_keeps_releases() {
        let mut q = KeyQueue::new();
        for i in 0..QUEUE_LEN {
            assert!(q.push(KeyEvent {
                pressed: true,
                key: i as u8
            }));
        }
        assert!(!q.push(KeyEvent {
            pressed: true,
            key: 200
        }));
        assert!(q.push(KeyEvent {
            pressed: false,
            key: 201
        }));
        assert_eq!(q.len(), QUEUE_LEN);
        assert_eq!(q.dropped(), 2);
        let all: alloc_free::Collected = alloc_free::collect(&mut q);
        // The newest press (key 63) gave way to the release.
        assert_eq!(
            all.items[QUEUE_LEN - 1],
            KeyEvent {
                pressed: false,
                key: 201
            }
        );
        assert_eq!(
            all.items[QUEUE_LEN - 2],
            KeyEvent {
                pressed: true,
                key: 62
            }
        );
        assert_eq!(all.count, QUEUE_LEN);
    }

    #[test]
    fn wraps_around() {
        let mut q = KeyQueue::new();
        for round in 0..5 * QUEUE_LEN {
            assert!(q.push(KeyEvent {
                pressed: round % 2 == 0,
                key: round as u8
            }));
            assert!(q.push(KeyEvent {
                pressed: false,
                key: 1
            }));
            assert_eq!(q.pop().map(|e| e.key), Some(round as u8));
            assert_eq!(q.pop().map(|e| e.key), Some(1));
        }
        assert!(q.is_empty());
    }

    mod alloc_free {
        use super::super::*;
        pub struct Collected {
            pub items: [KeyEvent; QUEUE_LEN],
            pub count: usize,
        }
        pub fn collect(q: &mut KeyQueue) -> Collected {
            let mut c = Collected {
                items: [KeyEvent {
                    pressed: false,
                    key: 0,
                }; QUEUE_LEN],
                count: 0,
            };
            while let Some(e) = q.pop() {
                c.items[c.count] = e;
                c.count += 1;
            }
            c
        }
    }
}
