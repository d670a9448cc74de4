//! The BSP's local APIC: the INIT-SIPI-SIPI sequence and its delays.
//!
//! Runs after ExitBootServices, so the delays come from the TSC rate the
//! loader measured before (no firmware timer is left).

use crate::cpu;
use core::sync::atomic::{fence, AtomicU64, Ordering};
use handoff::mp::{self, Ipi, TscRate};

/// Longest wait for the xAPIC to finish sending one IPI.
const SEND_TIMEOUT_US: u64 = 10_000;

/// INIT, 10 ms, SIPI, 200 µs, SIPI (SDM Vol. 3A §9.4.4.1), then up to
/// 100 ms for the AP to report in.
pub fn start_one(apic: &Apic, rate: TscRate, apic_id: u32, vector: u8, booted: &AtomicU64) -> bool {
    apic.send(Ipi::Init, apic_id, rate);
    spin(rate, mp::INIT_WAIT_US);
    apic.send(Ipi::Startup { vector }, apic_id, rate);
    spin(rate, mp::SIPI_WAIT_US);
    apic.send(Ipi::Startup { vector }, apic_id, rate);
    let deadline = rate.deadline(cpu::rdtsc(), mp::AP_TIMEOUT_US);
    loop {
        if booted.load(Ordering::Acquire) == 1 {
            return true;
        }
        if cpu::rdtsc() >= deadline {
            return false;
        }
        core::hint::spin_loop();
    }
}

/// Busy-waits `us` microseconds on the TSC.
pub fn spin(rate: TscRate, us: u64) {
    let deadline = rate.deadline(cpu::rdtsc(), us);
    while cpu::rdtsc() < deadline {
        core::hint::spin_loop();
    }
}

/// The BSP's local APIC, for sending IPIs.
pub enum Apic {
    /// x2APIC mode: ICR is MSR 0x830.
    X2,
    /// xAPIC mode: MMIO at this physical base (identity-mapped by the
    /// firmware's tables, still loaded).
    X(u64),
}

impl Apic {
    /// Switches the BSP to x2APIC mode if `x2apic`, and returns how to
    /// reach its ICR.
    pub fn new(x2apic: bool) -> Self {
        // SAFETY: CPUID said there is a local APIC, so IA32_APIC_BASE
        // exists.
        let base = unsafe { cpu::rdmsr(mp::IA32_APIC_BASE) };
        if x2apic {
            let on = base | mp::APIC_GLOBAL_ENABLE | mp::APIC_X2APIC_MODE;
            // SAFETY: CPUID said the x2APIC exists; xAPIC → x2APIC is a
            // legal transition (SDM Vol. 3A §11.12.5), and nothing else
            // uses the APIC after ExitBootServices.
            unsafe { cpu::wrmsr(mp::IA32_APIC_BASE, on) };
            Self::X2
        } else {
            Self::X(base & 0x000f_ffff_ffff_f000)
        }
    }

    /// Sends `ipi` to `dest` and waits (xAPIC) until it has left.
    pub fn send(&self, ipi: Ipi, dest: u32, rate: TscRate) {
        // The AP must see the parameters written before this IPI; a
        // WRMSR to the x2APIC ICR does not order earlier stores (SDM
        // Vol. 3A §11.12.3).
        fence(Ordering::SeqCst);
        match *self {
            Self::X2 => {
                // SAFETY: x2APIC mode is on; writing the ICR sends one IPI.
                unsafe { cpu::wrmsr(mp::X2APIC_ICR_MSR, ipi.x2apic_icr(dest)) };
            }
            Self::X(base) => {
                // `plan` left out ids that do not fit 8 bits.
                let (high, low) = ipi.xapic_icr(dest as u8);
                let icr_high = (base + mp::XAPIC_ICR_HIGH) as *mut u32;
                let icr_low = (base + mp::XAPIC_ICR_LOW) as *mut u32;
                // SAFETY: the APIC's MMIO page, identity-mapped; the ICR
                // registers are 32 bits wide; the low write sends.
                unsafe {
                    icr_high.write_volatile(high);
                    icr_low.write_volatile(low);
                }
                let deadline = rate.deadline(cpu::rdtsc(), SEND_TIMEOUT_US);
                // SAFETY: as above; reading the ICR has no side effect.
                while unsafe { icr_low.read_volatile() } & mp::XAPIC_ICR_PENDING != 0 {
                    if cpu::rdtsc() >= deadline {
                        break;
                    }
                    core::hint::spin_loop();
                }
            }
        }
    }
}
