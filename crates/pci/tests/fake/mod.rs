//! A scripted PCI bus for host tests: registers with writable and RW1C bits.
//!
//! Each [`FakeFunction`] is 64 dwords with a writable mask per dword (what a
//! write can change) and a write-1-to-clear mask (status bits). BAR sizing
//! falls out of the masks: a BAR of size S has bits below S and its type bits
//! read-only, so writing all-ones reads back the size mask. Every access is
//! logged with the command register as it was at that moment.
#![allow(dead_code)]

pub mod q35;

use std::collections::BTreeMap;

use pci::{Bdf, ConfigSpace};

/// Status bits that are write-1-to-clear (PCI 3.0 §6.2.3: bits 15:11, 8),
/// placed in the COMMAND dword.
const STATUS_RW1C: u32 = 0xF900 << 16;
/// More accesses than any scan of a fixture needs: past this the code under
/// test is looping, and the fake fails the test instead of hanging.
const ACCESS_LIMIT: usize = 1 << 22;
/// Command bits a fake function implements: I/O, memory, bus master,
/// interrupt disable (PCI 3.0 §6.2.2).
const COMMAND_WRITABLE: u32 = 0x0407;

/// One logged config access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub at: Bdf,
    pub offset: u16,
    pub value: u32,
    pub write: bool,
    /// The function's command register just before the access.
    pub command: u16,
}

/// One function's registers.
#[derive(Clone, Debug)]
pub struct FakeFunction {
    pub regs: [u32; 64],
    pub writable: [u32; 64],
    pub clear_on_write: [u32; 64],
    last_capability: Option<u8>,
}

/// Shorthand for a valid address.
pub fn bdf(bus: u8, device: u8, function: u8) -> Bdf {
    Bdf {
        bus,
        device,
        function,
    }
}

impl FakeFunction {
    /// A type 0 function with these IDs, everything else zero.
    pub fn new(vendor: u16, device: u16) -> Self {
        let mut f = Self {
            regs: [0; 64],
            writable: [0; 64],
            clear_on_write: [0; 64],
            last_capability: None,
        };
        f.regs[0] = u32::from(device) << 16 | u32::from(vendor);
        f.writable[1] = COMMAND_WRITABLE;
        f.clear_on_write[1] = STATUS_RW1C;
        f.writable[15] = 0xFF; // interrupt line
        f
    }

    /// Raw functions for property tests. As in hardware, the status half is
    /// never plain-writable and the decode enables are implemented.
    pub fn raw(regs: [u32; 64], mut writable: [u32; 64]) -> Self {
        writable[1] = writable[1] & 0xFFFF | 0x3;
        Self {
            regs,
            writable,
            clear_on_write: [0; 64],
            last_capability: None,
        }
    }

    pub fn class(mut self, class: u8, subclass: u8, prog_if: u8, revision: u8) -> Self {
        self.regs[2] = u32::from_be_bytes([class, subclass, prog_if, revision]);
        self
    }

    pub fn multifunction(mut self) -> Self {
        self.regs[3] |= 0x80 << 16;
        self
    }

    pub fn header_type(mut self, raw: u8) -> Self {
        self.regs[3] = self.regs[3] & !(0xFF << 16) | u32::from(raw) << 16;
        self
    }

    pub fn subsystem(mut self, vendor: u16, device: u16) -> Self {
        self.regs[11] = u32::from(device) << 16 | u32::from(vendor);
        self
    }

    pub fn interrupt(mut self, pin: u8, line: u8) -> Self {
        self.regs[15] = self.regs[15] & !0xFFFF | u32::from(pin) << 8 | u32::from(line);
        self
    }

    pub fn command(mut self, command: u16) -> Self {
        self.regs[1] = self.regs[1] & !0xFFFF | u32::from(command);
        self
    }

    pub fn status(mut self, status: u16) -> Self {
        self.regs[1] |= u32::from(status) << 16;
        self
    }

    /// A PCI-to-PCI bridge (header type 1, or 0x81 if multi-function).
    pub fn bridge(mut self, primary: u8, secondary: u8, subordinate: u8) -> Self {
        let multi = self.regs[3] & 0x80 << 16;
        self.regs[3] = self.regs[3] & !(0xFF << 16) | 1 << 16 | multi;
        self.regs[6] = u32::from_le_bytes([primary, secondary, subordinate, 0]);
        self.writable[6] = 0x00FF_FFFF;
        self
    }

    /// A 32-bit memory BAR of `size` bytes (a power of two >= 16) at `base`.
    pub fn mem32(mut self, index: usize, base: u32, size: u32, prefetchable: bool) -> Self {
        self.regs[4 + index] = base | if prefetchable { 1 << 3 } else { 0 };
        self.writable[4 + index] = !(size - 1) & !0xF;
        self
    }

    /// An I/O BAR of `size` ports (a power of two >= 4) at `base`.
    pub fn io(mut self, index: usize, base: u32, size: u32) -> Self {
        self.regs[4 + index] = base | 1;
        self.writable[4 + index] = !(size - 1) & !0x3;
        self
    }

    /// A 64-bit memory BAR in slots `index` and `index + 1`.
    pub fn mem64(mut self, index: usize, base: u64, size: u64, prefetchable: bool) -> Self {
        let mask = !(size - 1) & !0xF;
        self.regs[4 + index] = base as u32 | 0b100 | if prefetchable { 1 << 3 } else { 0 };
        self.writable[4 + index] = mask as u32;
        if let Some(high) = self.regs.get_mut(5 + index) {
            *high = (base >> 32) as u32;
            self.writable[5 + index] = (mask >> 32) as u32;
        }
        self
    }

