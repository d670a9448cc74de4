//! Events decoded from keyboard and mouse bytes, and the lock-key state.

/// The scancode reported for Pause/Break, which has no set-1 make code of its
/// own: its sequence starts E1 1D (OSDev "PS/2 Keyboard", Scan Code Set 1).
pub const PAUSE_SCANCODE: u16 = 0xE11D;

/// Something a device did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A key went down, repeated or came up.
    Key(KeyEvent),
    /// The mouse moved, scrolled or changed buttons.
    Mouse(MouseEvent),
}

/// One key transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyEvent {
    /// Set-1 make code; 0xE0xx for extended keys, [`PAUSE_SCANCODE`] for
    /// Pause. Set-2 keyboards are normalised to the same numbers.
    pub scancode: u16,
    /// Key down (or typematic repeat) rather than key up.
    pub pressed: bool,
    /// A make code for a key that was already down (typematic).
    pub repeat: bool,
    /// Win32 virtual-key code (see [`crate::vk`]), 0 if the key has none.
    pub vk: u8,
    /// The character the key types on the US layout with Shift, Caps Lock,
    /// Num Lock and Ctrl applied (Ctrl+A = U+0001, Enter = U+000A); only on
    /// key down.
    pub ch: Option<char>,
}

/// One mouse packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MouseEvent {
    /// X movement, right positive (−256..=255).
    pub dx: i16,
    /// Y movement, up positive as PS/2 reports it (−256..=255).
    pub dy: i16,
    /// Wheel movement from the fourth byte (0 on a 3-byte mouse).
    pub wheel: i8,
    /// Bit 0 left, bit 1 right, bit 2 middle; bits 3–4 buttons 4–5 (id 4).
    pub buttons: u8,
}

/// The keyboard's lock toggles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockState {
    /// Caps Lock is on.
    pub caps: bool,
    /// Num Lock is on.
    pub num: bool,
    /// Scroll Lock is on.
    pub scroll: bool,
}

impl LockState {
    /// The parameter byte of keyboard command 0xED: bit 0 Scroll, bit 1 Num,
    /// bit 2 Caps (OSDev "PS/2 Keyboard", command 0xED).
    pub fn led_mask(&self) -> u8 {
        u8::from(self.scroll) | (u8::from(self.num) << 1) | (u8::from(self.caps) << 2)
    }
}
