//! User FPU, SSE and AVX state: which registers ring 3 may use, and how a
//! thread's are saved at a context switch.
//!
//! Where the CPU has XSAVE and AVX (CPUID.1:ECX bits 26 and 28), the kernel
//! turns on CR4.OSXSAVE and sets XCR0 to x87 | SSE | AVX (Intel SDM Vol. 1
//! §13.3), so programs may use the 256-bit YMM registers, and a switch
//! saves them with XSAVE/XRSTOR. Elsewhere ring 3 has x87 and SSE, saved
//! with FXSAVE/FXRSTOR. The bootstrap CPU chooses once; every CPU started
//! later makes the same choice (the CPUs of one machine are alike here,
//! and one that is not stops with a clear message).
//!
//! The kernel is built soft-float. Its one vector code is the AVX user
//! copy (`user_copy.rs`), which saves the registers it uses and puts them
//! back, so a thread's registers survive its own system calls.

use core::sync::atomic::{AtomicBool, Ordering};
use x86_64::registers::control::{Cr4, Cr4Flags};
use x86_64::registers::xcontrol::{XCr0, XCr0Flags};

/// Bytes of a saved state: the XSAVE area of x87, SSE and AVX is 832
/// (CPUID.0xD.0:EBX), the FXSAVE area 512.
pub const AREA_BYTES: usize = 1024;
/// Where the XSAVE header starts (Vol. 1 §13.4.2): XSTATE_BV, XCOMP_BV
/// and 48 reserved bytes, all of which XRSTOR wants zero but XSTATE_BV.
const XSAVE_HEADER: usize = 512;
/// The state components the kernel enables and saves.
const COMPONENTS: u64 = 0b111; // x87, SSE, AVX

/// A thread's saved FPU state, in the FXSAVE layout (Vol. 1 §10.5.1,
/// Table 10-2) or, with XSAVE on, the standard XSAVE layout that extends
/// it.
#[repr(C, align(64))]
pub struct FpuArea([u8; AREA_BYTES]);

impl FpuArea {
    /// The state of a freshly initialised FPU: FCW 0x037F, all tags empty
    /// (abridged FTW 0), MXCSR 0x1F80 with every exception masked, and all
    /// x87/MMX, XMM and YMM registers zero (XSTATE_BV says the legacy
    /// image is there and AVX is in its initial state).
    pub fn clean() -> Self {
        let mut a = [0u8; AREA_BYTES];
        a[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        a[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        a[28..32].copy_from_slice(&0xffffu32.to_le_bytes()); // MXCSR_MASK
        a[XSAVE_HEADER..XSAVE_HEADER + 8].copy_from_slice(&0b11u64.to_le_bytes());
        Self(a)
    }
}

/// Set once the bootstrap CPU has turned XSAVE and AVX on.
static XSAVE: AtomicBool = AtomicBool::new(false);
/// Whether the bootstrap CPU has chosen yet.
static CHOSEN: AtomicBool = AtomicBool::new(false);

/// How user FPU state is kept on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpuFormat {
    /// XSAVE with AVX (else FXSAVE, x87 and SSE only).
    pub avx: bool,
    /// Bytes of the saved state the CPU writes.
    pub bytes: u32,
}

/// Turns XSAVE and AVX on for this CPU where the CPU has them; the first
/// call (the bootstrap CPU's) makes the choice every later CPU follows.
/// Call after CR4.OSFXSR is on, with interrupts off.
pub fn enable() -> FpuFormat {
    let leaf1 = super::cpu::cpuid(1, 0);
    let has = leaf1.ecx & (1 << 26) != 0 && leaf1.ecx & (1 << 28) != 0;
    let want = if CHOSEN.swap(true, Ordering::AcqRel) {
        let chosen = XSAVE.load(Ordering::Acquire);
        assert!(
            has || !chosen,
            "fpu: this CPU lacks the XSAVE and AVX the bootstrap CPU has"
        );
        chosen
    } else {
        has
    };
    if !want {
        return FpuFormat {
            avx: false,
            bytes: 512,
        };
    }
    // SAFETY: the CPU has XSAVE (checked), so CR4.OSXSAVE may be set and
    // XCR0 written; x87 | SSE | AVX is a valid XCR0 (bit 0 set, AVX with
    // SSE; Vol. 1 §13.3). Only which registers ring 3 may use changes.
    unsafe {
        Cr4::update(|f| f.insert(Cr4Flags::OSXSAVE));
        XCr0::write(XCr0Flags::X87 | XCr0Flags::SSE | XCr0Flags::AVX);
    }
    let bytes = super::cpu::cpuid(0xd, 0).ebx;
    assert!(
        bytes as usize <= AREA_BYTES,
        "fpu: the XSAVE area of x87, SSE and AVX is {bytes} bytes, over {AREA_BYTES}"
    );
    XSAVE.store(true, Ordering::Release);
    FpuFormat { avx: true, bytes }
}

/// Whether ring 3 (and the kernel's user copy) may use AVX.
pub fn avx() -> bool {
    XSAVE.load(Ordering::Relaxed)
}

/// Saves this CPU's FPU state into `area`.
///
/// # Safety
/// `area` must be valid for writes and not used by anyone else meanwhile.
pub unsafe fn save(area: *mut FpuArea) {
    // SAFETY: per the contract; the area is 64-byte aligned and holds the
    // whole XSAVE area (checked in `enable`) or the 512-byte FXSAVE one.
    unsafe {
        if avx() {
            core::arch::asm!(
                "xsave64 [{}]",
                in(reg) area,
                in("eax") COMPONENTS as u32,
                in("edx") 0u32,
                options(nostack),
            );
        } else {
            core::arch::asm!("fxsave64 [{}]", in(reg) area, options(nostack));
        }
    }
}

/// Loads this CPU's FPU state from `area`.
///
/// # Safety
/// `area` must hold a state saved by [`save`] or made by
/// [`FpuArea::clean`], and not be written meanwhile.
pub unsafe fn restore(area: *const FpuArea) {
    // SAFETY: per the contract: the image is one XRSTOR/FXRSTOR accepts
    // (a clean one has a zero XSAVE header but XSTATE_BV, and MXCSR 0x1F80).
    unsafe {
        if avx() {
            core::arch::asm!(
                "xrstor64 [{}]",
                in(reg) area,
                in("eax") COMPONENTS as u32,
                in("edx") 0u32,
                options(nostack, readonly),
            );
        } else {
            core::arch::asm!("fxrstor64 [{}]", in(reg) area, options(nostack, readonly));
        }
    }
}
