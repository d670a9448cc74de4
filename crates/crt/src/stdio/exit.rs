//! The `atexit` table: handlers kept in a fixed array, run last first.

/// Handlers `atexit` keeps (C11 §7.22.4.2 asks for at least 32).
pub const ATEXIT_MAX: usize = 32;

/// Registered `atexit` handlers, of any copyable type (function pointers
/// in runtime.dll, numbers in tests).
pub struct AtExit<F: Copy> {
    handlers: [Option<F>; ATEXIT_MAX],
    len: usize,
}

impl<F: Copy> Default for AtExit<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Copy> AtExit<F> {
    /// An empty table.
    pub const fn new() -> Self {
        Self {
            handlers: [None; ATEXIT_MAX],
            len: 0,
        }
    }

    /// Registers `f`; `false` when the table is full.
    pub fn push(&mut self, f: F) -> bool {
        match self.handlers.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(f);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Takes the handler registered last (`exit` calls them in reverse
    /// order of registration, C11 §7.22.4.4; each is taken before it runs,
    /// so a handler that calls `exit` does not run again).
    pub fn pop(&mut self) -> Option<F> {
        self.len = self.len.checked_sub(1)?;
        self.handlers[self.len].take()
    }
}
