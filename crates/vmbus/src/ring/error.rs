//! Ring failures.

use core::fmt;

use crate::packet::PacketError;

/// Which shared index was bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKind {
    /// The producer's write_index.
    Write,
    /// The consumer's read_index.
    Read,
}

/// Ring failures. `Full` is the only one that a retry may cure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// Memory that is not a header page plus a non-empty data area whose
    /// size is a multiple of 8 and below 2^31.
    Size(usize),
    /// A shared index at or past the data size, or not 8-byte aligned.
    Index {
        /// Which index.
        kind: IndexKind,
        /// The value read.
        value: u32,
    },
    /// Not enough free space now (the ring is never filled completely).
    Full {
        /// Bytes the packet needs, trailer included.
        needed: usize,
        /// Bytes free.
        free: usize,
    },
    /// A packet that can never fit in this ring.
    TooLarge {
        /// Bytes the packet needs, trailer included.
        needed: usize,
        /// Data area size.
        capacity: usize,
    },
    /// A packet whose length is not a multiple of 8.
    Unaligned(usize),
    /// A descriptor with nonsense offsets.
    Descriptor(PacketError),
    /// Fewer bytes readable than the packet (or a descriptor) claims.
    Truncated {
        /// Bytes the packet claims, trailer included.
        needed: usize,
        /// Bytes readable.
        readable: usize,
    },
    /// The caller's buffer is shorter than the packet; nothing consumed.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingError::Size(n) => write!(f, "ring memory of {n} bytes unusable"),
            RingError::Index { kind, value } => write!(f, "bad {kind:?} index {value:#x}"),
            RingError::Full { needed, free } => write!(f, "ring full: need {needed}, {free} free"),
            RingError::TooLarge { needed, capacity } => {
                write!(f, "packet of {needed} bytes exceeds ring of {capacity}")
            }
            RingError::Unaligned(n) => write!(f, "packet length {n} not 8-aligned"),
            RingError::Descriptor(e) => write!(f, "bad descriptor: {e}"),
            RingError::Truncated { needed, readable } => {
                write!(f, "packet claims {needed} bytes, {readable} readable")
            }
            RingError::BufferTooSmall { needed } => write!(f, "buffer needs {needed} bytes"),
        }
    }
}
