//! The local APIC: xAPIC registers (or x2APIC MSRs), EOI and the timer.
//!
//! Register offsets: Intel SDM Vol. 3A §11.4.1, Table 11-1; in x2APIC mode
//! register `off` is MSR `0x800 + off / 16` (§11.12.1.2).

use crate::mm::mmio::Mmio;
use crate::mm::MmError;
use spin::Once;
use x86_64::registers::model_specific::Msr;

const ID: u64 = 0x20;
const TPR: u64 = 0x80;
const EOI: u64 = 0xb0;
const SVR: u64 = 0xf0;
const ESR: u64 = 0x280;
const LVT_TIMER: u64 = 0x320;
const LVT_LINT0: u64 = 0x350;
const LVT_LINT1: u64 = 0x360;
const LVT_ERROR: u64 = 0x370;
const TIMER_INITIAL: u64 = 0x380;
const TIMER_CURRENT: u64 = 0x390;
const TIMER_DIVIDE: u64 = 0x3e0;
const ICR_LOW: u64 = 0x300;
const ICR_HIGH: u64 = 0x310;
/// ICR delivery status (xAPIC only): set while the IPI is being sent.
const ICR_PENDING: u32 = 1 << 12;
/// ICR delivery mode NMI (SDM Vol. 3A §11.6.1, Figure 11-12).
const ICR_NMI: u32 = 0b100 << 8;
/// ICR level "assert" (must be 1 for every mode but INIT de-assert).
const ICR_ASSERT: u32 = 1 << 14;
/// IA32_APIC_BASE (SDM Vol. 3A §11.4.4): bit 11 enable, bit 10 x2APIC.
const IA32_APIC_BASE: u32 = 0x1b;
/// LVT mask bit.
const MASKED: u32 = 1 << 16;
/// LVT timer mode bits 17–18: periodic.
const PERIODIC: u32 = 1 << 17;

/// The vector the APIC uses for spurious interrupts (low nibble all ones,
/// as P6-family APICs require; SDM Vol. 3A §11.9).
pub const SPURIOUS_VECTOR: u8 = 0xff;

enum Access {
    X2Apic,
    Mmio(Mmio),
}

static LAPIC: Once<Access> = Once::new();

fn read(reg: u64) -> u32 {
    match LAPIC.get() {
        // SAFETY: x2APIC mode is on (set in `init`), so MSR 0x800 + reg/16
        // is the architectural register; reading it has no side effect.
        Some(Access::X2Apic) => unsafe { Msr::new(0x800 + (reg >> 4) as u32).read() as u32 },
        Some(Access::Mmio(m)) => m.read32(reg),
        None => 0,
    }
}

fn write(reg: u64, value: u32) {
    match LAPIC.get() {
        // SAFETY: as in `read`; the callers in this module write only
        // values the SDM defines for each register.
        Some(Access::X2Apic) => unsafe {
            Msr::new(0x800 + (reg >> 4) as u32).write(u64::from(value))
        },
        Some(Access::Mmio(m)) => m.write32(reg, value),
        None => {}
    }
}

/// How the local APIC is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// x2APIC (MSRs).
    X2Apic,
    /// xAPIC (uncached MMIO window).
    XApic,
}

/// Whether the CPU has an x2APIC (CPUID.1:ECX bit 21).
pub fn has_x2apic() -> bool {
    super::cpu::cpuid(1, 0).ecx & (1 << 21) != 0
}

/// Enables this CPU's local APIC: x2APIC when present, else xAPIC at
/// `phys`; spurious vector set, LINT0/LINT1 and the timer masked, TPR 0.
pub fn init(phys: u64) -> Result<Mode, MmError> {
    let mode = if has_x2apic() {
        enable_x2apic();
        LAPIC.call_once(|| Access::X2Apic);
        Mode::X2Apic
    } else {
        let window = Mmio::map(phys, 0x400)?;
        LAPIC.call_once(|| Access::Mmio(window));
        Mode::XApic
    };
    program();
    Ok(mode)
}

