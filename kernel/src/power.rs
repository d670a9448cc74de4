//! Power off and reset: ACPI S5, then the reset paths in order, each logged.
#![forbid(unsafe_code)]
//!
//! [`shutdown`] enters ACPI S5 (soft off) with the `SLP_TYP` values the
//! DSDT's `\_S5` gives; if the machine still runs after [`SETTLE_NS`] (or
//! there is no ACPI), it says so and halts. [`reboot`] tries the FADT reset
//! register, the reset control register at 0xCF9, the 8042 keyboard
//! controller and, last, a triple fault; each step logs a
//! `power: reset via <method>: ...` line before it acts, so the last such
//! line in a log names the method that worked. [`on_init_exit`] applies the
//! command line's `on_init_exit=poweroff|halt|reboot` once init has exited.

use crate::acpi::{self, Register};
use crate::arch::port::{IoPorts, PortsTaken};
use core::fmt;

/// How long a power-off or reset request gets to take effect before the
/// next step (100 ms).
const SETTLE_NS: u64 = 100_000_000;

/// PM1x_CNT fields (ACPI 6.5 §4.8.3.2.1, "PM1 Control Registers"):
/// SLP_TYPx in bits 12:10, SLP_EN in bit 13; the register is 16 bits wide
/// (FADT PM1_CNT_LEN is 2). The SLP_TYP values come from `\_S5` (§7.4.2).
const SLP_TYP_SHIFT: u16 = 10;
const SLP_TYP_MASK: u16 = 0b111 << SLP_TYP_SHIFT;
const SLP_EN: u16 = 1 << 13;
const PM1_CNT_LEN: u16 = 2;

/// The reset control register (Intel I/O Controller Hub 9 datasheet,
/// "RST_CNT—Reset Control Register", I/O 0xCF9): SYS_RST (bit 1) picks a
/// hard reset, and a 0→1 edge of RST_CPU (bit 2) starts it.
const RESET_CONTROL: u16 = 0xcf9;
const SYS_RST: u8 = 1 << 1;
const RST_CPU: u8 = 1 << 2;

/// The 8042 keyboard controller's status/command port: status bit 1 is
/// "input buffer full", and command 0xFE pulses output-port bit 0, the
/// CPU reset line (IBM PC/AT Technical Reference, "Keyboard Controller").
const KBC_COMMAND: u16 = 0x64;
const KBC_INPUT_FULL: u8 = 1 << 1;
const KBC_PULSE_RESET: u8 = 0xfe;

/// Why a power-off or reset path could not be tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerError {
    /// The ACPI tables were not parsed at boot.
    NoAcpi,
    /// The DSDT has no usable `\_S5` (so no SLP_TYP values).
    NoSleepType,
    /// The FADT names no PM1a control register.
    NoPm1Control,
    /// The FADT offers no reset register.
    NoResetRegister,
    /// The FADT reset register is memory-mapped at this address; it takes
    /// an 8-bit store, which `mm::Mmio` does not offer yet.
    MemoryResetRegister(u64),
    /// Another owner holds the port.
    PortsTaken(u16),
    /// The 8042 did not empty its input buffer within [`SETTLE_NS`] (or
    /// there is no 8042: the port then reads as all ones).
    KeyboardControllerBusy,
}

impl From<PortsTaken> for PowerError {
    fn from(e: PortsTaken) -> Self {
        Self::PortsTaken(e.0)
    }
}

impl fmt::Display for PowerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAcpi => f.write_str("no ACPI tables"),
            Self::NoSleepType => f.write_str("no usable \\_S5 in the DSDT"),
            Self::NoPm1Control => f.write_str("the FADT names no PM1a control register"),
            Self::NoResetRegister => f.write_str("the FADT offers no reset register"),
            Self::MemoryResetRegister(a) => write!(
                f,
                "the reset register is memory at {a:#x}, and 8-bit MMIO stores are not supported"
            ),
            Self::PortsTaken(p) => write!(f, "port {p:#x} is owned by another driver"),
            Self::KeyboardControllerBusy => {
                f.write_str("the 8042 input buffer did not empty (no controller?)")
            }
        }
    }
}

