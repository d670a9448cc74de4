//! Hyper-V's primitives on real hardware: the synthetic MSRs and the
//! hypercall through the hypercall page (sheet §1.2–§1.4). Only the
//! `hyperv` module calls these, and only after CPUID said Hyper-V is
//! there and grants them.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::model_specific::Msr;

/// HV_X64_MSR_HYPERCALL (sheet §1.3).
const MSR_HYPERCALL: u32 = 0x4000_0001;
/// Its enable bit; bits 11:1 are kept as read.
const HYPERCALL_ENABLE: u64 = 1;

/// Kernel address of the hypercall page, once enabled (0 before).
static PAGE: AtomicU64 = AtomicU64::new(0);

/// The synthetic MSRs: 0x4000_0000 ..= 0x4000_00FF (sheet §1.2, §2.1).
fn synthetic(msr: u32) -> bool {
    (0x4000_0000..=0x4000_00ff).contains(&msr)
}

/// Reads synthetic MSR `msr`; `None` for any other MSR.
pub fn read_synthetic_msr(msr: u32) -> Option<u64> {
    // SAFETY: only synthetic MSRs, which exist once CPUID has reported
    // Hyper-V with the privileges the caller checked; reads have no effect.
    synthetic(msr).then(|| unsafe { Msr::new(msr).read() })
}

/// Writes synthetic MSR `msr`; false (nothing written) for any other MSR.
/// The hypercall MSR is written only by [`enable_hypercall_page`].
pub fn write_synthetic_msr(msr: u32, value: u64) -> bool {
    if !synthetic(msr) || msr == MSR_HYPERCALL {
        return false;
    }
    // SAFETY: as in `read_synthetic_msr`; these MSRs configure the
    // hypervisor's view of this VP (guest id, SynIC pages and SINTs).
    unsafe { Msr::new(msr).write(value) };
    true
}

/// Enables the hypercall page (sheet §1.3) in a frame of its own, which
/// the hypervisor fills in and the kernel maps executable, never
/// writable. The guest OS id must be set first. Once only; the frame is
/// never freed.
pub fn enable_hypercall_page() -> Result<(), crate::mm::MmError> {
    if PAGE.load(Ordering::Acquire) != 0 {
        return Ok(());
    }
    let frame = crate::mm::frame_alloc::OwnedFrames::new(1, 4096)?;
    let phys = frame.phys();
    let virt = crate::mm::kernel_space::map_code_frame(phys)?;
    // The frame stays the hypervisor's for good.
    core::mem::forget(frame);
    let mut msr = Msr::new(MSR_HYPERCALL);
    // SAFETY: the hypercall MSR exists under Hyper-V (checked by the
    // caller); pointing it at a frame we own and gave up makes the
    // hypervisor write its stub there and nowhere else.
    unsafe {
        let old = msr.read();
        msr.write((old & 0xffe) | (phys & !0xfff) | HYPERCALL_ENABLE);
    }
    PAGE.store(virt, Ordering::Release);
    Ok(())
}

/// A hypercall: `control` in RCX, the input and output GPAs in RDX and
/// R8, the result from RAX (sheet §1.4); `None` before the page exists.
pub fn hypercall(control: u64, input: u64, output: u64) -> Option<u64> {
    let page = PAGE.load(Ordering::Acquire);
    if page == 0 {
        return None;
    }
    let result: u64;
    // SAFETY: `page` maps (executable) the frame the hypervisor filled with
    // its stub, which returns with `ret`; every caller-saved register is
    // treated as clobbered.
    unsafe {
        core::arch::asm!(
            "call {page}",
            page = in(reg) page,
            inlateout("rcx") control => _,
            inlateout("rdx") input => _,
            inlateout("r8") output => _,
            lateout("rax") result,
            clobber_abi("sysv64"),
        );
    }
    Some(result)
}
