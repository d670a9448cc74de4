//! The Hyper-V synthetic mouse (sheet §6.2): SynthHID over a VMBus
//! channel, reaching the input service as an absolute pointer.
//!
//! The `vmbus-devices` mouse state machine runs on the channel's service
//! thread (`hv_service`): it negotiates protocol 2.0, parses the HID report
//! descriptor the host sends and decodes each input report with the
//! layout it found. Positions are absolute (0..=0x7FFF on both axes, as
//! Hyper-V's descriptor says); the window service places the pointer
//! there. A descriptor that says relative gives motion instead.
#![forbid(unsafe_code)]

use super::hv_service::{Protocol, Served};
use super::input::{self, InputEvent};
use super::{Driver, DriverError, Match, Probe};
use alloc::format;
use alloc::string::String;
use vmbus_devices::mouse::{Mouse, MouseEvent, MouseState};
use vmbus_devices::{Incoming, Output};

static MATCHES: &[Match] = &[Match::VmBus(vmbus::guid::MOUSE.0)];

/// The driver, registered at boot.
pub static DRIVER: Driver = Driver {
    name: "hv-mouse",
    matches: MATCHES,
    probe,
};

/// The one mouse served: whether it is up and running, the events it
/// delivered, and `stop`.
pub static SERVED: Served = Served::new("hv-mouse");

fn probe(p: &Probe) -> Result<(), DriverError> {
    SERVED.probe(p, thread)
}

fn thread(_: u64) {
    SERVED.run(MouseService(Mouse::new()));
}

/// The mouse protocol.
struct MouseService(Mouse);

impl Protocol for MouseService {
    type Event = MouseEvent;

    fn start(&mut self, out: &mut Output<MouseEvent>) -> Result<(), String> {
        self.0.start(out).map_err(|e| format!("{e:?}"))
    }

    fn handle(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<MouseEvent>,
    ) -> Result<(), String> {
        self.0.handle(packet, out).map_err(|e| format!("{e:?}"))
    }

    fn failed(&self) -> bool {
        self.0.state() == MouseState::Failed
    }

    fn deliver(&mut self, event: MouseEvent) -> bool {
        match event {
            MouseEvent::Ready { .. } => true,
            MouseEvent::Input(r) if r.absolute => {
                let axis = |v: i32| v.clamp(0, i32::from(winsys::message::ABSOLUTE_MAX)) as u16;
                input::push(InputEvent::Pointer {
                    x: axis(r.x),
                    y: axis(r.y),
                    wheel: r.wheel.clamp(-128, 127) as i8,
                    buttons: (r.buttons & 7) as u8,
                });
                false
            }
            // A descriptor that says relative: motion, HID's y down.
            MouseEvent::Input(r) => {
                let step = |v: i32| v.clamp(-32768, 32767) as i16;
                input::push(InputEvent::Mouse {
                    dx: step(r.x),
                    dy: step(r.y.saturating_neg()),
                    wheel: r.wheel.clamp(-128, 127) as i8,
                    buttons: (r.buttons & 7) as u8,
                });
                false
            }
        }
    }
}
