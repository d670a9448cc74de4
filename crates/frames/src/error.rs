//! The frame allocator's error type.

use core::fmt;

/// Why a frame-allocator operation was refused. No operation that returns
/// an error has changed the allocator's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// No free frame (or no free run of the requested size and alignment).
    OutOfFrames,
    /// The bitmap storage holds fewer words than the memory map needs.
    StorageTooSmall {
        /// Words the map needs ([`storage_words`](crate::storage_words)).
        needed: usize,
        /// Words supplied.
        supplied: usize,
    },
    /// A contiguous request for zero frames.
    ZeroCount,
    /// An alignment that is not a power of two of at least 4 KiB.
    BadAlignment {
        /// The alignment asked for, in bytes.
        align: u64,
    },
    /// The address is not 4 KiB aligned.
    Unaligned {
        /// The address given.
        phys: u64,
    },
    /// The address lies outside the memory the allocator manages.
    OutOfRange {
        /// The address given.
        phys: u64,
    },
    /// The frame is not the allocator's to hand out (reserved, not yet
    /// reclaimed, or frame 0).
    Reserved {
        /// The address of the frame.
        phys: u64,
    },
    /// The frame is already free: a double free, or a free of a frame the
    /// allocator never handed out.
    DoubleFree {
        /// The address of the frame.
        phys: u64,
    },
    /// `claim` found a frame that is already in use.
    NotFree {
        /// The address of the frame.
        phys: u64,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::OutOfFrames => write!(f, "out of physical frames"),
            FrameError::StorageTooSmall { needed, supplied } => {
                write!(f, "bitmap storage too small: {supplied} of {needed} words")
            }
            FrameError::ZeroCount => write!(f, "request for zero frames"),
            FrameError::BadAlignment { align } => write!(f, "bad alignment {align:#x}"),
            FrameError::Unaligned { phys } => write!(f, "address {phys:#x} not 4 KiB aligned"),
            FrameError::OutOfRange { phys } => write!(f, "frame {phys:#x} out of range"),
            FrameError::Reserved { phys } => write!(f, "frame {phys:#x} is reserved"),
            FrameError::DoubleFree { phys } => write!(f, "frame {phys:#x} is already free"),
            FrameError::NotFree { phys } => write!(f, "frame {phys:#x} is in use"),
        }
    }
}
