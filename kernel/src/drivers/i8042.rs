//! The i8042 PS/2 controller driver: keyboard and mouse on IRQ 1 and 12.
//!
//! The ACPI namespace describes this controller as two devices, and so
//! does the tree: `keyboard` (PNP0303: data port 0x60, command/status
//! port 0x64, IRQ 1) and `mouse` (PNP0F13: IRQ 12), under an `i8042` bus
//! node. The kernel reads no AML, so the nodes come from the FADT's
//! IA-PC boot flag "8042" (ACPI 6.5 §5.2.9.3) with the standard ports.
//!
//! The `i8042` driver (bound to `keyboard`) brings the controller up with
//! the host-tested `ps2` crate, by polling, before any interrupt is
//! routed. A missing or broken keyboard fails its probe, but the
//! controller stays up for the mouse; the `i8042-aux` driver (bound to
//! `mouse`) only routes IRQ 12 if the bring-up found a mouse. Interrupt
//! handlers read every pending byte, tell the ports apart by status bit
//! 5, decode them with the same crate and queue the events in the input
//! service.

use super::input;
use super::{Bus, Device, DriverError, Id, Match, NodeId, Probe, Resource};
use crate::arch::port::IoPorts;
use crate::irq;
use crate::sync::SpinLock;
use alloc::string::String;
use alloc::vec::Vec;

/// Data port and command/status port (IBM PC AT Technical Reference).
const DATA_PORT: u16 = 0x60;
const COMMAND_PORT: u16 = 0x64;
/// Status register: output buffer full; that byte came from the mouse.
const STATUS_OUTPUT_FULL: u8 = 1 << 0;
const STATUS_FROM_MOUSE: u8 = 1 << 5;
/// Bytes one interrupt reads at most (the controller buffers one).
const BYTES_PER_INTERRUPT: usize = 16;
/// Status reads each bring-up wait may take. QEMU answers at once; real
/// keyboards take up to ~500 ms for their self-test, and a port read is
/// about a microsecond there.
const POLLS: u32 = 1_000_000;

/// The controller's two ports, owned.
struct Ports {
    data: IoPorts,
    command: IoPorts,
}

impl ps2::Controller for Ports {
    fn status(&mut self) -> u8 {
        self.command.read8(0)
    }
    fn read_data(&mut self) -> u8 {
        self.data.read8(0)
    }
    fn write_command(&mut self, c: u8) {
        self.command.write8(0, c);
    }
    fn write_data(&mut self, d: u8) {
        self.data.write8(0, d);
    }
}

struct State {
    ports: Ports,
    ps2: ps2::Ps2,
    mouse: bool,
    status: Status,
}

/// What the bring-up found and where the interrupts went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Status {
    /// Scancode translation (set 2 → set 1) is on.
    pub translation: bool,
    /// The mouse took the IntelliMouse wheel extension.
    pub wheel: bool,
    /// GSIs of the keyboard and mouse lines (0 until routed).
    pub gsis: (u32, u32),
    /// Their vectors (0 until routed).
    pub vectors: (u8, u8),
}

/// The controller's state, if it came up.
pub fn status() -> Option<Status> {
    STATE.lock().as_ref().map(|s| s.status)
}

static STATE: SpinLock<Option<State>> = SpinLock::new(None);

/// Adds the `i8042` node with `keyboard` and `mouse` under `parent` when
/// the FADT says the machine has the controller.
pub fn add_devices(parent: NodeId, platform: Option<&crate::acpi::Platform>) {
    let Some(platform) = platform else {
        return;
    };
    if !platform.i8042 {
        log::info!("the FADT reports no PS/2 controller; no keyboard or mouse");
        return;
    }
    let node = |name: &str, bus, id, resources| Device {
        name: String::from(name),
        bus,
        id,
        resources,
        description: String::new(),
    };
    let gsi = |isa| irq::isa_gsi(platform, isa).0;
    let bus = match super::add(parent, node("i8042", Bus::Isa, Id::None, Vec::new())) {
        Ok(b) => b,
        Err(e) => return log::error!("{e}"),
    };
    let keyboard = alloc::vec![
        Resource::Io {
            base: DATA_PORT,
            len: 1
        },
        Resource::Io {
            base: COMMAND_PORT,
            len: 1
        },
        Resource::Irq(gsi(1)),
    ];
    let mouse = alloc::vec![Resource::Irq(gsi(12))];
    for (name, pnp, res) in [
        ("keyboard", "PNP0303", keyboard),
        ("mouse", "PNP0F13", mouse),
    ] {
        if let Err(e) = super::add(bus, node(name, Bus::Isa, Id::Pnp(pnp), res)) {
            log::error!("{name}: {e}");
        }
    }
}

/// Binds to the keyboard node and brings the controller up.
pub static KEYBOARD: super::Driver = super::Driver {
    name: "i8042",
    matches: &[Match::Pnp("PNP0303")],
    probe: probe_keyboard,
};

