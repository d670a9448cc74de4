//! [`Refused`]: a `free` or `realloc` of something that is not a block.

/// Why a pointer is not a live heap block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Not 16-aligned, so no block starts there.
    Misaligned,
    /// Not inside any of the heap's arenas.
    NotInHeap,
    /// Inside an arena, but no intact block header precedes it.
    NotABlock,
    /// A block that was already freed (and not reused since).
    Freed,
}

impl Reason {
    /// A few words for a report line.
    pub fn text(self) -> &'static str {
        match self {
            Reason::Misaligned => "misaligned pointer",
            Reason::NotInHeap => "not a heap pointer",
            Reason::NotABlock => "not a heap block",
            Reason::Freed => "block already freed",
        }
    }
}

/// A pointer the heap refused; the heap is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The pointer passed in.
    pub addr: usize,
    /// Why it was refused.
    pub reason: Reason,
}

impl Refused {
    /// The report line `"<function>: <reason> 0x<address>\n"` in `buf`
    /// (cut if `buf` is short).
    pub fn line<'a>(&self, function: &str, buf: &'a mut [u8]) -> &'a [u8] {
        let mut hex = [0u8; 18];
        hex[..2].copy_from_slice(b"0x");
        for (i, d) in hex[2..].iter_mut().enumerate() {
            let nibble = (self.addr as u64 >> (60 - 4 * i)) & 0xf;
            *d = b"0123456789abcdef"[nibble as usize];
        }
        let parts: [&[u8]; 5] = [
            function.as_bytes(),
            b": ",
            self.reason.text().as_bytes(),
            b" ",
            &hex,
        ];
        let mut n = 0;
        for part in parts.iter().copied().chain([&b"\n"[..]]) {
            let take = part.len().min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&part[..take]);
            n += take;
        }
        &buf[..n]
    }
}
