//! The writing end of a ring (sheet §4.4).

use super::{
    IndexKind, Ring, RingError, RingMemory, WriteOutcome, INTERRUPT_MASK, PENDING_SEND_SIZE,
    READ_INDEX, TRAILER_SIZE, WRITE_INDEX,
};

/// The writing end of a ring (for the guest: the guest → host ring).
pub struct RingProducer<M> {
    ring: Ring<M>,
    write_index: u32,
}

impl<M: RingMemory> RingProducer<M> {
    /// Takes over a ring, adopting its current (validated) write_index.
    pub fn new(mem: M) -> Result<Self, RingError> {
        let ring = Ring::new(mem)?;
        let write_index = ring.load_index(IndexKind::Write)?;
        Ok(RingProducer { ring, write_index })
    }

    /// Data area size D.
    pub fn data_size(&self) -> usize {
        self.ring.data_size as usize
    }

    /// Free bytes (D − readable) as the consumer's read_index says now.
    pub fn free(&self) -> Result<usize, RingError> {
        let r = self.ring.load_index(IndexKind::Read)?;
        Ok((self.ring.data_size - self.ring.readable(self.write_index, r)) as usize)
    }

    /// Writes one packet given as pieces whose total length is a multiple
    /// of 8, then its trailer (§4.4). On `Full` nothing was written.
    pub fn write(&mut self, parts: &[&[u8]]) -> Result<WriteOutcome, RingError> {
        let len = parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
        if !len.is_multiple_of(8) {
            return Err(RingError::Unaligned(len));
        }
        let needed = len.saturating_add(TRAILER_SIZE);
        let capacity = self.data_size();
        // Writable space must stay strictly above the packet: a packet of
        // D bytes or more can never go in.
        if needed >= capacity {
            return Err(RingError::TooLarge { needed, capacity });
        }
        let free = self.free()?;
        if free <= needed {
            return Err(RingError::Full { needed, free });
        }
        let start = self.write_index;
        let mut at = start;
        for part in parts {
            at = self.ring.copy_in(at, part);
        }
        let trailer = u64::from(start) << 32;
        at = self.ring.copy_in(at, &trailer.to_le_bytes());
        // Packet bytes must be visible before the index that exposes them.
        self.ring.mem.fence();
        self.ring.mem.store_u32(WRITE_INDEX, at);
        self.write_index = at;
        self.ring.mem.fence();
        let masked = self.ring.mem.load_u32(INTERRUPT_MASK) != 0;
        let read_index = self.ring.mem.load_u32(READ_INDEX);
        Ok(WriteOutcome {
            signal: !masked && read_index == start,
        })
    }

    /// Sets pending_send_sz: "signal me when more than `bytes` are free".
    /// Use it after `Full` when the consumer set feature bit 0 on the ring
    /// it produces into (§4.4 step 1); 0 clears it.
    pub fn set_pending_send_size(&mut self, bytes: u32) {
        self.ring.mem.store_u32(PENDING_SEND_SIZE, bytes);
        self.ring.mem.fence();
    }

    /// The memory, e.g. to hand it back when the channel closes.
    pub fn into_inner(self) -> M {
        self.ring.mem
    }
}