/// Binds to the mouse node once the controller found a mouse.
pub static MOUSE: super::Driver = super::Driver {
    name: "i8042-aux",
    matches: &[Match::Pnp("PNP0F13")],
    probe: probe_mouse,
};

fn probe_keyboard(p: &Probe) -> Result<(), DriverError> {
    let mut ports = Ports {
        data: p.io(0)?,
        command: p.io(1)?,
    };
    let (ps2, report) = ps2::init(&mut ports, ps2::Limits { polls: POLLS })
        .map_err(|e| DriverError::Device(alloc::format!("controller: {e}")))?;
    log::info!(
        "controller up, {} channel(s), translation {}; keyboard {}; mouse {}",
        if report.dual_channel { 2 } else { 1 },
        if report.translation { "on" } else { "off" },
        match &report.keyboard {
            Ok(_) => String::from("ok"),
            Err(e) => alloc::format!("absent ({e})"),
        },
        match &report.mouse {
            Ok(m) if m.wheel => String::from("ok, with wheel"),
            Ok(_) => String::from("ok"),
            Err(e) => alloc::format!("absent ({e})"),
        },
    );
    let status = Status {
        translation: report.translation,
        wheel: report.mouse.as_ref().is_ok_and(|m| m.wheel),
        ..Status::default()
    };
    *STATE.lock() = Some(State {
        ports,
        ps2,
        mouse: report.mouse.is_ok(),
        status,
    });
    if let Err(e) = report.keyboard {
        return Err(DriverError::Device(alloc::format!("no keyboard: {e}")));
    }
    let gsi = p.irq(0)?;
    let vector = route(gsi, 1)?;
    if let Some(s) = STATE.lock().as_mut() {
        (s.status.gsis.0, s.status.vectors.0) = (gsi, vector);
    }
    Ok(())
}

fn probe_mouse(p: &Probe) -> Result<(), DriverError> {
    let found = STATE.lock().as_ref().map(|s| s.mouse);
    match found {
        None => Err(DriverError::Device(String::from(
            "the i8042 controller is not up",
        ))),
        Some(false) => Err(DriverError::Device(String::from("no mouse answered"))),
        Some(true) => {
            let gsi = p.irq(0)?;
            let vector = route(gsi, 12)?;
            if let Some(s) = STATE.lock().as_mut() {
                (s.status.gsis.1, s.status.vectors.1) = (gsi, vector);
            }
            Ok(())
        }
    }
}

/// Routes `gsi` (ISA IRQ `isa`) to a fresh vector served by [`on_irq`].
fn route(gsi: u32, isa: u8) -> Result<u8, DriverError> {
    let trigger = crate::acpi::platform().map_or(irq::Trigger::ISA, |p| irq::isa_gsi(p, isa).1);
    let vector = irq::allocate_vector(on_irq).map_err(DriverError::Irq)?;
    if let Err(e) = irq::route(gsi, vector, trigger) {
        irq::free(vector);
        return Err(DriverError::Irq(e));
    }
    log::info!("IRQ {isa} (GSI {gsi}) on vector {vector:#x}");
    // A byte that arrived before the line was routed raised its edge
    // while the entry was masked; the controller raises no other until
    // that byte is read, so read it now.
    on_irq(vector);
    Ok(vector)
}

/// IRQ 1 and 12: drains the controller's output buffer.
fn on_irq(_vector: u8) {
    let mut guard = STATE.lock();
    let Some(s) = guard.as_mut() else {
        return;
    };
    for _ in 0..BYTES_PER_INTERRUPT {
        let status = ps2::Controller::status(&mut s.ports);
        if status & STATUS_OUTPUT_FULL == 0 {
            break;
        }
        let byte = ps2::Controller::read_data(&mut s.ports);
        let port = if status & STATUS_FROM_MOUSE != 0 {
            ps2::Port::Mouse
        } else {
            ps2::Port::Keyboard
        };
        if let Some(event) = s.ps2.on_byte(port, byte) {
            input::push(input::from_ps2(event));
        }
        while let Some(out) = s.ps2.take_output() {
            send(&mut s.ports, out);
        }
    }
}

/// Writes `byte` to the keyboard once the controller's input buffer is
/// empty (status bit 1), waiting a bounded time; dropped if it never is.
fn send(ports: &mut Ports, byte: u8) {
    const STATUS_INPUT_FULL: u8 = 1 << 1;
    const WAIT_POLLS: u32 = 10_000;
    for _ in 0..WAIT_POLLS {
        if ps2::Controller::status(ports) & STATUS_INPUT_FULL == 0 {
            ps2::Controller::write_data(ports, byte);
            return;
        }
    }
    log::warn!("input buffer stays full; {byte:#04x} not sent");
}
