//! One direction of a channel's ring buffer: producer and consumer.
//!
//! Follows facts sheet §4.1, §4.2, §4.4 and §4.5. A ring is a 4096-byte
//! header page (write_index, read_index, interrupt_mask, pending_send_sz,
//! feature_bits) followed by a data area of D bytes holding packets, each
//! followed by an 8-byte trailer. The memory sits behind [`RingMemory`]:
//! the kernel implements it over HHDM pages, tests over a `Vec<u8>`.
//!
//! The other side of a ring is the host, and the host is not trusted. Each
//! side keeps its own index privately and only publishes it; every value
//! read from shared memory (the peer's index, a packet descriptor) is read
//! once into a local copy, validated, and only then used. Any nonsense
//! gives a [`RingError`]; nothing here panics or loops on shared values.
//! After an error the channel should be treated as broken and closed.

mod consumer;
mod error;
mod memory;
mod producer;

pub use consumer::RingConsumer;
pub use error::{IndexKind, RingError};
pub use memory::RingMemory;
pub use producer::RingProducer;

/// Size of the header page.
pub const RING_HEADER_SIZE: usize = 4096;
/// Size of the trailer after every packet.
pub const TRAILER_SIZE: usize = 8;
/// feature_bits bit 0: the ring's producer honours pending_send_sz.
pub const FEATURE_PENDING_SEND_SIZE: u32 = 1;

// Header page offsets (§4.2).
const WRITE_INDEX: usize = 0x00;
const READ_INDEX: usize = 0x04;
const INTERRUPT_MASK: usize = 0x08;
const PENDING_SEND_SIZE: usize = 0x0C;
const FEATURE_BITS: usize = 0x40;

/// What a successful write asks of the caller.
#[must_use = "the consumer may have to be signalled (HvSignalEvent)"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Signal the consumer: it had drained the ring and asked for signals.
    pub signal: bool,
}

/// Zeroes a ring's header page and sets feature bit 0, as the guest does
/// for both rings before OPENCHANNEL (§4.2).
pub fn init_header<M: RingMemory>(mem: &mut M) -> Result<(), RingError> {
    data_size(mem)?;
    mem.write(0, &[0; RING_HEADER_SIZE]);
    mem.store_u32(FEATURE_BITS, FEATURE_PENDING_SEND_SIZE);
    Ok(())
}

fn data_size<M: RingMemory>(mem: &M) -> Result<u32, RingError> {
    let size = mem.size();
    let data = size.saturating_sub(RING_HEADER_SIZE);
    if data == 0 || !data.is_multiple_of(8) || data >= 1 << 31 {
        return Err(RingError::Size(size));
    }
    Ok(data as u32)
}

/// Shared state of both ends: memory and data size.
struct Ring<M> {
    mem: M,
    data_size: u32,
}

impl<M: RingMemory> Ring<M> {
    fn new(mem: M) -> Result<Self, RingError> {
        let data_size = data_size(&mem)?;
        Ok(Ring { mem, data_size })
    }

    /// Loads a shared index once and validates it.
    fn load_index(&self, kind: IndexKind) -> Result<u32, RingError> {
        let offset = match kind {
            IndexKind::Write => WRITE_INDEX,
            IndexKind::Read => READ_INDEX,
        };
        let value = self.mem.load_u32(offset);
        if value >= self.data_size || !value.is_multiple_of(8) {
            return Err(RingError::Index { kind, value });
        }
        Ok(value)
    }

    /// Bytes between read index `r` and write index `w` (both < D).
    fn readable(&self, w: u32, r: u32) -> u32 {
        if w >= r {
            w - r
        } else {
            self.data_size - r + w
        }
    }

    fn advance(&self, index: u32, by: usize) -> u32 {
        ((index as u64 + by as u64) % self.data_size as u64) as u32
    }

    /// Copies out of the data area at `at`, wrapping; `buf.len() <= D`.
    fn copy_out(&self, at: u32, buf: &mut [u8]) {
        let at = at as usize;
        let first = buf.len().min(self.data_size as usize - at);
        let (a, b) = buf.split_at_mut(first);
        self.mem.read(RING_HEADER_SIZE + at, a);
        if !b.is_empty() {
            self.mem.read(RING_HEADER_SIZE, b);
        }
    }

    /// Copies into the data area at `at`, wrapping; returns the next offset.
    fn copy_in(&mut self, at: u32, buf: &[u8]) -> u32 {
        let start = at as usize;
        let first = buf.len().min(self.data_size as usize - start);
        let (a, b) = buf.split_at(first);
        self.mem.write(RING_HEADER_SIZE + start, a);
        if !b.is_empty() {
            self.mem.write(RING_HEADER_SIZE, b);
        }
        self.advance(at, buf.len())
    }
}

#[cfg(test)]
mod tests;
