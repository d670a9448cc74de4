//! PCI configuration space: enumeration, BAR sizing, capabilities, MSI/MSI-X.
//!
//! The crate talks to hardware only through [`ConfigSpace`], which the kernel
//! implements over ECAM (PCIe Base Spec 4.0 §7.2.2, located by the ACPI MCFG
//! table) or the 0xCF8/0xCFC mechanism (PCI Local Bus Spec 3.0 §3.2.2.3.2).
//! Everything here reads and writes the 256-byte PCI-compatible region
//! (offsets below 0x100, dword-aligned); PCIe extended capabilities are not
//! read.
//!
//! [`enumerate`] walks the bus tree depth-first from a root bus and decodes
//! each function's header into a [`Function`]: IDs, class, interrupt pin and
//! line, sized [`Bar`]s, the [`Capability`] list and, for bridges, the
//! secondary bus. [`msi`] / [`msix`] decode the interrupt capabilities and
//! [`enable_msi`] / [`enable_msix`] switch them on with an x86 message
//! ([`msi_message`], [`msix_entry`]). [`root_pin`] follows a legacy INTx
//! pin through the bridges to the root bus, where ACPI's `_PRT` routes it.
//!
//! # Policies
//! - **Hostile hardware is refused, not trusted.** A register that makes no
//!   sense (a BAR size mask with holes, a capability pointer into the header
//!   or back into the list, an MSI-X table outside its BAR, a bridge that
//!   names a bus already scanned) is recorded as a [`Problem`] on the function
//!   and the part is left out; the function itself is still listed.
//! - **Bounded work.** Each bus is scanned at most once (at most 256 buses),
//!   each function costs a bounded number of accesses (six BARs, at most 48
//!   capabilities), so [`enumerate`] ends on any input.
//! - **Sizing leaves no trace.** BAR sizing turns memory and I/O decode off,
//!   writes all-ones, and restores the BAR and the command register. Command
//!   writes put zero in the status half, whose error bits are write-1-to-clear
//!   (PCI 3.0 §6.2.3), so pending errors are not wiped.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod bar;
mod capability;
mod class;
mod command;
mod enumerate;
mod function;
mod header;
mod intx;
mod msi;
mod msix;
mod problem;

use core::fmt;

pub use bar::{Bar, BarKind};
pub use capability::Capability;
pub use class::class_name;
pub use command::set_command;
pub use enumerate::{enumerate, Enumeration};
pub use function::Function;
pub use intx::root_pin;
pub use msi::{enable_msi, msi, msi_message, Msi};
pub use msix::{disable_msix, enable_msix, msix, msix_entry, MsiX};
pub use problem::{MsixRegion, Problem};

/// Bus, device and function number: the address of one PCI function.
///
/// Valid addresses have `device < 32` and `function < 8` (PCI 3.0
/// §3.2.2.3.2); [`Bdf::new`] checks that. Displays as `bb:dd.f` in lowercase
/// hex, the form `lspci` prints (`00:1f.2`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Bdf {
    /// Bus number, 0..=255.
    pub bus: u8,
    /// Device number on the bus, 0..32.
    pub device: u8,
    /// Function number within the device, 0..8.
    pub function: u8,
}

impl Bdf {
    /// Devices per bus: the 5-bit device field (PCI 3.0 §3.2.2.3.2).
    pub const DEVICES: u8 = 32;
    /// Functions per device: the 3-bit function field (PCI 3.0 §3.2.2.3.2).
    pub const FUNCTIONS: u8 = 8;

    /// The address `bus:device.function`, or `None` if `device` or
    /// `function` is out of range.
    pub const fn new(bus: u8, device: u8, function: u8) -> Option<Self> {
        if device < Self::DEVICES && function < Self::FUNCTIONS {
            Some(Self {
                bus,
                device,
                function,
            })
        } else {
            None
        }
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}:{:02x}.{:x}",
            self.bus, self.device, self.function
        )
    }
}

/// Config space of every function; reads of absent functions return
/// 0xFFFF_FFFF (PCI 3.0 §6.1: a master abort on a configuration read returns
/// all ones).
///
/// This crate only passes dword-aligned offsets below 0x100.
pub trait ConfigSpace {
    /// Reads the dword at `offset` of function `at`.
    fn read32(&mut self, at: Bdf, offset: u16) -> u32;
    /// Writes the dword at `offset` of function `at`.
    fn write32(&mut self, at: Bdf, offset: u16, value: u32);
}

impl<C: ConfigSpace + ?Sized> ConfigSpace for &mut C {
    fn read32(&mut self, at: Bdf, offset: u16) -> u32 {
        (**self).read32(at, offset)
    }

    fn write32(&mut self, at: Bdf, offset: u16, value: u32) {
        (**self).write32(at, offset, value)
    }
}

#[cfg(test)]
mod tests {
    use super::Bdf;

    #[test]
    fn bdf_displays_like_lspci() {
        let at = Bdf::new(0, 0x1f, 2);
        assert_eq!(at.map(|b| b.to_string()).as_deref(), Some("00:1f.2"));
        let far = Bdf::new(0xab, 3, 7);
        assert_eq!(far.map(|b| b.to_string()).as_deref(), Some("ab:03.7"));
    }

    #[test]
    fn bdf_new_refuses_out_of_range() {
        assert_eq!(Bdf::new(0, 32, 0), None);
        assert_eq!(Bdf::new(0, 0, 8), None);
        assert!(Bdf::new(255, 31, 7).is_some());
    }
}
