//! The reading end of a ring (sheet §4.5).

use super::{
    IndexKind, Ring, RingError, RingMemory, FEATURE_BITS, FEATURE_PENDING_SEND_SIZE,
    INTERRUPT_MASK, PENDING_SEND_SIZE, READ_INDEX, TRAILER_SIZE,
};
use crate::packet::{Descriptor, DESCRIPTOR_SIZE};

/// The reading end of a ring (for the guest: the host → guest ring).
pub struct RingConsumer<M> {
    ring: Ring<M>,
    /// Where the next packet starts (private, ahead of `published`).
    read_index: u32,
    /// The read_index last stored in shared memory.
    published: u32,
}

impl<M: RingMemory> RingConsumer<M> {
    /// Takes over a ring, adopting its current (validated) read_index.
    pub fn new(mem: M) -> Result<Self, RingError> {
        let ring = Ring::new(mem)?;
        let read_index = ring.load_index(IndexKind::Read)?;
        Ok(RingConsumer {
            ring,
            read_index,
            published: read_index,
        })
    }

    /// Data area size D.
    pub fn data_size(&self) -> usize {
        self.ring.data_size as usize
    }

    /// Bytes readable past the private read index, per one load of the
    /// producer's write_index.
    pub fn readable(&self) -> Result<usize, RingError> {
        let w = self.ring.load_index(IndexKind::Write)?;
        Ok(self.ring.readable(w, self.read_index) as usize)
    }

    /// Copies the next descriptor out and validates it against what is
    /// readable. Returns the copy and the readable byte count.
    fn next_descriptor(&self) -> Result<Option<(Descriptor, [u8; DESCRIPTOR_SIZE])>, RingError> {
        let readable = self.readable()?;
        if readable == 0 {
            return Ok(None);
        }
        let min = DESCRIPTOR_SIZE + TRAILER_SIZE;
        if readable < min {
            return Err(RingError::Truncated {
                needed: min,
                readable,
            });
        }
        let mut raw = [0; DESCRIPTOR_SIZE];
        self.ring.copy_out(self.read_index, &mut raw);
        let d = Descriptor::parse(&raw).map_err(RingError::Descriptor)?;
        d.check_offsets().map_err(RingError::Descriptor)?;
        let needed = d.packet_len() + TRAILER_SIZE;
        if needed > readable {
            return Err(RingError::Truncated { needed, readable });
        }
        Ok(Some((d, raw)))
    }

    /// The next packet's descriptor without consuming it (e.g. to size a
    /// buffer). [`RingConsumer::read`] validates its own copy again.
    pub fn peek(&self) -> Result<Option<Descriptor>, RingError> {
        Ok(self.next_descriptor()?.map(|(d, _)| d))
    }

    /// Copies the next packet (len8 × 8 bytes, trailer excluded) into
    /// `buf` and consumes it; returns its length, or `None` if the ring is
    /// empty. Call [`RingConsumer::commit`] after a batch.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<Option<usize>, RingError> {
        let Some((d, raw)) = self.next_descriptor()? else {
            return Ok(None);
        };
        let len = d.packet_len();
        let Some(dst) = buf.get_mut(..len) else {
            return Err(RingError::BufferTooSmall { needed: len });
        };
        // The descriptor bytes are the validated copy, not a second read.
        dst[..DESCRIPTOR_SIZE].copy_from_slice(&raw);
        let body = self.ring.advance(self.read_index, DESCRIPTOR_SIZE);
        self.ring.copy_out(body, &mut dst[DESCRIPTOR_SIZE..]);
        self.read_index = self.ring.advance(self.read_index, len + TRAILER_SIZE);
        Ok(Some(len))
    }

    /// Consumes the next packet without copying it.
    pub fn skip(&mut self) -> Result<bool, RingError> {
        let Some((d, _)) = self.next_descriptor()? else {
            return Ok(false);
        };
        self.read_index = self
            .ring
            .advance(self.read_index, d.packet_len() + TRAILER_SIZE);
        Ok(true)
    }

    /// Publishes the read index after a batch. Returns whether the
    /// producer must be signalled: it set feature bit 0 and a
    /// pending_send_sz P, and this batch took free space from ≤ P to > P
    /// (§4.5 step 4, free space including the 8-byte slack).
    #[must_use = "the producer may have to be signalled (HvSignalEvent)"]
    pub fn commit(&mut self) -> Result<bool, RingError> {
        if self.read_index == self.published {
            return Ok(false);
        }
        // All packet reads complete before the producer may reuse the space.
        self.ring.mem.fence();
        self.ring.mem.store_u32(READ_INDEX, self.read_index);
        let bytes_read = self.ring.readable(self.read_index, self.published);
        self.published = self.read_index;
        self.ring.mem.fence();
        if self.ring.mem.load_u32(FEATURE_BITS) & FEATURE_PENDING_SEND_SIZE == 0 {
            return Ok(false);
        }
        let pending = self.ring.mem.load_u32(PENDING_SEND_SIZE);
        if pending == 0 {
            return Ok(false);
        }
        let free_now = self.ring.data_size - self.readable()? as u32;
        let free_before = free_now.saturating_sub(bytes_read);
        Ok(free_before <= pending && free_now > pending)
    }

    /// Sets interrupt_mask: `true` = "don't signal me" while draining.
    pub fn set_interrupt_mask(&mut self, masked: bool) {
        self.ring.mem.store_u32(INTERRUPT_MASK, u32::from(masked));
        self.ring.mem.fence();
    }

    /// Clears interrupt_mask, then re-checks for data that arrived before
    /// the producer could see the change (§4.5 step 5). `true` = drain
    /// again now, no signal will come for it.
    pub fn unmask(&mut self) -> Result<bool, RingError> {
        self.set_interrupt_mask(false);
        Ok(self.readable()? != 0)
    }

    /// Whether the producer of this ring set feature bit 0, i.e. honours
    /// pending_send_sz on the ring going the other way (§4.4 step 1).
    pub fn producer_supports_pending_send(&self) -> bool {
        self.ring.mem.load_u32(FEATURE_BITS) & FEATURE_PENDING_SEND_SIZE != 0
    }

    /// The memory, e.g. to hand it back when the channel closes.
    pub fn into_inner(self) -> M {
        self.ring.mem
    }
}
