//! The memory behind one ring, as the ring code sees it.

/// The memory of one ring: header page, then data area. Offsets given to
/// these methods are always inside `0..size()`; the ring code checks.
pub trait RingMemory {
    /// Total bytes: 4096 header bytes plus the data area.
    fn size(&self) -> usize;
    /// Copies `buf.len()` bytes starting at `offset` into `buf`.
    fn read(&self, offset: usize, buf: &mut [u8]);
    /// Copies `buf` into memory starting at `offset`.
    fn write(&mut self, offset: usize, buf: &[u8]);

    /// Reads one 4-byte-aligned header word. Override to use a single
    /// atomic/volatile load on shared memory.
    fn load_u32(&self, offset: usize) -> u32 {
        let mut b = [0; 4];
        self.read(offset, &mut b);
        u32::from_le_bytes(b)
    }

    /// Writes one 4-byte-aligned header word. Override to use a single
    /// atomic/volatile store on shared memory.
    fn store_u32(&mut self, offset: usize, value: u32) {
        self.write(offset, &value.to_le_bytes());
    }

    /// A full memory barrier between the accesses before and after it.
    fn fence(&self) {
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    }
}

impl RingMemory for alloc::vec::Vec<u8> {
    fn size(&self) -> usize {
        self.len()
    }
    fn read(&self, offset: usize, buf: &mut [u8]) {
        buf.copy_from_slice(&self[offset..offset + buf.len()]);
    }
    fn write(&mut self, offset: usize, buf: &[u8]) {
        self[offset..offset + buf.len()].copy_from_slice(buf);
    }
}
