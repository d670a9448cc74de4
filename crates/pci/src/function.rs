//! One function's configuration header, decoded.

use alloc::vec::Vec;

use crate::bar::size_bars;
use crate::capability::walk;
use crate::command::with_decode_off;
use crate::header::{
    bar_count, BUS_NUMBERS, CLASS, COMMAND, HEADER, INTERRUPT, LAYOUT, MULTIFUNCTION, SUBSYSTEM,
    TYPE_BRIDGE, TYPE_CARDBUS, TYPE_DEVICE,
};
use crate::{msi, msix, Bar, Bdf, Capability, ConfigSpace, Problem};

/// A present PCI function as [`crate::enumerate`] found it.
///
/// Cloning copies three short vectors (at most 6 BARs, 48 capabilities and
/// a handful of problems) of `Copy` items.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Function {
    /// Where the function lives.
    pub at: Bdf,
    /// Vendor ID (PCI 3.0 §6.2.1).
    pub vendor: u16,
    /// Device ID (PCI 3.0 §6.2.1).
    pub device: u16,
    /// Base class code; see [`crate::class_name`].
    pub class: u8,
    /// Subclass code.
    pub subclass: u8,
    /// Programming interface (for example 0x01 for AHCI under SATA).
    pub prog_if: u8,
    /// Revision ID.
    pub revision: u8,
    /// Header layout, bits 6:0 of the header type: 0 endpoint, 1
    /// PCI-to-PCI bridge, 2 CardBus bridge.
    pub header_type: u8,
    /// Header type bit 7: the device implements functions 1..8 too.
    pub multifunction: bool,
    /// (Subsystem vendor ID, subsystem ID) of a type 0 header whose
    /// subsystem vendor is neither 0x0000 (none) nor 0xFFFF (PCI 3.0 §6.2.4).
    pub subsystem: Option<(u16, u16)>,
    /// Interrupt pin: 0 none, 1..=4 INTA#..INTD# (PCI 3.0 §6.2.4).
    pub interrupt_pin: u8,
    /// Interrupt line as firmware left it (the legacy IRQ, 0xFF unknown).
    pub interrupt_line: u8,
    /// Sized BARs in slot order; unimplemented and refused BARs are absent.
    pub bars: Vec<Bar>,
    /// The capability list in list order.
    pub capabilities: Vec<Capability>,
    /// PCI-to-PCI bridges (header type 1): the secondary bus number.
    pub secondary_bus: Option<u8>,
    /// PCI-to-PCI bridges: the subordinate (highest) bus number behind it.
    pub subordinate_bus: Option<u8>,
    /// What was refused while reading this function.
    pub problems: Vec<Problem>,
}

impl Function {
    /// The first capability with ID `id`.
    pub fn capability(&self, id: u8) -> Option<Capability> {
        self.capabilities.iter().copied().find(|c| c.id == id)
    }

    /// The BAR that starts in slot `index`.
    pub fn bar(&self, index: u8) -> Option<&Bar> {
        self.bars.iter().find(|b| b.index == index)
    }

    /// Whether this is a PCI-to-PCI bridge (header type 1).
    pub fn is_bridge(&self) -> bool {
        self.header_type == TYPE_BRIDGE
    }
}

/// Reads and decodes the function at `at`, whose ID dword (offset 0) was
/// already read as `id`. Sizes its BARs with decode off.
pub(crate) fn read_function<C: ConfigSpace>(cs: &mut C, at: Bdf, id: u32) -> Function {
    let class = cs.read32(at, CLASS);
    let header = (cs.read32(at, HEADER) >> 16) as u8;
    let layout = header & LAYOUT;
    let interrupt = cs.read32(at, INTERRUPT);
    let mut f = Function {
        at,
        vendor: id as u16,
        device: (id >> 16) as u16,
        class: (class >> 24) as u8,
        subclass: (class >> 16) as u8,
        prog_if: (class >> 8) as u8,
        revision: class as u8,
        header_type: layout,
        multifunction: header & MULTIFUNCTION != 0,
        subsystem: None,
        interrupt_pin: (interrupt >> 8) as u8,
        interrupt_line: interrupt as u8,
        bars: Vec::new(),
        capabilities: Vec::new(),
        secondary_bus: None,
        subordinate_bus: None,
        problems: Vec::new(),
    };
    match layout {
        TYPE_DEVICE => {
            let subsystem = cs.read32(at, SUBSYSTEM);
            let vendor = subsystem as u16;
            if vendor != 0 && vendor != 0xFFFF {
                f.subsystem = Some((vendor, (subsystem >> 16) as u16));
            }
        }
        TYPE_BRIDGE => {
            let buses = cs.read32(at, BUS_NUMBERS);
            f.secondary_bus = Some((buses >> 8) as u8);
            f.subordinate_bus = Some((buses >> 16) as u8);
        }
        // CardBus bridges are listed with their capabilities only; the
        // cards behind them are not enumerated.
        TYPE_CARDBUS => {}
        raw => f.problems.push(Problem::HeaderType { raw }),
    }
    let command = cs.read32(at, COMMAND);
    let count = bar_count(layout);
    if count > 0 {
        let (bars, problems) = (&mut f.bars, &mut f.problems);
        with_decode_off(cs, at, command as u16, |cs| {
            size_bars(cs, at, count, bars, problems)
        });
    }
    walk(
        cs,
        at,
        layout,
        command,
        &mut f.capabilities,
        &mut f.problems,
    );
    if let Some(Err(problem)) = msi(cs, &f) {
        f.problems.push(problem);
    }
    if let Some(Err(problem)) = msix(cs, &f) {
        f.problems.push(problem);
    }
    f
}