    /// Appends a capability at `offset` to the list (sets status bit 4).
    /// `control` is bits 31:16 of its first dword.
    pub fn capability(mut self, offset: u8, id: u8, control: u16) -> Self {
        self.regs[1] |= 1 << 20;
        match self.last_capability {
            None => self.set_byte(0x34, offset),
            Some(last) => self.set_byte(last + 1, offset),
        }
        self.last_capability = Some(offset);
        self.regs[usize::from(offset / 4)] = u32::from(control) << 16 | u32::from(id);
        self
    }

    /// An MSI capability (PCI 3.0 §6.8.1) with writable enable bits,
    /// address, data and mask registers.
    pub fn msi(mut self, offset: u8, is_64bit: bool, per_vector_mask: bool, mmc: u8) -> Self {
        let control = u16::from(mmc) << 1
            | if is_64bit { 1 << 7 } else { 0 }
            | if per_vector_mask { 1 << 8 } else { 0 };
        self = self.capability(offset, 0x05, control);
        let at = usize::from(offset / 4);
        self.writable[at] = 0x0071 << 16; // enable, multiple message enable
        self.writable[at + 1] = !0x3; // address, dword-aligned
        let data = if is_64bit {
            self.writable[at + 2] = !0;
            at + 3
        } else {
            at + 2
        };
        self.writable[data] = 0xFFFF;
        if per_vector_mask {
            self.regs[data + 1] = 0xFFFF_FFFF; // all vectors masked
            self.writable[data + 1] = 0xFFFF_FFFF;
        }
        self
    }

    /// An MSI-X capability (PCI 3.0 §6.8.2) of `entries` vectors.
    pub fn msix(mut self, offset: u8, entries: u16, table: (u8, u32), pba: (u8, u32)) -> Self {
        self = self.capability(offset, 0x11, entries - 1);
        let at = usize::from(offset / 4);
        self.writable[at] = 0xC000 << 16; // enable, function mask
        self.regs[at + 1] = table.1 | u32::from(table.0);
        self.regs[at + 2] = pba.1 | u32::from(pba.0);
        self
    }

    /// Sets a raw dword (hostile edits).
    pub fn set(mut self, offset: u8, value: u32) -> Self {
        self.regs[usize::from(offset / 4)] = value;
        self
    }

    /// Sets a raw writable mask (hostile edits).
    pub fn set_writable(mut self, offset: u8, mask: u32) -> Self {
        self.writable[usize::from(offset / 4)] = mask;
        self
    }

    /// Sets one byte (hostile edits of pointers).
    pub fn with_byte(mut self, offset: u8, value: u8) -> Self {
        self.set_byte(offset, value);
        self
    }

    fn set_byte(&mut self, offset: u8, value: u8) {
        let shift = (offset % 4) * 8;
        let reg = &mut self.regs[usize::from(offset / 4)];
        *reg = *reg & !(0xFF << shift) | u32::from(value) << shift;
    }

    pub fn reg(&self, offset: u16) -> u32 {
        self.regs[usize::from(offset / 4)]
    }
}

/// A bus of fake functions; absent ones read as all-ones.
#[derive(Clone, Debug, Default)]
pub struct FakeBus {
    pub functions: BTreeMap<Bdf, FakeFunction>,
    pub log: Vec<Access>,
}

impl FakeBus {
    pub fn add(&mut self, at: Bdf, f: FakeFunction) -> &mut Self {
        self.functions.insert(at, f);
        self
    }

    pub fn function(&self, at: Bdf) -> &FakeFunction {
        &self.functions[&at]
    }

    /// Every function's registers.
    pub fn snapshot(&self) -> BTreeMap<Bdf, [u32; 64]> {
        self.functions.iter().map(|(at, f)| (*at, f.regs)).collect()
    }

    pub fn writes(&self) -> impl Iterator<Item = &Access> {
        self.log.iter().filter(|a| a.write)
    }

    pub fn reads(&self) -> usize {
        self.log.iter().filter(|a| !a.write).count()
    }
}

impl ConfigSpace for FakeBus {
    fn read32(&mut self, at: Bdf, offset: u16) -> u32 {
        assert!(
            offset.is_multiple_of(4) && offset < 0x100,
            "bad read offset {offset:#x}"
        );
        assert!(self.log.len() < ACCESS_LIMIT, "unbounded scan");
        let (value, command) = match self.functions.get(&at) {
            Some(f) => (f.reg(offset), f.regs[1] as u16),
            None => (u32::MAX, 0xFFFF),
        };
        self.log.push(Access {
            at,
            offset,
            value,
            write: false,
            command,
        });
        value
    }

    fn write32(&mut self, at: Bdf, offset: u16, value: u32) {
        assert!(
            offset.is_multiple_of(4) && offset < 0x100,
            "bad write offset {offset:#x}"
        );
        let mut command = 0xFFFF;
        if let Some(f) = self.functions.get_mut(&at) {
            command = f.regs[1] as u16;
            let i = usize::from(offset / 4);
            let (w, c) = (f.writable[i], f.clear_on_write[i]);
            f.regs[i] = f.regs[i] & !w & !(value & c) | value & w;
        }
        self.log.push(Access {
            at,
            offset,
            value,
            write: true,
            command,
        });
    }
}