/// Switches this CPU's APIC to x2APIC mode (a no-op if it is already).
fn enable_x2apic() {
    // SAFETY: enabling x2APIC (bits 11 and 10) is the documented
    // transition from xAPIC mode (SDM Vol. 3A §11.12.1); this CPU has not
    // used its MMIO window since, and setting bits already set is a no-op.
    unsafe {
        let mut base = Msr::new(IA32_APIC_BASE);
        let value = base.read();
        if value & (3 << 10) != 3 << 10 {
            base.write(value | (1 << 11) | (1 << 10));
        }
    }
}

/// On a newly started CPU: enables its local APIC the way [`init`] chose
/// for the bootstrap CPU. Returns this CPU's APIC id.
pub fn init_ap() -> Option<u32> {
    match LAPIC.get()? {
        Access::X2Apic => enable_x2apic(),
        Access::Mmio(_) => {}
    }
    program();
    Some(id())
}

fn program() {
    write(TPR, 0);
    write(LVT_TIMER, MASKED);
    write(LVT_LINT0, MASKED);
    write(LVT_LINT1, MASKED);
    write(LVT_ERROR, MASKED);
    write(ESR, 0);
    write(SVR, 0x100 | u32::from(SPURIOUS_VECTOR)); // bit 8: APIC enabled
}

/// Sends a fixed-mode IPI with `vector` to the CPU with APIC id `dest`.
pub fn send_ipi(dest: u32, vector: u8) {
    send(dest, ICR_ASSERT | u32::from(vector));
}

/// Sends an NMI to the CPU with APIC id `dest`.
pub fn send_nmi(dest: u32) {
    send(dest, ICR_ASSERT | ICR_NMI);
}

fn send(dest: u32, low: u32) {
    super::cpu::without_interrupts(|| match LAPIC.get() {
        Some(Access::X2Apic) => {
            // SAFETY: the x2APIC ICR (MSR 0x830) takes the destination in
            // bits 63:32 and sends on one write (SDM Vol. 3A §11.12.9).
            unsafe { Msr::new(0x830).write(u64::from(dest) << 32 | u64::from(low)) }
        }
        Some(Access::Mmio(m)) => {
            // Interrupts are off, so the two halves cannot be interleaved
            // with another send on this CPU; wait out the previous one.
            while m.read32(ICR_LOW) & ICR_PENDING != 0 {
                core::hint::spin_loop();
            }
            m.write32(ICR_HIGH, dest << 24);
            m.write32(ICR_LOW, low);
        }
        None => {}
    });
}

/// This CPU's APIC id.
pub fn id() -> u32 {
    match LAPIC.get() {
        Some(Access::X2Apic) => read(ID),
        _ => read(ID) >> 24,
    }
}

/// Signals the end of the interrupt being handled.
pub fn eoi() {
    write(EOI, 0);
}

/// Divide configuration for divide-by-16 (SDM Vol. 3A Figure 11-10).
const DIVIDE_16: u32 = 0b0011;

/// Starts the timer counting down from `initial` (bus clock / 16) with
/// its interrupt masked, for calibration.
pub fn timer_start_masked(initial: u32) {
    write(TIMER_DIVIDE, DIVIDE_16);
    write(LVT_TIMER, MASKED);
    write(TIMER_INITIAL, initial);
}

/// The timer's current count.
pub fn timer_current() -> u32 {
    read(TIMER_CURRENT)
}

/// Fires `vector` every `initial` timer counts (bus clock / 16).
pub fn timer_periodic(vector: u8, initial: u32) {
    write(TIMER_DIVIDE, DIVIDE_16);
    write(LVT_TIMER, PERIODIC | u32::from(vector));
    write(TIMER_INITIAL, initial);
}

/// Stops the timer.
pub fn timer_stop() {
    write(LVT_TIMER, MASKED);
    write(TIMER_INITIAL, 0);
}

/// The LVT timer register (for self-checks).
pub fn timer_lvt() -> u32 {
    read(LVT_TIMER)
}
