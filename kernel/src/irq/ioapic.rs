//! The I/O APIC: routing global system interrupts to vectors.
//!
//! Registers: IOREGSEL at 0x00, IOWIN at 0x10; register 1 is the version
//! (bits 16–23: last redirection entry), 0x10 + 2n the 64-bit redirection
//! entry n (Intel 82093AA data sheet §3.2).

use crate::mm::mmio::Mmio;

const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;
const VERSION: u32 = 0x01;
/// Redirection entry bits.
const MASKED: u64 = 1 << 16;
const LEVEL: u64 = 1 << 15;
const ACTIVE_LOW: u64 = 1 << 13;

/// One I/O APIC.
#[derive(Debug)]
pub struct IoApic {
    regs: Mmio,
    gsi_base: u32,
    entries: u32,
}

/// How a line signals (ACPI MPS INTI flags, ACPI 6.5 Table 5.50).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// Level-triggered (else edge).
    pub level: bool,
    /// Active low (else high).
    pub active_low: bool,
}

impl Trigger {
    /// ISA default: edge, active high.
    pub const ISA: Self = Self {
        level: false,
        active_low: false,
    };

    /// Decodes MPS INTI flags over a bus default.
    pub fn from_mps(flags: u16, default: Self) -> Self {
        Self {
            active_low: match flags & 3 {
                1 => false,
                3 => true,
                _ => default.active_low,
            },
            level: match (flags >> 2) & 3 {
                1 => false,
                3 => true,
                _ => default.level,
            },
        }
    }
}

impl IoApic {
    /// Takes the I/O APIC at `regs`, serving GSIs from `gsi_base`, and
    /// masks every entry.
    pub fn new(regs: Mmio, gsi_base: u32) -> Self {
        let mut io = Self {
            regs,
            gsi_base,
            entries: 0,
        };
        io.entries = ((io.read(VERSION) >> 16) & 0xff) + 1;
        for n in 0..io.entries {
            io.write(0x10 + 2 * n, MASKED as u32);
            io.write(0x11 + 2 * n, 0);
        }
        io
    }

    fn read(&self, reg: u32) -> u32 {
        self.regs.write32(IOREGSEL, reg);
        self.regs.read32(IOWIN)
    }

    fn write(&self, reg: u32, value: u32) {
        self.regs.write32(IOREGSEL, reg);
        self.regs.write32(IOWIN, value);
    }

    fn write_entry(&self, n: u32, value: u64) {
        // Mask first (keeping the entry's mode, see `mask_entry`), then
        // the high half, then the low half (unmasking).
        self.mask_entry(n);
        self.write(0x11 + 2 * n, (value >> 32) as u32);
        self.write(0x10 + 2 * n, value as u32);
    }

    /// Sets entry `n`'s mask bit and nothing else. Writing a bare mask
    /// word would also make a level-triggered entry edge-triggered, and an
    /// edge entry latches its input: a line that goes low while masked
    /// would then still count as asserted when it is unmasked, and fire
    /// for ever.
    fn mask_entry(&self, n: u32) {
        let low = self.read(0x10 + 2 * n);
        self.write(0x10 + 2 * n, low | MASKED as u32);
    }

    /// The GSIs this I/O APIC serves.
    pub fn serves(&self, gsi: u32) -> bool {
        gsi >= self.gsi_base && gsi - self.gsi_base < self.entries
    }

    /// Number of redirection entries.
    pub fn entries(&self) -> u32 {
        self.entries
    }

    /// Routes `gsi` to `vector` on the CPU with APIC id `apic` (fixed
    /// delivery, physical destination), unmasked.
    pub fn route(&self, gsi: u32, vector: u8, trigger: Trigger, apic: u32) -> bool {
        if !self.serves(gsi) {
            return false;
        }
        let mut entry = u64::from(vector) | (u64::from(apic & 0xff) << 56);
        if trigger.level {
            entry |= LEVEL;
        }
        if trigger.active_low {
            entry |= ACTIVE_LOW;
        }
        self.write_entry(gsi - self.gsi_base, entry);
        true
    }

    /// Masks `gsi`.
    pub fn mask(&self, gsi: u32) {
        if self.serves(gsi) {
            self.mask_entry(gsi - self.gsi_base);
        }
    }

    /// The raw redirection entry for `gsi` (for self-checks).
    pub fn entry(&self, gsi: u32) -> Option<u64> {
        self.serves(gsi).then(|| {
            let n = gsi - self.gsi_base;
            u64::from(self.read(0x10 + 2 * n)) | u64::from(self.read(0x11 + 2 * n)) << 32
        })
    }
}
