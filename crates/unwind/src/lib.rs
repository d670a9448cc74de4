//! Stack unwinding over a memory reader that may refuse any address.
//!
//! The unwinder never dereferences a pointer itself: every stack slot and
//! every byte of unwind data it reads from the unwound program comes through
//! a [`Memory`], which answers `None` for an address it cannot read. Both
//! walkers stop on the first frame they cannot explain, so a corrupt stack,
//! corrupt unwind data or a loop ends the walk with an error, never a panic
//! (the property tests feed them random bytes).
//!
//! - [`dwarf`]: DWARF call-frame information (`.debug_frame` or
//!   `.eh_frame`), as the kernel's ELF carries it.
//! - [`windows`]: Windows x64 unwind data (`.pdata`/`.xdata`), as every
//!   PE32+ program built here carries it.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod dwarf;
pub mod windows;

/// Reads the unwound program's memory.
pub trait Memory {
    /// The little-endian 64-bit word at `address`, or `None` when it cannot
    /// be read.
    fn read_u64(&self, address: u64) -> Option<u64>;

    /// The byte at `address`, or `None` when it cannot be read. The default
    /// reads the aligned word around it.
    fn read_u8(&self, address: u64) -> Option<u8> {
        let word = self.read_u64(address & !7)?;
        Some((word >> ((address & 7) * 8)) as u8)
    }
}

/// The registers an unwinder tracks: the instruction and stack pointers and
/// the callee-saved registers of both x86-64 calling conventions (System V:
/// RBX, RBP, R12–R15; Windows x64 also RSI and RDI), indexed by DWARF
/// register number (System V AMD64 ABI, Figure 3.36: 0 RAX, 1 RDX, 2 RCX,
/// 3 RBX, 4 RSI, 5 RDI, 6 RBP, 7 RSP, 8–15 R8–R15).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    /// The instruction pointer: the faulting instruction in the first frame,
    /// a return address in every later one.
    pub rip: u64,
    /// General-purpose registers by DWARF number; `None` where the value is
    /// not known (a caller-saved register after the first frame).
    pub gpr: [Option<u64>; 16],
}

/// DWARF register numbers of the registers the walkers use by name.
pub mod reg {
    /// RBX.
    pub const RBX: usize = 3;
    /// RSI.
    pub const RSI: usize = 4;
    /// RDI.
    pub const RDI: usize = 5;
    /// RBP.
    pub const RBP: usize = 6;
    /// RSP.
    pub const RSP: usize = 7;
}

impl Registers {
    /// The stack pointer, if known.
    pub fn rsp(&self) -> Option<u64> {
        self.gpr[reg::RSP]
    }
}

/// Why a walk stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// No unwind data covers the instruction pointer (the outermost frame,
    /// an assembly stub, or code outside the image).
    NoUnwindInfo,
    /// The unwind data for the instruction pointer is malformed or uses a
    /// rule the walker does not evaluate.
    BadUnwindInfo,
    /// A saved register or the return address could not be read.
    Unreadable,
    /// The caller's stack pointer is not above the callee's, or the return
    /// address is zero: the stack is corrupt or the walk reached its end.
    BadFrame,
}
