//! Time: the HPET reference, the calibrated TSC clock, the LAPIC tick.
#![forbid(unsafe_code)]
//!
//! At boot the TSC was calibrated roughly against the PIT; [`init`] takes
//! the HPET from the ACPI tables (or the ACPI PM timer when there is none),
//! recalibrates the TSC against it and measures the LAPIC timer's rate, then
//! starts the LAPIC timer at [`TICK_HZ`]. [`now_ns`] is the monotonic clock:
//! TSC ticks since boot scaled by the calibrated frequency.

mod hpet;

use crate::acpi::Platform;
use crate::arch::percpu::{self, MAX_CPUS};
use crate::arch::{lapic, port::IoPorts, tsc};
use crate::irq;
use crate::mm::mmio::Mmio;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use spin::Once;

pub use hpet::Hpet;

/// Scheduler tick rate.
pub const TICK_HZ: u64 = 1000;
/// Calibration window.
const CALIBRATION_NS: u64 = 20_000_000;

/// The reference clock the kernel calibrates against.
pub enum Reference {
    /// The HPET main counter.
    Hpet(Hpet),
    /// The ACPI PM timer (3.579545 MHz, 24 or 32 bits; ACPI 6.5 §4.8.3.3).
    PmTimer(IoPorts, bool),
}

/// PM timer frequency (ACPI 6.5 §4.8.3.3).
const PM_TIMER_HZ: u64 = 3_579_545;

impl Reference {
    /// A reading of the reference counter.
    pub fn counter(&self) -> u64 {
        match self {
            Self::Hpet(h) => h.counter(),
            Self::PmTimer(p, _) => u64::from(p.read32(0)),
        }
    }

    /// Nanoseconds between two readings.
    pub fn nanos_between(&self, start: u64, end: u64) -> u64 {
        match self {
            Self::Hpet(h) => h.nanos_between(start, end),
            Self::PmTimer(_, wide) => {
                let mask = if *wide { 0xffff_ffff } else { 0xff_ffff };
                let ticks = end.wrapping_sub(start) & mask;
                ticks * 1_000_000_000 / PM_TIMER_HZ
            }
        }
    }

    /// Its name for the log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hpet(_) => "HPET",
            Self::PmTimer(..) => "ACPI PM timer",
        }
    }

    /// `read()` between two readings of the reference, with the first of
    /// them. Two readings more than `slack_ns` apart mean the CPU was held
    /// up in between (a host descheduling QEMU's vCPU thread, or QEMU
    /// translating the code the first time), so `read` is taken again, up
    /// to eight times, and the tightest bracket is kept.
    pub fn bracketed<T>(&self, slack_ns: u64, mut read: impl FnMut() -> T) -> (u64, T) {
        let mut best: Option<(u64, u64, T)> = None;
        for _ in 0..8 {
            let before = self.counter();
            let value = read();
            let width = self.nanos_between(before, self.counter());
            let tight = width <= slack_ns;
            if best.as_ref().is_none_or(|(w, ..)| width < *w) {
                best = Some((width, before, value));
            }
            if tight {
                break;
            }
        }
        match best {
            Some((_, at, value)) => (at, value),
            // Eight tries always leave one.
            None => (self.counter(), read()),
        }
    }

    /// Busy-waits `ns` nanoseconds on the reference.
    pub fn delay(&self, ns: u64) {
        let start = self.counter();
        while self.nanos_between(start, self.counter()) < ns {
            core::hint::spin_loop();
        }
    }
}

static REFERENCE: Once<Reference> = Once::new();
static LAPIC_HZ: AtomicU64 = AtomicU64::new(0);
/// Ticks taken, per CPU.
static TICKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// The LAPIC timer's initial count for one tick (0 before [`init`]).
static TICK_COUNT: AtomicU32 = AtomicU32::new(0);

/// The reference clock (None before [`init`]).
pub fn reference() -> Option<&'static Reference> {
    REFERENCE.get()
}

/// Why the timers could not be set up.
#[derive(Debug)]
pub enum TimeError {
    /// Neither an HPET nor a PM timer was usable.
    NoReference,
    /// The LAPIC timer did not count.
    LapicTimerDead,
    /// Installing the tick handler failed.
    Irq(irq::IrqError),
}

impl core::fmt::Display for TimeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoReference => f.write_str("neither an HPET nor an ACPI PM timer is usable"),
            Self::LapicTimerDead => f.write_str("the LAPIC timer does not count"),
            Self::Irq(e) => write!(f, "tick interrupt: {e}"),
        }
    }
}

