//! The kernel log: `log` records to serial and to the screen console.
#![forbid(unsafe_code)]
//!
//! Lines look like `[    1.234567] INFO  boot: message`: seconds since the
//! TSC was calibrated, the level, and the subsystem (the last part of the
//! module path, or an explicit `target:`).

use crate::arch::{serial, tsc};
use core::fmt::{self, Write};
use log::{Level, LevelFilter, Log, Metadata, Record};

struct KernelLog;

static LOGGER: KernelLog = KernelLog;

/// A line is formatted into this much stack buffer; longer lines are cut
/// with a `...` marker rather than lost.
const LINE_CAPACITY: usize = 512;

/// A fixed-capacity line buffer.
pub struct LineBuffer {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
    truncated: bool,
}

impl LineBuffer {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self {
            bytes: [0; LINE_CAPACITY],
            len: 0,
            truncated: false,
        }
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are appended, cut at char boundaries.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("<log line not UTF-8>")
    }
}

impl Write for LineBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = LINE_CAPACITY - 5 - self.len.min(LINE_CAPACITY - 5);
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() && !self.truncated {
            self.truncated = true;
            self.bytes[self.len..self.len + 4].copy_from_slice(b"...\n");
            self.len += 4;
        }
        Ok(())
    }
}

fn subsystem<'a>(record: &'a Record<'_>) -> &'a str {
    match record.target() {
        "ferrite_kernel" => "kernel",
        target => target.rsplit("::").next().unwrap_or(target),
    }
}

impl Log for KernelLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let nanos = tsc::nanos_since_boot();
        let mut line = LineBuffer::new();
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        let _ = writeln!(
            line,
            "[{:5}.{:06}] {level} {}: {}",
            nanos / 1_000_000_000,
            nanos % 1_000_000_000 / 1000,
            subsystem(record),
            record.args()
        );
        serial::write_bytes(line.as_str().as_bytes());
        crate::console::write_str(line.as_str());
    }

    fn flush(&self) {}
}

/// Installs the logger (info level; `loglevel=debug` on the command line
/// raises it later).
pub fn init() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}

/// Applies `loglevel=<error|warn|info|debug|trace>` from the command line.
pub fn apply_cmdline(cmdline: &str) {
    for word in cmdline.split_whitespace() {
        if let Some(level) = word.strip_prefix("loglevel=") {
            match level.parse::<LevelFilter>() {
                Ok(filter) => log::set_max_level(filter),
                Err(_) => log::warn!("ignoring unknown loglevel '{level}'"),
            }
        }
    }
}

/// Streams a multi-line block (e.g. a fault analysis) to serial and the
/// screen without the line-length limit of log records.
pub fn block(args: fmt::Arguments<'_>) {
    struct Sink;
    impl Write for Sink {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            serial::write_bytes(s.as_bytes());
            crate::console::write_str(s);
            Ok(())
        }
    }
    let _ = Sink.write_fmt(args);
}

/// Streams to serial and (if free) the screen without taking the locks the
/// interrupted code may hold, and without a length limit.
struct EmergencySink;

impl Write for EmergencySink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        serial::emergency_write(s.as_bytes());
        crate::console::try_write_str(s);
        Ok(())
    }
}

/// Writes raw text for the fault and panic paths (see [`EmergencySink`]).
pub fn emergency(args: fmt::Arguments<'_>) {
    let _ = EmergencySink.write_fmt(args);
}
