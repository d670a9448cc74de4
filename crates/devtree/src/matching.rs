//! Driver match tables: what a driver binds to.

use crate::{Device, Id};

/// One entry of a driver's match table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// A PCI function with this vendor and device id.
    PciId {
        /// Vendor id.
        vendor: u16,
        /// Device id.
        device: u16,
    },
    /// A PCI function of this class and subclass, and programming
    /// interface if given.
    PciClass {
        /// Base class.
        class: u8,
        /// Subclass.
        subclass: u8,
        /// Programming interface, or any.
        prog_if: Option<u8>,
    },
    /// A device with this plug-and-play id.
    Pnp(&'static str),
    /// A VMBus channel of this interface type.
    VmBus([u8; 16]),
}

impl Match {
    /// Whether `device` is one this entry names.
    pub fn matches(&self, device: &Device) -> bool {
        match (*self, &device.id) {
            (
                Self::PciId { vendor, device: d },
                Id::Pci {
                    vendor: v,
                    device: dd,
                    ..
                },
            ) => vendor == *v && d == *dd,
            (
                Self::PciClass {
                    class,
                    subclass,
                    prog_if,
                },
                Id::Pci {
                    class: c,
                    subclass: s,
                    prog_if: p,
                    ..
                },
            ) => class == *c && subclass == *s && prog_if.is_none_or(|want| want == *p),
            (Self::Pnp(want), Id::Pnp(have)) => want == *have,
            (Self::VmBus(want), Id::VmBus(have)) => want == *have,
            _ => false,
        }
    }
}