/// What [`init`] measured.
#[derive(Clone, Copy, Debug)]
pub struct TimeReport {
    /// TSC frequency before and after recalibration.
    pub tsc_hz: (u64, u64),
    /// LAPIC timer input frequency (after the divider).
    pub lapic_hz: u64,
    /// Initial count programmed for one tick.
    pub tick_count: u32,
}

fn take_reference(p: &Platform) -> Option<Reference> {
    if let Some(phys) = p.hpet {
        match Mmio::map(phys, 0x400).map(Hpet::start) {
            Ok(Ok(h)) => return Some(Reference::Hpet(h)),
            Ok(Err(e)) => log::warn!("HPET at {phys:#x} has bad capabilities {:#x}", e.0),
            Err(e) => log::warn!("HPET at {phys:#x}: {e}"),
        }
    }
    let (port, wide) = p.pm_timer?;
    IoPorts::claim(port, 4)
        .ok()
        .map(|ports| Reference::PmTimer(ports, wide))
}

/// Widest gap between the two reference reads around one calibration
/// reading that is taken as it is (see [`Reference::bracketed`]; a boot
/// once calibrated the LAPIC timer 19 % slow from a held-up reading).
const SAMPLE_SLACK_NS: u64 = 50_000;

/// Calibrates the TSC and the LAPIC timer against the reference clock and
/// starts the scheduler tick. Interrupts must be disabled.
pub fn init(p: &Platform) -> Result<TimeReport, TimeError> {
    let Some(found) = take_reference(p) else {
        return Err(TimeError::NoReference);
    };
    let reference = REFERENCE.call_once(|| found);
    let before = tsc::frequency();
    lapic::timer_start_masked(u32::MAX);
    let tsc_and_lapic = || (crate::arch::cpu::rdtsc(), lapic::timer_current());
    let (r0, (t0, l0)) = reference.bracketed(SAMPLE_SLACK_NS, tsc_and_lapic);
    reference.delay(CALIBRATION_NS);
    let (r1, (t1, l1)) = reference.bracketed(SAMPLE_SLACK_NS, tsc_and_lapic);
    lapic::timer_stop();
    let ns = reference.nanos_between(r0, r1).max(1);
    let tsc_hz = (u128::from(t1 - t0) * 1_000_000_000 / u128::from(ns)) as u64;
    let lapic_counts = u64::from(l0.saturating_sub(l1));
    if lapic_counts == 0 {
        return Err(TimeError::LapicTimerDead);
    }
    let lapic_hz = (u128::from(lapic_counts) * 1_000_000_000 / u128::from(ns)) as u64;
    tsc::set_frequency(tsc_hz);
    LAPIC_HZ.store(lapic_hz, Ordering::Relaxed);
    let tick_count = (lapic_hz / TICK_HZ).clamp(1, u64::from(u32::MAX)) as u32;
    irq::request(irq::TIMER_VECTOR, on_tick).map_err(TimeError::Irq)?;
    TICK_COUNT.store(tick_count, Ordering::Release);
    lapic::timer_periodic(irq::TIMER_VECTOR, tick_count);
    log::info!(
        "{} reference; TSC {} MHz (PIT said {}), LAPIC timer {} kHz, tick {} Hz",
        reference.name(),
        tsc_hz / 1_000_000,
        before / 1_000_000,
        lapic_hz / 1000,
        TICK_HZ
    );
    Ok(TimeReport {
        tsc_hz: (before, tsc_hz),
        lapic_hz,
        tick_count,
    })
}

/// Starts the scheduler tick on this CPU (one started after [`init`]),
/// with the count the bootstrap CPU measured: every LAPIC timer runs
/// from the same bus clock. False if there is no tick to copy.
pub fn start_tick_here() -> bool {
    let count = TICK_COUNT.load(Ordering::Acquire);
    if count == 0 {
        return false;
    }
    lapic::timer_periodic(irq::TIMER_VECTOR, count);
    true
}

fn on_tick(_vector: u8) {
    TICKS[percpu::cpu_id()].fetch_add(1, Ordering::Relaxed);
    crate::task::sched::tick();
}

/// Timer ticks the bootstrap CPU has taken since the tick started.
pub fn ticks() -> u64 {
    ticks_on(0)
}

/// Timer ticks CPU number `cpu` has taken.
pub fn ticks_on(cpu: usize) -> u64 {
    TICKS[cpu.min(MAX_CPUS - 1)].load(Ordering::Relaxed)
}

/// Monotonic nanoseconds since boot.
pub fn now_ns() -> u64 {
    tsc::nanos_since_boot()
}