/// Powers the machine off through ACPI S5; halts if that does not work.
pub fn shutdown() -> ! {
    crate::arch::cpu::disable_interrupts();
    match enter_s5() {
        Ok(()) => log::error!(
            "S5 requested, but the machine still runs after {} ms; halting",
            SETTLE_NS / 1_000_000
        ),
        Err(e) => log::error!("cannot power off: {e}; halting"),
    }
    crate::arch::cpu::halt_forever()
}

/// Writes SLP_TYP, then SLP_TYP | SLP_EN, to PM1a_CNT (and PM1b_CNT), and
/// waits. Returns only if the machine is still running.
fn enter_s5() -> Result<(), PowerError> {
    let platform = acpi::platform().ok_or(PowerError::NoAcpi)?;
    let s5 = platform.s5.ok_or(PowerError::NoSleepType)?;
    let (a, b) = platform.pm1_control;
    let a = a.ok_or(PowerError::NoPm1Control)?;
    let pm1a = IoPorts::claim(a, PM1_CNT_LEN)?;
    let pm1b = match b.filter(|&b| b != a) {
        Some(b) => Some((b, IoPorts::claim(b, PM1_CNT_LEN)?)),
        None => None,
    };
    match &pm1b {
        Some((b, _)) => log::info!(
            "S5: SLP_TYPa={} to PM1a_CNT {a:#x}, SLP_TYPb={} to PM1b_CNT {b:#x}, then SLP_EN",
            s5.slp_typ_a,
            s5.slp_typ_b
        ),
        None => log::info!(
            "S5: SLP_TYPa={} to PM1a_CNT {a:#x}, then SLP_EN",
            s5.slp_typ_a
        ),
    }
    // As ACPICA does: keep the other control bits, write the sleep type
    // first and then the same value with SLP_EN.
    let value_a = sleep_value(pm1a.read16(0), s5.slp_typ_a);
    let value_b = pm1b
        .as_ref()
        .map(|(_, p)| (p, sleep_value(p.read16(0), s5.slp_typ_b)));
    pm1a.write16(0, value_a);
    if let Some((p, v)) = value_b {
        p.write16(0, v);
    }
    pm1a.write16(0, value_a | SLP_EN);
    if let Some((p, v)) = value_b {
        p.write16(0, v | SLP_EN);
    }
    spin(SETTLE_NS);
    Ok(())
}

/// PM1x_CNT with SLP_TYP replaced by `slp_typ` and SLP_EN clear.
fn sleep_value(current: u16, slp_typ: u8) -> u16 {
    (current & !(SLP_TYP_MASK | SLP_EN)) | ((u16::from(slp_typ) << SLP_TYP_SHIFT) & SLP_TYP_MASK)
}

/// The ways to reset the machine, in the order [`reboot`] tries them
/// (a triple fault comes after all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResetMethod {
    /// FADT RESET_REG and RESET_VALUE (ACPI 6.5 §4.8.3.6, "Reset Register").
    AcpiRegister,
    /// RST_CNT at port 0xCF9.
    ResetControl,
    /// The 8042's reset line.
    KeyboardController,
}

const RESET_ORDER: [ResetMethod; 3] = [
    ResetMethod::AcpiRegister,
    ResetMethod::ResetControl,
    ResetMethod::KeyboardController,
];

impl fmt::Display for ResetMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AcpiRegister => "FADT reset register",
            Self::ResetControl => "reset control register",
            Self::KeyboardController => "8042 keyboard controller",
        })
    }
}

