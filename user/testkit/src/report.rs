//! Reporting checks to the milestone kernel (REPORT_CHECK).

use core::fmt::{self, Write};
use init::rt;

/// A detail line under construction (cut at 160 bytes).
pub struct Detail {
    bytes: [u8; 160],
    len: usize,
}

impl Detail {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            bytes: [0; 160],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Write for Detail {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Counts failures and sends each check to the kernel.
pub struct Report {
    failed: u32,
}

impl Report {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self { failed: 0 }
    }

    /// Reports check `name` (short snake_case) with what was seen.
    pub fn check(&mut self, name: &str, passed: bool, detail: fmt::Arguments) {
        let mut d = Detail::new();
        let _ = d.write_fmt(detail);
        if !passed {
            self.failed += 1;
        }
        let text = d.as_bytes();
        let args = [
            name.as_ptr() as u64,
            name.len() as u64,
            u64::from(passed),
            text.as_ptr() as u64,
            text.len() as u64,
        ];
        // SAFETY: REPORT_CHECK only reads the two byte ranges named, which
        // are live slices.
        unsafe { rt::syscall(abi::nr::REPORT_CHECK, args) }.ok();
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }
}

/// `check!(report, "name", passed, "detail {}", args...)`.
#[macro_export]
macro_rules! check {
    ($r:expr, $name:literal, $passed:expr, $($fmt:tt)+) => {
        $r.check($name, $passed, format_args!($($fmt)+))
    };
}

/// Shows a decoded system-call result the way the details print it.
pub struct Shown(pub abi::SysResult);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(v) => write!(f, "Ok({v:#x})"),
            Err(e) => write!(f, "Err({})", e.name()),
        }
    }
}
