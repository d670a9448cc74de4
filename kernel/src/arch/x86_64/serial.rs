//! COM1 serial port (16550 UART through the `uart_16550` crate).

use crate::sync::SpinLock;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550};
use x86_64::instructions::port::Port;

/// Base I/O port of COM1 (PC/AT convention).
const COM1: u16 = 0x3f8;
/// Line status register offset and its "transmit holding register empty" bit.
const LSR_OFFSET: u16 = 5;
const LSR_THR_EMPTY: u8 = 1 << 5;

static PORT: SpinLock<Option<Uart16550<PioBackend>>> = SpinLock::new(None);

/// What `init` found out about the port.
#[derive(Clone, Copy, Debug)]
pub struct SerialStatus {
    /// The UART answered and was configured.
    pub present: bool,
    /// The UART passed its loopback self-test.
    pub loopback_ok: bool,
}

/// Configures COM1 (115200 8N1, FIFO on) and runs its loopback self-test.
pub fn init() -> SerialStatus {
    // SAFETY: 0x3f8..0x3ff are COM1's registers on PC-compatible machines;
    // this module is their only user (the emergency writer only polls LSR and
    // writes THR, which is harmless alongside).
    let Ok(mut uart) = (unsafe { Uart16550::new_port(COM1) }) else {
        return SerialStatus {
            present: false,
            loopback_ok: false,
        };
    };
    if uart.init(Config::default()).is_err() {
        return SerialStatus {
            present: false,
            loopback_ok: false,
        };
    }
    let loopback_ok = uart.test_loopback().is_ok();
    super::cpu::without_interrupts(|| *PORT.lock() = Some(uart));
    SerialStatus {
        present: true,
        loopback_ok,
    }
}

/// Writes bytes to COM1, translating `\n` to `\r\n`. Does nothing before
/// `init` or when no UART is present.
pub fn write_bytes(bytes: &[u8]) {
    super::cpu::without_interrupts(|| {
        if let Some(uart) = PORT.lock().as_mut() {
            for chunk in bytes.split_inclusive(|&b| b == b'\n') {
                if let Some(line) = chunk.strip_suffix(b"\n") {
                    uart.send_bytes_exact(line);
                    uart.send_bytes_exact(b"\r\n");
                } else {
                    uart.send_bytes_exact(chunk);
                }
            }
        }
    });
}

/// Writes bytes without taking the port lock: for the fault and panic paths,
/// where the lock may be held by the interrupted code.
pub fn emergency_write(bytes: &[u8]) {
    let mut lsr: Port<u8> = Port::new(COM1 + LSR_OFFSET);
    let mut thr: Port<u8> = Port::new(COM1);
    for &b in bytes {
        if b == b'\n' {
            emergency_byte(&mut lsr, &mut thr, b'\r');
        }
        emergency_byte(&mut lsr, &mut thr, b);
    }
}

fn emergency_byte(lsr: &mut Port<u8>, thr: &mut Port<u8>, b: u8) {
    // Bounded wait: a missing UART must not hang the fault path.
    for _ in 0..100_000 {
        // SAFETY: reading COM1's line status register has no side effects.
        if unsafe { lsr.read() } & LSR_THR_EMPTY != 0 {
            break;
        }
    }
    // SAFETY: writing COM1's transmit holding register sends one byte.
    unsafe { thr.write(b) };
}

/// A `fmt::Write` sink over [`emergency_write`].
pub struct EmergencyWriter;

impl core::fmt::Write for EmergencyWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        emergency_write(s.as_bytes());
        Ok(())
    }
}