impl ResetMethod {
    /// Requests the reset (logging what it writes where) and waits.
    /// Returns only if the machine is still running.
    fn request(self) -> Result<(), PowerError> {
        match self {
            Self::AcpiRegister => acpi_reset_register()?,
            Self::ResetControl => {
                let rst_cnt = IoPorts::claim(RESET_CONTROL, 1)?;
                log::info!(
                    "reset via {self}: writing {SYS_RST:#x}, then {:#x} to port {RESET_CONTROL:#x}",
                    SYS_RST | RST_CPU
                );
                rst_cnt.write8(0, SYS_RST);
                spin(50_000);
                rst_cnt.write8(0, SYS_RST | RST_CPU);
            }
            Self::KeyboardController => {
                let kbc = IoPorts::claim(KBC_COMMAND, 1)?;
                let start = crate::time::now_ns();
                while kbc.read8(0) & KBC_INPUT_FULL != 0 {
                    if crate::time::now_ns().saturating_sub(start) > SETTLE_NS {
                        return Err(PowerError::KeyboardControllerBusy);
                    }
                    core::hint::spin_loop();
                }
                log::info!(
                    "reset via {self}: writing {KBC_PULSE_RESET:#x} to port {KBC_COMMAND:#x}"
                );
                kbc.write8(0, KBC_PULSE_RESET);
            }
        }
        spin(SETTLE_NS);
        Ok(())
    }
}

/// Writes the FADT's RESET_VALUE to its RESET_REG.
fn acpi_reset_register() -> Result<(), PowerError> {
    let platform = acpi::platform().ok_or(PowerError::NoAcpi)?;
    let (register, value) = platform.reset.ok_or(PowerError::NoResetRegister)?;
    let method = ResetMethod::AcpiRegister;
    match register {
        Register::Port(0) | Register::Memory(0) => Err(PowerError::NoResetRegister),
        Register::Port(port) => {
            let reg = IoPorts::claim(port, 1)?;
            log::info!("reset via {method}: writing {value:#x} to port {port:#x}");
            reg.write8(0, value);
            Ok(())
        }
        Register::Memory(address) => Err(PowerError::MemoryResetRegister(address)),
    }
}

/// Resets the machine: each [`ResetMethod`] in turn, then a triple fault.
pub fn reboot() -> ! {
    crate::arch::cpu::disable_interrupts();
    log::info!("reset requested");
    for method in RESET_ORDER {
        match method.request() {
            Ok(()) => log::warn!(
                "reset via {method}: still running after {} ms",
                SETTLE_NS / 1_000_000
            ),
            Err(e) => log::warn!("reset via {method}: not tried: {e}"),
        }
    }
    log::error!("reset via triple fault: loading an empty IDT");
    crate::arch::power::triple_fault()
}

/// Busy-waits `ns` nanoseconds on the TSC clock (calibrated first thing at
/// boot, so it runs before anything can call this).
fn spin(ns: u64) {
    let start = crate::time::now_ns();
    while crate::time::now_ns().saturating_sub(start) < ns {
        core::hint::spin_loop();
    }
}

/// What the kernel does once the init program has exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitExit {
    /// ACPI soft off (the default).
    PowerOff,
    /// Stay up and idle.
    Halt,
    /// Reset the machine.
    Reboot,
}

impl InitExit {
    /// The policy `on_init_exit=<poweroff|halt|reboot>` names on the
    /// command line (the first such word): poweroff without one, and
    /// poweroff, with a warning, for a value it does not know.
    pub fn from_cmdline(cmdline: &str) -> Self {
        let value = cmdline
            .split_whitespace()
            .find_map(|w| w.strip_prefix("on_init_exit="));
        match value {
            None | Some("poweroff") => Self::PowerOff,
            Some("halt") => Self::Halt,
            Some("reboot") => Self::Reboot,
            Some(other) => {
                log::warn!("unknown on_init_exit={other}; using poweroff");
                Self::PowerOff
            }
        }
    }
}

/// Applies `on_init_exit=` after init has exited. Returns only for
/// `halt`, and the caller then idles.
pub fn on_init_exit(cmdline: &str) {
    match InitExit::from_cmdline(cmdline) {
        InitExit::PowerOff => {
            log::info!("init exited; powering off (on_init_exit=poweroff)");
            shutdown()
        }
        InitExit::Reboot => {
            log::info!("init exited; resetting (on_init_exit=reboot)");
            reboot()
        }
        InitExit::Halt => log::info!("init exited; staying up (on_init_exit=halt)"),
    }
}
