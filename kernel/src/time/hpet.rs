//! The HPET main counter: the kernel's reference clock.
//!
//! Registers (IA-PC HPET spec 1.0a §2.3): general capabilities at 0x00
//! (bits 63:32 the counter period in femtoseconds, bit 13 64-bit counter),
//! general configuration at 0x10 (bit 0 enables the counter), main counter
//! at 0xF0.

use crate::mm::mmio::Mmio;

const CAPABILITIES: u64 = 0x00;
const CONFIG: u64 = 0x10;
const COUNTER: u64 = 0xf0;
/// The spec's upper bound for the period (100 ns), in femtoseconds.
const MAX_PERIOD_FS: u64 = 100_000_000;

/// A running HPET.
#[derive(Debug)]
pub struct Hpet {
    regs: Mmio,
    period_fs: u64,
}

/// The HPET's registers made no sense.
#[derive(Clone, Copy, Debug)]
pub struct BadHpet(pub u64);

impl Hpet {
    /// Takes the HPET at `regs` and starts its main counter.
    pub fn start(regs: Mmio) -> Result<Self, BadHpet> {
        let caps = regs.read64(CAPABILITIES);
        let period_fs = caps >> 32;
        if period_fs == 0 || period_fs > MAX_PERIOD_FS {
            return Err(BadHpet(caps));
        }
        let config = regs.read64(CONFIG);
        regs.write64(CONFIG, config | 1);
        Ok(Self { regs, period_fs })
    }

    /// The main counter.
    pub fn counter(&self) -> u64 {
        self.regs.read64(COUNTER)
    }

    /// Nanoseconds between two counter readings.
    pub fn nanos_between(&self, start: u64, end: u64) -> u64 {
        (u128::from(end.wrapping_sub(start)) * u128::from(self.period_fs) / 1_000_000) as u64
    }
}
