//! Input events as Win32-shaped messages.
//!
//! Keystroke messages carry Win32's lParam bits ("Keystroke Message
//! Flags", WinUser docs): bits 0–15 the repeat count (1), 16–23 the scan
//! code, 24 the extended-key flag (an E0-prefixed code), 30 the previous
//! key state (1 for a repeat and for every key up), 31 the transition
//! state (1 for key up). Mouse messages carry the held buttons as `MK_*`
//! in wParam and the pointer in client coordinates as 16-bit x | y << 16
//! in lParam; `WM_MOUSEWHEEL` has the delta in wParam's high word and
//! screen coordinates.

use crate::layout::Rect;
use abi::wm;

/// A message without its window, time and point (the queue adds those).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Msg {
    /// A [`wm`] number.
    pub message: u32,
    /// First parameter.
    pub wparam: u64,
    /// Second parameter.
    pub lparam: i64,
}

/// A key event as the input service reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// Set-1 scan code (0xE0xx for extended keys).
    pub scancode: u16,
    /// Virtual-key code (0 if none: no message).
    pub vk: u8,
    /// Down or up.
    pub pressed: bool,
    /// A typematic repeat.
    pub repeat: bool,
    /// The character typed (key down only).
    pub ch: Option<char>,
}

/// `WM_KEYDOWN` / `WM_KEYUP`, then `WM_CHAR` for a key down that types a
/// character of the Basic Multilingual Plane.
pub fn key(k: Key) -> [Option<Msg>; 2] {
    if k.vk == 0 {
        return [None, None];
    }
    let mut lparam: i64 = 1 | (i64::from(k.scancode & 0xff) << 16);
    if k.scancode & 0xff00 == 0xe000 {
        lparam |= 1 << 24;
    }
    if k.repeat || !k.pressed {
        lparam |= 1 << 30;
    }
    if !k.pressed {
        lparam |= 1 << 31;
    }
    let keystroke = Msg {
        message: if k.pressed { wm::KEYDOWN } else { wm::KEYUP },
        wparam: u64::from(k.vk),
        lparam,
    };
    let ch =
        k.ch.filter(|_| k.pressed)
            .and_then(|c| u16::try_from(u32::from(c)).ok())
            .map(|unit| Msg {
                message: wm::CHAR,
                wparam: u64::from(unit),
                lparam,
            });
    [Some(keystroke), ch]
}

/// The pointer: where it is on the screen and which buttons are held
/// (bit 0 left, 1 right, 2 middle).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pointer {
    /// Screen x.
    pub x: i32,
    /// Screen y.
    pub y: i32,
    /// Buttons held.
    pub buttons: u8,
}

/// Buttons: (bit, down message, up message, MK flag).
const BUTTONS: [(u8, u32, u32, u64); 3] = [
    (1, wm::LBUTTONDOWN, wm::LBUTTONUP, wm::MK_LBUTTON),
    (2, wm::RBUTTONDOWN, wm::RBUTTONUP, wm::MK_RBUTTON),
    (4, wm::MBUTTONDOWN, wm::MBUTTONUP, wm::MK_MBUTTON),
];

fn held(buttons: u8) -> u64 {
    BUTTONS
        .iter()
        .filter(|b| buttons & b.0 != 0)
        .fold(0, |m, b| m | b.3)
}

/// x | y << 16 as two signed 16-bit halves (Win32's MAKELPARAM).
fn point(x: i64, y: i64) -> i64 {
    let x = x.clamp(-32768, 32767) as i16 as u16;
    let y = y.clamp(-32768, 32767) as i16 as u16;
    i64::from(u32::from(x) | (u32::from(y) << 16))
}

/// The largest absolute coordinate an absolute pointer reports (0..=0x7FFF
/// across the screen, as Hyper-V's synthetic mouse and USB tablets do).
pub const ABSOLUTE_MAX: u16 = 0x7FFF;

impl Pointer {
    /// Applies one absolute report (`x` and `y` 0..=[`ABSOLUTE_MAX`]
    /// across the screen, top left first; `wheel` and `buttons` as for
    /// [`Self::update`]): the same messages as the motion to that point.
    pub fn place(
        &mut self,
        (x, y, wheel, buttons): (u16, u16, i8, u8),
        screen: (u32, u32),
        client: Rect,
        out: impl FnMut(Msg),
    ) {
        let on = |v: u16, side: u32| {
            i64::from(v.min(ABSOLUTE_MAX)) * (i64::from(side.max(1)) - 1) / i64::from(ABSOLUTE_MAX)
        };
        let step = |d: i64| d.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16;
        let dx = on(x, screen.0) - i64::from(self.x);
        let dy = i64::from(self.y) - on(y, screen.1);
        self.update((step(dx), step(dy), wheel, buttons), screen, client, out);
    }

    /// Applies one mouse packet (`dy` up-positive, as PS/2 reports it;
    /// `wheel` positive away from the user), keeping the pointer on a
    /// `screen` of (width, height); calls `out` with each message for a
    /// window whose client area is `client`: a move, then each button that
    /// changed, then the wheel.
    pub fn update(
        &mut self,
        (dx, dy, wheel, buttons): (i16, i16, i8, u8),
        screen: (u32, u32),
        client: Rect,
        mut out: impl FnMut(Msg),
    ) {
        let max_x = i64::from(screen.0.max(1)) - 1;
        let max_y = i64::from(screen.1.max(1)) - 1;
        let x = (i64::from(self.x) + i64::from(dx)).clamp(0, max_x);
        let y = (i64::from(self.y) - i64::from(dy)).clamp(0, max_y);
        let moved = x != i64::from(self.x) || y != i64::from(self.y);
        (self.x, self.y) = (x as i32, y as i32);
        let at = point(x - i64::from(client.x), y - i64::from(client.y));
        if moved {
            out(Msg {
                message: wm::MOUSEMOVE,
                wparam: held(self.buttons),
                lparam: at,
            });
        }
        for (bit, down, up, _) in BUTTONS {
            if (buttons ^ self.buttons) & bit == 0 {
                continue;
            }
            self.buttons ^= bit;
            out(Msg {
                message: if buttons & bit != 0 { down } else { up },
                wparam: held(self.buttons),
                lparam: at,
            });
        }
        if wheel != 0 {
            let delta = i16::from(wheel).saturating_mul(wm::WHEEL_DELTA);
            out(Msg {
                message: wm::MOUSEWHEEL,
                wparam: (u64::from(delta as u16) << 16) | held(self.buttons),
                lparam: point(x, y),
            });
        }
    }
}
