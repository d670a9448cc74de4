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

static PORT: SpinLock<Option<Port16550>> = SpinLock::new(None);

/// The UART and what was written last: protocol lines must start a line,
/// and user text never may without its tag.
struct Port16550 {
    uart: Uart16550<PioBackend>,
    /// The last byte written was a newline (or nothing was written).
    at_line_start: bool,
    /// Who wrote last: 0 the kernel, else a process id.
    writer: u64,
}

impl Port16550 {
    fn send(&mut self, bytes: &[u8]) {
        for chunk in bytes.split_inclusive(|&b| b == b'\n') {
            if let Some(line) = chunk.strip_suffix(b"\n") {
                self.uart.send_bytes_exact(line);
                self.uart.send_bytes_exact(b"\r\n");
            } else {
                self.uart.send_bytes_exact(chunk);
            }
        }
        if let Some(&last) = bytes.last() {
            self.at_line_start = last == b'\n';
        }
    }

    /// Ends a line another writer left open.
    fn claim_line(&mut self, writer: u64) {
        if !self.at_line_start && self.writer != writer {
            self.send(b"\n");
        }
        self.writer = writer;
    }
}

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
    *PORT.lock() = Some(Port16550 {
        uart,
        at_line_start: true,
        writer: 0,
    });
    SerialStatus {
        present: true,
        loopback_ok,
    }
}

/// Writes kernel bytes to COM1, translating `\n` to `\r\n`; a line a
/// user program left open is ended first, so kernel text always starts a
/// line. Does nothing before `init` or when no UART is present.
pub fn write_bytes(bytes: &[u8]) {
    if let Some(port) = PORT.lock().as_mut() {
        port.claim_line(0);
        port.send(bytes);
    }
}

/// Writes a protocol line (CHECK, BENCH, ...): always at the start of a
/// line, whoever wrote last.
pub fn write_line(bytes: &[u8]) {
    if let Some(port) = PORT.lock().as_mut() {
        port.writer = 0;
        if !port.at_line_start {
            port.send(b"\n");
        }
        port.send(bytes);
    }
}

/// Writes text from process `pid`: every line it starts begins with
/// `u<pid>| `, so user output can never pass for a kernel line.
pub fn write_user(pid: u64, bytes: &[u8]) {
    let mut tag = [0u8; 24];
    let tag = user_tag(pid, &mut tag);
    if let Some(port) = PORT.lock().as_mut() {
        for chunk in bytes.split_inclusive(|&b| b == b'\n') {
            if port.at_line_start || port.writer != pid {
                port.claim_line(pid);
                port.send(tag);
            }
            port.send(chunk);
        }
    }
}

/// `u<pid>| ` in `buf`.
fn user_tag(pid: u64, buf: &mut [u8; 24]) -> &[u8] {
    let mut digits = [0u8; 20];
    let mut n = pid;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf[0] = b'u';
    for i in 0..len {
        buf[1 + i] = digits[len - 1 - i];
    }
    buf[1 + len] = b'|';
    buf[2 + len] = b' ';
    &buf[..3 + len]
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
