//! One-line panic messages in a fixed buffer, for images without a heap.

use core::fmt::{self, Write};

/// Room for a panic message, its newline and a NUL.
pub const CAPACITY: usize = 256;

/// A panic message formatted as one line: `<prefix>panic at <location>:
/// <message>\n`, newlines inside the message replaced by spaces, cut to
/// fit, NUL-terminated after the newline.
pub struct PanicLine {
    bytes: [u8; CAPACITY],
    len: usize,
}

impl Write for PanicLine {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Two bytes stay free for the newline and the NUL.
        let n = s.len().min(CAPACITY - 2 - self.len);
        for (dst, &src) in self.bytes[self.len..self.len + n]
            .iter_mut()
            .zip(s.as_bytes())
        {
            *dst = if src == b'\n' { b' ' } else { src };
        }
        self.len += n;
        Ok(())
    }
}

impl PanicLine {
    /// Formats `info` after `prefix` (e.g. `"runtime.dll: "`).
    pub fn new(prefix: &str, info: &core::panic::PanicInfo<'_>) -> Self {
        let mut line = Self {
            bytes: [0; CAPACITY],
            len: 0,
        };
        let _ = line.write_str(prefix);
        let _ = match info.location() {
            Some(at) => write!(line, "panic at {at}: {}", info.message()),
            None => write!(line, "panic: {}", info.message()),
        };
        line.finish()
    }

    fn finish(mut self) -> Self {
        self.bytes[self.len] = b'\n';
        self.bytes[self.len + 1] = 0;
        self
    }

    /// The line with its newline, without the NUL.
    pub fn text(&self) -> &[u8] {
        &self.bytes[..self.len + 1]
    }

    /// The line with its newline and a terminating NUL (a C string).
    pub fn c_str(&self) -> &[u8] {
        &self.bytes[..self.len + 2]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(prefix: &str, parts: &[&str]) -> PanicLine {
        let mut l = PanicLine {
            bytes: [0; CAPACITY],
            len: 0,
        };
        l.write_str(prefix).unwrap();
        for p in parts {
            l.write_str(p).unwrap();
        }
        l.finish()
    }

    #[test]
    fn joins_lines_and_terminates() {
        let l = line("x: ", &["panic: a\nb"]);
        assert_eq!(l.text(), b"x: panic: a b\n");
        assert_eq!(l.c_str(), b"x: panic: a b\n\0");
    }

    #[test]
    fn long_messages_are_cut_with_room_for_the_end() {
        let long = "y".repeat(1000);
        let l = line("", &[&long]);
        assert_eq!(l.text().len(), CAPACITY - 1);
        assert_eq!(l.c_str().last(), Some(&0));
        assert_eq!(l.text().last(), Some(&b'\n'));
    }
}
