//! The architecture layer: the only home of asm, ports, MSRs and CRx.
//!
//! Everything above this module is safe Rust over the small API re-exported
//! here (style.md §2).

pub mod x86_64;

pub use self::x86_64::*;
