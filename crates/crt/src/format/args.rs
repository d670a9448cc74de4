//! Where the printf engine gets its arguments from.

/// A source of printf arguments, consumed in order.
///
/// Every getter takes the next argument; on Win64 each one occupies one
/// 8-byte slot, which is why integers come back as the whole slot and the
/// engine narrows them by the length modifier.
pub trait Args {
    /// The next argument as integer bits (for `%d`, `%x`, `%c`, `%p`, `*`).
    fn int(&mut self) -> u64;
    /// The next argument as a double.
    fn float(&mut self) -> f64;
    /// The next argument as a C string: its bytes up to the NUL, reading no
    /// more than `limit` bytes; `None` for a null pointer.
    fn string(&mut self, limit: usize) -> Option<&[u8]>;
}

/// One argument of an [`ArgList`].
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    /// Any integer or pointer, as the caller would pass it in a register.
    Int(i64),
    /// A double.
    Float(f64),
    /// A C string (without NUL), or `None` for a null pointer.
    Str(Option<&'a [u8]>),
}

/// Arguments from a slice, for Rust callers and tests. A missing argument
/// or one of the wrong kind reads as 0 / `None`.
pub struct ArgList<'a> {
    args: &'a [Arg<'a>],
    next: usize,
}

impl<'a> ArgList<'a> {
    /// Arguments from `args`, first to last.
    pub fn new(args: &'a [Arg<'a>]) -> Self {
        Self { args, next: 0 }
    }

    fn take(&mut self) -> Option<Arg<'a>> {
        let a = self.args.get(self.next).copied();
        self.next += 1;
        a
    }
}

impl Args for ArgList<'_> {
    fn int(&mut self) -> u64 {
        match self.take() {
            Some(Arg::Int(v)) => v as u64,
            Some(Arg::Float(f)) => f.to_bits(),
            _ => 0,
        }
    }

    fn float(&mut self) -> f64 {
        match self.take() {
            Some(Arg::Float(f)) => f,
            Some(Arg::Int(v)) => f64::from_bits(v as u64),
            _ => 0.0,
        }
    }

    fn string(&mut self, limit: usize) -> Option<&[u8]> {
        match self.take() {
            Some(Arg::Str(Some(s))) => {
                let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
                Some(&s[..end.min(limit)])
            }
            _ => None,
        }
    }
}
