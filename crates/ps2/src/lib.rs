//! i8042 PS/2 controller bring-up and keyboard/mouse byte decoding.
//!
//! The kernel implements [`Controller`] over ports 0x60/0x64, calls [`init`]
//! once at boot (IRQs masked, everything polled and bounded by [`Limits`]),
//! then feeds every byte the IRQ 1 / IRQ 12 handlers read into
//! [`Ps2::on_byte`] and writes whatever [`Ps2::take_output`] hands back.
//!
//! Keys are decoded with the `pc-keyboard` 0.9 crate (its `ScancodeSet1` or
//! `ScancodeSet2` state machines and its US 104-key layout); this crate adds
//! the set-1 scancode / Win32 virtual-key table, the typematic flag, Pause
//! handling, the lock-key LEDs and the mouse packet decoder.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod device;
mod error;
mod event;
mod i8042;
mod init;
mod keyboard;
mod keymap;
mod leds;
mod mouse;
mod runtime;
pub mod vk;

pub use error::{Ps2Error, WaitFor};
pub use event::{Event, KeyEvent, LockState, MouseEvent, PAUSE_SCANCODE};
pub use i8042::{STATUS_AUX_DATA, STATUS_INPUT_FULL, STATUS_OUTPUT_FULL};
pub use init::{init, InitReport, KeyboardInfo, MouseInfo, TYPEMATIC};
pub use runtime::Ps2;

/// Raw access to the controller; the kernel implements it over ports, tests
/// over a fake.
pub trait Controller {
    /// Reads the status register (port 0x64).
    fn status(&mut self) -> u8;
    /// Reads the output buffer (port 0x60).
    fn read_data(&mut self) -> u8;
    /// Writes a controller command (port 0x64).
    fn write_command(&mut self, c: u8);
    /// Writes the input buffer (port 0x60): a command parameter or a byte
    /// for the first port's device.
    fn write_data(&mut self, d: u8);
}

/// One of the controller's two device ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// First port: the keyboard, IRQ 1.
    Keyboard,
    /// Second (auxiliary) port: the mouse, IRQ 12.
    Mouse,
}

impl Port {
    /// Which port the byte waiting in the output buffer came from, judged by
    /// status bit 5 (OSDev "8042 PS/2 Controller", Status Register).
    pub fn of_status(status: u8) -> Port {
        if status & STATUS_AUX_DATA != 0 {
            Port::Mouse
        } else {
            Port::Keyboard
        }
    }
}

/// Bounds on every wait [`init`] performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Status reads one wait may take before it gives up.
    pub polls: u32,
}

impl Limits {
    /// How many waits' worth of status reads the whole of [`init`] may spend.
    /// A normal bring-up makes about 60 waits; the cap only bites on a
    /// controller that keeps answering "resend" or never answers.
    pub const WAIT_BUDGET: u32 = 256;

    /// The most status reads [`init`] will ever make with these limits.
    pub fn max_status_reads(&self) -> u64 {
        u64::from(self.polls) * u64::from(Self::WAIT_BUDGET)
    }
}
