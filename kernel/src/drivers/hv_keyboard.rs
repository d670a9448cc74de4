//! The Hyper-V synthetic keyboard (sheet §6.1): a VMBus channel whose
//! keystrokes reach the input service as the i8042's do.
//!
//! The `vmbus-devices` keyboard state machine runs on the channel's
//! service thread (`hv_service`); each keystroke becomes PS/2 set-1 bytes
//! for the same decoder the i8042 uses (`ps2`, with translation), so the
//! input service cannot tell the two apart.
#![forbid(unsafe_code)]

use super::hv_service::{Protocol, Served};
use super::{input, Driver, DriverError, Match, Probe};
use alloc::format;
use alloc::string::String;
use vmbus_devices::keyboard::{Keyboard, KeyboardEvent, KeyboardState};
use vmbus_devices::{Incoming, Output};

static MATCHES: &[Match] = &[Match::VmBus(vmbus::guid::KEYBOARD.0)];

/// The driver, registered at boot.
pub static DRIVER: Driver = Driver {
    name: "hv-keyboard",
    matches: MATCHES,
    probe,
};

/// The one keyboard served: whether it is up and running, the events it
/// delivered, and `stop`.
pub static SERVED: Served = Served::new("hv-keyboard");

fn probe(p: &Probe) -> Result<(), DriverError> {
    SERVED.probe(p, thread)
}

fn thread(_: u64) {
    SERVED.run(KeyboardService {
        keyboard: Keyboard::new(),
        decoder: ps2::Ps2::new(true, 0),
    });
}

/// The keyboard protocol and the set-1 decoder behind it.
struct KeyboardService {
    keyboard: Keyboard,
    decoder: ps2::Ps2,
}

impl Protocol for KeyboardService {
    type Event = KeyboardEvent;

    fn start(&mut self, out: &mut Output<KeyboardEvent>) -> Result<(), String> {
        self.keyboard.start(out).map_err(|e| format!("{e:?}"))
    }

    fn handle(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<KeyboardEvent>,
    ) -> Result<(), String> {
        self.keyboard
            .handle(packet, out)
            .map_err(|e| format!("{e:?}"))
    }

    fn failed(&self) -> bool {
        self.keyboard.state() == KeyboardState::Failed
    }

    fn deliver(&mut self, event: KeyboardEvent) -> bool {
        match event {
            KeyboardEvent::Ready => true,
            KeyboardEvent::Key(k) => {
                for &byte in k.to_set1().as_slice() {
                    if let Some(e) = self.decoder.on_byte(ps2::Port::Keyboard, byte) {
                        input::push(input::from_ps2(e));
                    }
                }
                false
            }
        }
    }
}
