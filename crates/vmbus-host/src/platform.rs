//! The one interface through which the simulated host touches the guest.
//!
//! Guest memory is reached only by guest physical address (the SIMP, SIEFP
//! and hypercall pages of sheet §1.3/§2 live in guest RAM at the GPAs the
//! guest wrote to the MSRs), and interrupts leave only through
//! [`Platform::raise_sint`]. [`MemoryPlatform`] is a recording implementation
//! for host tests; the kernel implements the trait over its own memory and
//! local APIC.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// A guest-memory access outside the memory the embedder backs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemError {
    /// The first guest physical address that could not be accessed.
    pub gpa: u64,
}

/// One synthetic interrupt the host asked the embedder to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SintInterrupt {
    /// Target virtual processor index.
    pub vp: u32,
    /// SINT number (VMBus uses 2, sheet §2.1).
    pub sint: u8,
    /// The vector programmed in SINTx bits 7:0.
    pub vector: u8,
    /// SINTx bit 17: the guest asked for auto-EOI.
    pub auto_eoi: bool,
}

/// What the host needs from its embedder.
pub trait Platform {
    /// Reads guest memory at `gpa` into `buf`.
    fn read_guest(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError>;

    /// Writes `data` to guest memory at `gpa`.
    fn write_guest(&mut self, gpa: u64, data: &[u8]) -> Result<(), MemError>;

    /// Delivers SINT `irq.sint` to VP `irq.vp` with the programmed vector.
    fn raise_sint(&mut self, irq: SintInterrupt);

    /// Atomically ORs `mask` into the byte at `gpa` and returns the old value.
    ///
    /// The default is a plain read-modify-write, which is exact for a
    /// single-threaded test; an embedder whose guest runs concurrently should
    /// override it with a real atomic (the guest test-and-clears these bits,
    /// sheet §2.3).
    fn fetch_or_u8(&mut self, gpa: u64, mask: u8) -> Result<u8, MemError> {
        let mut b = [0u8; 1];
        self.read_guest(gpa, &mut b)?;
        self.write_guest(gpa, &[b[0] | mask])?;
        Ok(b[0])
    }
}

const PAGE: u64 = 4096;

/// Sparse guest RAM plus a record of every interrupt, for host tests.
///
/// Memory exists only inside regions added with [`MemoryPlatform::add_region`];
/// pages are allocated on first write and read as zero before that.
#[derive(Debug, Default)]
pub struct MemoryPlatform {
    regions: Vec<(u64, u64)>,
    pages: BTreeMap<u64, Vec<u8>>,
    interrupts: Vec<SintInterrupt>,
}

impl MemoryPlatform {
    /// A platform with no memory at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// A platform with RAM at `[0, bytes)`.
    pub fn with_ram(bytes: u64) -> Self {
        let mut p = Self::new();
        p.add_region(0, bytes);
        p
    }

    /// Backs `[base, base + len)` with (lazily allocated) memory.
    pub fn add_region(&mut self, base: u64, len: u64) {
        self.regions.push((base, len));
    }

    fn backed(&self, gpa: u64) -> bool {
        self.regions.iter().any(|&(b, l)| gpa >= b && gpa - b < l)
    }

    fn check(&self, gpa: u64, len: usize) -> Result<(), MemError> {
        let mut a = gpa;
        let end = gpa.checked_add(len as u64).ok_or(MemError { gpa })?;
        while a < end {
            if !self.backed(a) {
                return Err(MemError { gpa: a });
            }
            a = (a & !(PAGE - 1)).saturating_add(PAGE);
        }
        Ok(())
    }

    /// Every interrupt raised so far, oldest first.
    pub fn interrupts(&self) -> &[SintInterrupt] {
        &self.interrupts
    }

    /// Removes and returns the recorded interrupts.
    pub fn take_interrupts(&mut self) -> Vec<SintInterrupt> {
        core::mem::take(&mut self.interrupts)
    }

    /// Reads `len` bytes at `gpa` (zeros where unbacked), for assertions.
    pub fn read_vec(&self, gpa: u64, len: usize) -> Vec<u8> {
        let mut v = alloc::vec![0u8; len];
        let _ = self.read_guest(gpa, &mut v);
        v
    }
}

impl Platform for MemoryPlatform {
    fn read_guest(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.check(gpa, buf.len())?;
        let mut done = 0usize;
        while done < buf.len() {
            let a = gpa + done as u64;
            let off = (a % PAGE) as usize;
            let n = (PAGE as usize - off).min(buf.len() - done);
            match self.pages.get(&(a / PAGE)) {
                Some(p) => buf[done..done + n].copy_from_slice(&p[off..off + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
        }
        Ok(())
    }

    fn write_guest(&mut self, gpa: u64, data: &[u8]) -> Result<(), MemError> {
        self.check(gpa, data.len())?;
        let mut done = 0usize;
        while done < data.len() {
            let a = gpa + done as u64;
            let off = (a % PAGE) as usize;
            let n = (PAGE as usize - off).min(data.len() - done);
            let page = self
                .pages
                .entry(a / PAGE)
                .or_insert_with(|| alloc::vec![0u8; PAGE as usize]);
            page[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    fn raise_sint(&mut self, irq: SintInterrupt) {
        self.interrupts.push(irq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_sparse_and_bounded() {
        let mut m = MemoryPlatform::with_ram(0x3000);
        m.write_guest(0xFFE, &[1, 2, 3, 4]).unwrap();
        assert_eq!(m.read_vec(0xFFE, 4), [1, 2, 3, 4]);
        assert_eq!(
            m.write_guest(0x2FFF, &[0, 0]),
            Err(MemError { gpa: 0x3000 })
        );
        assert_eq!(m.fetch_or_u8(0x10, 0x4).unwrap(), 0);
        assert_eq!(m.fetch_or_u8(0x10, 0x1).unwrap(), 0x4);
    }
}
