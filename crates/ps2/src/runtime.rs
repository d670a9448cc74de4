//! Runtime state: the keyboard and mouse decoders behind one on_byte.

use core::fmt;

use crate::event::{Event, LockState};
use crate::keyboard::Keyboard;
use crate::mouse::MouseDecoder;
use crate::Port;

/// Runtime state: decoders for both ports.
pub struct Ps2 {
    keyboard: Keyboard,
    mouse: MouseDecoder,
}

impl Ps2 {
    /// Decoders for a keyboard in set 1 (`translation` on) or set 2, and a
    /// mouse with device id `mouse_id` (3 or 4: 4-byte packets). [`crate::init`]
    /// builds this from what it found; all lock toggles start off.
    pub fn new(translation: bool, mouse_id: u8) -> Self {
        Ps2 {
            keyboard: Keyboard::new(translation),
            mouse: MouseDecoder::new(mouse_id),
        }
    }

    /// One byte arrived from `port` (the kernel reads status bit 5, see
    /// [`Port::of_status`], to tell mouse bytes from keyboard bytes).
    ///
    /// Keyboard ACK 0xFA and resend 0xFE bytes are swallowed (a resend makes
    /// the last LED byte available again, once); other special bytes (0x00,
    /// 0xFF, 0xEE, 0xFC, 0xFD) and unknown scancodes are dropped.
    pub fn on_byte(&mut self, port: Port, byte: u8) -> Option<Event> {
        match port {
            Port::Keyboard => self.keyboard.on_byte(byte).map(Event::Key),
            Port::Mouse => self.mouse.on_byte(byte).map(Event::Mouse),
        }
    }

    /// The next byte the kernel should write to port 0x60 (with
    /// `write_data`, once status bit 1 is clear).
    ///
    /// A Caps/Num/Scroll Lock press asks for an LED update, which goes out
    /// one byte at a time: 0xED first, the LED mask only after the keyboard
    /// ACKed 0xED through [`Ps2::on_byte`]. Call this after every
    /// `on_byte`; at most one byte is ever pending, and a later update
    /// replaces a pending one once the current command completes. A reply
    /// that never comes is given up after a few other keyboard bytes.
    pub fn take_output(&mut self) -> Option<u8> {
        self.keyboard.take_output()
    }

    /// The keyboard's lock toggles (what the LEDs are being set to show).
    pub fn locks(&self) -> LockState {
        self.keyboard.locks()
    }
}

impl fmt::Debug for Ps2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ps2")
            .field("locks", &self.locks())
            .field("mouse", &self.mouse)
            .finish()
    }
}
