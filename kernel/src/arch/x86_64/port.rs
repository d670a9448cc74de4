//! I/O port ranges as owned values: a driver gets a range once.

use crate::sync::SpinLock;
use alloc::collections::BTreeMap;
use x86_64::instructions::port::Port;

static CLAIMED: SpinLock<BTreeMap<u16, u16>> = SpinLock::new(BTreeMap::new());

/// Ports `base .. base + len`, owned by the holder.
#[derive(Debug)]
pub struct IoPorts {
    base: u16,
    len: u16,
}

/// The range overlaps one already handed out (or wraps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortsTaken(pub u16);

impl IoPorts {
    /// Claims `len` ports from `base`.
    pub fn claim(base: u16, len: u16) -> Result<Self, PortsTaken> {
        let end = base
            .checked_add(len)
            .filter(|_| len > 0)
            .ok_or(PortsTaken(base))?;
        let mut claimed = CLAIMED.lock();
        if claimed
            .range(..end)
            .next_back()
            .is_some_and(|(_, &e)| e > base)
        {
            return Err(PortsTaken(base));
        }
        claimed.insert(base, end);
        Ok(Self { base, len })
    }

    /// The first port of the range.
    pub fn base(&self) -> u16 {
        self.base
    }

    fn port(&self, offset: u16, width: u16) -> Option<u16> {
        (offset.checked_add(width)? <= self.len).then_some(self.base + offset)
    }

    /// Reads a byte at `offset` (all ones if outside the range).
    pub fn read8(&self, offset: u16) -> u8 {
        self.port(offset, 1).map_or(u8::MAX, |p| {
            // SAFETY: `p` is in the range this value owns (`port` checks the
            // bounds, `claim` refuses overlaps); port I/O touches no memory.
            unsafe { Port::<u8>::new(p).read() }
        })
    }

    /// Reads a word at `offset` (all ones if outside the range).
    pub fn read16(&self, offset: u16) -> u16 {
        // SAFETY: as in `read8`.
        self.port(offset, 2)
            .map_or(u16::MAX, |p| unsafe { Port::<u16>::new(p).read() })
    }

    /// Reads a double word at `offset` (all ones if outside the range).
    pub fn read32(&self, offset: u16) -> u32 {
        // SAFETY: as in `read8`.
        self.port(offset, 4)
            .map_or(u32::MAX, |p| unsafe { Port::<u32>::new(p).read() })
    }

    /// Writes a byte at `offset` (ignored, with an error logged, if outside
    /// the range).
    pub fn write8(&self, offset: u16, value: u8) {
        match self.port(offset, 1) {
            // SAFETY: as in `read8`.
            Some(p) => unsafe { Port::<u8>::new(p).write(value) },
            None => self.out_of_range(offset, 1),
        }
    }

    /// Writes a word at `offset` (ignored, with an error logged, if outside
    /// the range).
    pub fn write16(&self, offset: u16, value: u16) {
        match self.port(offset, 2) {
            // SAFETY: as in `read8`.
            Some(p) => unsafe { Port::<u16>::new(p).write(value) },
            None => self.out_of_range(offset, 2),
        }
    }

    /// Writes a double word at `offset` (ignored, with an error logged, if
    /// outside the range).
    pub fn write32(&self, offset: u16, value: u32) {
        match self.port(offset, 4) {
            // SAFETY: as in `read8`.
            Some(p) => unsafe { Port::<u32>::new(p).write(value) },
            None => self.out_of_range(offset, 4),
        }
    }

    fn out_of_range(&self, offset: u16, width: u16) {
        log::error!(
            "ports {:#x}+{}: {width}-byte write at {offset:#x} out of range (bug)",
            self.base,
            self.len
        );
    }
}

impl Drop for IoPorts {
    fn drop(&mut self) {
        CLAIMED.lock().remove(&self.base);
    }
}
