//! Time-stamp counter, calibrated against PIT channel 2.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

/// PIT input clock in Hz (Intel 8254 on PC-compatibles).
const PIT_HZ: u64 = 1_193_182;
/// Calibration window.
const CALIBRATION_MS: u64 = 10;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds at `BOOT_TSC` (moves forward when the frequency is
/// refined, so the clock never jumps back).
static BASE_NS: AtomicU64 = AtomicU64::new(0);

/// Measures the TSC frequency over a 10 ms PIT channel 2 one-shot and
/// remembers the current TSC as the boot reference. Returns the frequency.
pub fn calibrate() -> u64 {
    let mut ctrl: Port<u8> = Port::new(0x61);
    let mut mode: Port<u8> = Port::new(0x43);
    let mut ch2: Port<u8> = Port::new(0x42);
    let count = PIT_HZ * CALIBRATION_MS / 1000;
    BOOT_TSC.store(super::cpu::rdtsc(), Ordering::Relaxed);
    // SAFETY: ports 0x61/0x43/0x42 are the PC speaker gate and PIT channel 2,
    // used by nothing else in the kernel; the speaker output stays off.
    let (start, end) = unsafe {
        let gate = ctrl.read() & !0x03;
        ctrl.write(gate); // gate low, speaker off
        mode.write(0b1011_0000); // channel 2, lobyte/hibyte, mode 0, binary
        ch2.write(count as u8);
        ch2.write((count >> 8) as u8);
        ctrl.write(gate | 0x01); // gate high: counting starts
        let start = super::cpu::rdtsc();
        let mut spins = 0u64;
        // OUT2 (bit 5 of port 0x61) goes high when the count reaches zero.
        while ctrl.read() & 0x20 == 0 && spins < 100_000_000 {
            spins += 1;
        }
        (start, super::cpu::rdtsc())
    };
    let hz = (end - start) * (1000 / CALIBRATION_MS);
    TSC_HZ.store(hz.max(1), Ordering::Relaxed);
    hz
}

/// Calibrated TSC frequency in Hz (0 before `calibrate`).
pub fn frequency() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Nanoseconds since `calibrate` ran (0 before it).
pub fn nanos_since_boot() -> u64 {
    let hz = TSC_HZ.load(Ordering::Relaxed);
    if hz == 0 {
        return 0;
    }
    let ticks = super::cpu::rdtsc().saturating_sub(BOOT_TSC.load(Ordering::Relaxed));
    BASE_NS.load(Ordering::Relaxed) + (u128::from(ticks) * 1_000_000_000 / u128::from(hz)) as u64
}

/// Replaces the frequency with a better measurement (against the HPET or
/// the PM timer). The clock continues from where it is. Call with
/// interrupts disabled, before other CPUs read the clock.
pub fn set_frequency(hz: u64) {
    let now = nanos_since_boot();
    BOOT_TSC.store(super::cpu::rdtsc(), Ordering::Relaxed);
    BASE_NS.store(now, Ordering::Relaxed);
    TSC_HZ.store(hz.max(1), Ordering::Relaxed);
}
