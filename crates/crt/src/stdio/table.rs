//! The stream table: fixed `FILE` slots, their buffers and flags.

use super::errno::{Errno, EBADF, EINVAL, EIO, EMFILE, EOVERFLOW, ESPIPE};
use super::mode::{file_name, Mode};

/// Streams `fopen` can have open at once (C's `FOPEN_MAX`), besides the
/// three standard ones.
pub const FOPEN_MAX: usize = 32;
/// Bytes of each stream's buffer (C's `BUFSIZ`), which holds what was read
/// ahead or what waits to be written. A read or write of at least this
/// many bytes goes straight between the backend and the caller's buffer.
pub const BUFFER_SIZE: usize = 4096;
/// Slots in the table: stdin, stdout, stderr, then the `fopen` ones.
pub const SLOTS: usize = 3 + FOPEN_MAX;
const INDEX_BITS: u32 = 6;
const TAG_MASK: u16 = (1 << (16 - INDEX_BITS - 4)) - 1;
/// How many distinct [`Stream`] values there are (`0 .. STREAM_IDS`): the
/// runtime maps each to one byte of a reserved range, so a `FILE *` is a
/// stream id and anything else is refused.
pub const STREAM_IDS: usize = 1 << (INDEX_BITS + TAG_MASK.count_ones());

/// Names one stream: a slot index and the slot's generation (modulo 64)
/// when it was opened, so a `FILE *` kept past `fclose` is refused even
/// when the slot has been opened again (until it has been reused 64
/// times; slots are also handed out in turn, not lowest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stream(u16);

impl Stream {
    /// `stdin`, while it is open.
    pub const STDIN: Self = Self(0);
    /// `stdout`, while it is open.
    pub const STDOUT: Self = Self(1);
    /// `stderr`, while it is open.
    pub const STDERR: Self = Self(2);

    /// The stream with id `raw`, if `raw` is below [`STREAM_IDS`] (whether
    /// it is open is for the table to say).
    pub fn from_raw(raw: usize) -> Option<Self> {
        if raw < STREAM_IDS {
            Some(Self(raw as u16))
        } else {
            None
        }
    }

    /// The id, below [`STREAM_IDS`].
    pub fn raw(self) -> usize {
        usize::from(self.0)
    }

    fn index(self) -> usize {
        usize::from(self.0) & ((1 << INDEX_BITS) - 1)
    }

    fn tag(self) -> u16 {
        self.0 >> INDEX_BITS
    }

    fn new(index: usize, tag: u16) -> Self {
        Self((tag << INDEX_BITS) | index as u16)
    }
}

/// Which console a standard output stream writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    /// `stdout`.
    Out,
    /// `stderr`.
    Err,
}

/// `fseek`'s origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whence {
    /// `SEEK_SET` (0): from the start.
    Set,
    /// `SEEK_CUR` (1): from the current position.
    Current,
    /// `SEEK_END` (2): from the end.
    End,
}

impl Whence {
    /// C's `SEEK_SET`, `SEEK_CUR`, `SEEK_END`; anything else is `EINVAL`.
    pub fn from_c(whence: i32) -> Result<Self, Errno> {
        match whence {
            0 => Ok(Self::Set),
            1 => Ok(Self::Current),
            2 => Ok(Self::End),
            _ => Err(EINVAL),
        }
    }
}

/// What the streams stand on: the kernel's boot files and debug console
/// in runtime.dll, a fake in tests.
pub trait Backend {
    /// Opens the file called `name` (see [`boot_name`](super::boot_name))
    /// as `mode` says (creating, truncating), at position 0.
    fn open(&mut self, name: &[u8], mode: Mode) -> Result<u64, Errno>;
    /// Reads at the file's position into `buf`, advancing it: the bytes
    /// read, 0 at the end.
    fn read(&mut self, file: u64, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Writes at the file's position, advancing it: the bytes written
    /// (fewer than asked is fine; 0 is taken as a failure, `EIO`).
    fn write(&mut self, file: u64, bytes: &[u8]) -> Result<usize, Errno>;
    /// Moves the file's position; returns the new one.
    fn seek(&mut self, file: u64, offset: i64, whence: Whence) -> Result<u64, Errno>;
    /// Closes the file.
    fn close(&mut self, file: u64) -> Result<(), Errno>;
    /// Writes to a console (which may buffer it).
    fn console_write(&mut self, console: Console, bytes: &[u8]);
    /// Writes out what the console holds.
    fn console_flush(&mut self);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Closed,
    Input,
    Console(Console),
    File(u64),
}

struct Slot {
    tag: u16,
    kind: Kind,
    /// What the stream may do (a file's `fopen` mode).
    mode: Mode,
    /// The buffer holds bytes to be written (`buf[..end]`), not bytes
    /// read ahead.
    writing: bool,
    eof: bool,
    error: bool,
    /// Position of the next byte the stream gives (the pushed-back byte if
    /// any, else `buf[start]`) or takes (after the `end` bytes waiting).
    pos: u64,
    pushed: Option<u8>,
    start: usize,
    end: usize,
    buf: [u8; BUFFER_SIZE],
}

impl Slot {
    const CLOSED: Self = Self {
        tag: 0,
        kind: Kind::Closed,
        mode: Mode::READ,
        writing: false,
        eof: false,
        error: false,
        pos: 0,
        pushed: None,
        start: 0,
        end: 0,
        buf: [0; BUFFER_SIZE],
    };

    fn open(&mut self, kind: Kind, mode: Mode) {
        self.kind = kind;
        self.mode = mode;
        self.eof = false;
        self.error = false;
        self.pos = 0;
        self.drop_buffer();
    }

    fn drop_buffer(&mut self) {
        self.pushed = None;
        self.start = 0;
        self.end = 0;
        self.writing = false;
    }

    /// Writes out the bytes waiting in the buffer (the buffer is empty
    /// afterwards, whatever happened; a failure sets the error indicator).
    fn flush_writes(&mut self, backend: &mut impl Backend) -> Result<(), Errno> {
        if !self.writing {
            return Ok(());
        }
        let pending = self.end;
        self.drop_buffer();
        let Kind::File(h) = self.kind else {
            return Ok(());
        };
        let r = write_all(backend, h, &self.buf[..pending]);
        if r.is_err() {
            self.error = true;
        }
        r
    }

    /// The file under a readable stream, with any pending writes written
    /// out; `EBADF` for an output stream.
    fn source(&mut self, backend: &mut impl Backend) -> Result<Option<u64>, Errno> {
        self.flush_writes(backend)?;
        match self.kind {
            Kind::File(h) if self.mode.read => Ok(Some(h)),
            Kind::Input => Ok(None),
            Kind::File(_) | Kind::Console(_) | Kind::Closed => {
                self.error = true;
                Err(EBADF)
            }
        }
    }

    /// Writes `bytes` (C's `fwrite`): through the buffer, or straight to
    /// the backend when they fill it anyway. Returns how many were taken.
    fn write(&mut self, backend: &mut impl Backend, bytes: &[u8]) -> Result<usize, Errno> {
        let h = match self.kind {
            Kind::Console(c) => {
                backend.console_write(c, bytes);
                return Ok(bytes.len());
            }
            Kind::File(h) if self.mode.write => h,
            _ => {
                self.error = true;
                return Err(EBADF);
            }
        };
        if !self.writing {
            // From reading to writing: put the backend where the reader
            // is (it may have read ahead), or at the end for `a`.
            let r = if self.mode.append {
                backend.seek(h, 0, Whence::End)
            } else if self.pushed.is_some() || self.start != self.end {
                backend.seek(h, self.pos as i64, Whence::Set)
            } else {
                Ok(self.pos)
            };
            match r {
                Ok(at) => self.pos = at,
                Err(e) => {
                    self.error = true;
                    return Err(e);
                }
            }
            self.drop_buffer();
            self.writing = true;
        }
        if self.end + bytes.len() > BUFFER_SIZE {
            self.flush_writes(backend)?;
            self.writing = true;
        }
        if bytes.len() >= BUFFER_SIZE {
            if let Err(e) = write_all(backend, h, bytes) {
                self.error = true;
                return Err(e);
            }
        } else {
            self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
            self.end += bytes.len();
        }
        self.pos += bytes.len() as u64;
        Ok(bytes.len())
    }

    /// Reads into `out` (pushed-back byte, buffer, then the backend);
    /// returns the bytes read and the error that stopped it, if any.
    fn read(&mut self, backend: &mut impl Backend, out: &mut [u8]) -> (usize, Result<(), Errno>) {
        let file = match self.source(backend) {
            Ok(f) => f,
            Err(e) => return (0, Err(e)),
        };
        let mut n = 0;
        if n < out.len() {
            if let Some(c) = self.pushed.take() {
                out[0] = c;
                n = 1;
                self.pos += 1;
            }
        }
        while n < out.len() {
            if self.start == self.end {
                // C11 §7.21.7.1: once the end-of-file indicator is set,
                // reads give nothing until it is cleared.
                let Some(h) = file.filter(|_| !self.eof) else {
                    self.eof = true;
                    break;
                };
                let want = out.len() - n;
                let direct = want >= BUFFER_SIZE;
                let got = if direct {
                    backend.read(h, &mut out[n..])
                } else {
                    backend.read(h, &mut self.buf)
                };
                match got {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(k) if direct => {
                        let k = k.min(want);
                        n += k;
                        self.pos += k as u64;
                    }
                    Ok(k) => {
                        self.start = 0;
                        self.end = k.min(BUFFER_SIZE);
                    }
                    Err(e) => {
                        self.error = true;
                        return (n, Err(e));
                    }
                }
                continue;
            }
            let k = (self.end - self.start).min(out.len() - n);
            out[n..n + k].copy_from_slice(&self.buf[self.start..self.start + k]);
            self.start += k;
            n += k;
            self.pos += k as u64;
        }
        (n, Ok(()))
    }

    fn seek(
        &mut self,
        backend: &mut impl Backend,
        offset: i64,
        whence: Whence,
    ) -> Result<u64, Errno> {
        let h = match self.kind {
            Kind::File(h) => h,
            Kind::Closed => return Err(EBADF),
            Kind::Input | Kind::Console(_) => return Err(ESPIPE),
        };
        self.flush_writes(backend)?;
        let target = match whence {
            Whence::Set => Some(offset),
            Whence::Current => i64::try_from(self.pos)
                .ok()
                .and_then(|p| p.checked_add(offset)),
            Whence::End => None,
        };
        let new = match target {
            Some(t) if t < 0 => return Err(EINVAL),
            Some(t) => {
                let t = t as u64;
                // Inside the buffered window: move within it, no call.
                let window = self.pos - self.start as u64;
                let buffered = self.pushed.is_none() && self.end > 0;
                if buffered && t >= window && t <= window + self.end as u64 {
                    self.start = (t - window) as usize;
                    t
                } else {
                    let at = backend.seek(h, t as i64, Whence::Set)?;
                    self.drop_buffer();
                    at
                }
            }
            None => {
                let at = backend.seek(h, offset, Whence::End)?;
                self.drop_buffer();
                at
            }
        };
        self.pos = new;
        self.eof = false;
        Ok(new)
    }
}

/// The stream table. [`Files::new`] is all zeros (a static of it costs
/// no image bytes); the standard streams open on first use.
pub struct Files {
    started: bool,
    next: usize,
    slots: [Slot; SLOTS],
}

impl Default for Files {
    fn default() -> Self {
        Self::new()
    }
}

impl Files {
    /// An empty table (stdin, stdout and stderr open, nothing else).
    pub const fn new() -> Self {
        Self {
            started: false,
            next: 0,
            slots: [const { Slot::CLOSED }; SLOTS],
        }
    }

    fn start(&mut self) {
        if !self.started {
            self.started = true;
            self.slots[0].open(Kind::Input, Mode::READ);
            self.slots[1].open(Kind::Console(Console::Out), Mode::WRITE);
            self.slots[2].open(Kind::Console(Console::Err), Mode::WRITE);
        }
    }

    fn slot(&mut self, s: Stream) -> Result<&mut Slot, Errno> {
        self.start();
        match self.slots.get_mut(s.index()) {
            Some(slot) if slot.kind != Kind::Closed && slot.tag == s.tag() => Ok(slot),
            _ => Err(EBADF),
        }
    }

    /// Whether `s` is an open stream.
    pub fn is_open(&mut self, s: Stream) -> bool {
        self.slot(s).is_ok()
    }

    /// `fopen`: parses `mode` (`EINVAL`), maps `path` to a file name
    /// ([`file_name`]: writing a boot file is `EROFS`) and opens it in a
    /// free slot (`EMFILE` when all [`FOPEN_MAX`] are in use).
    pub fn open(
        &mut self,
        backend: &mut impl Backend,
        path: &[u8],
        mode: &[u8],
    ) -> Result<Stream, Errno> {
        self.start();
        let mode = Mode::parse(mode)?;
        let name = file_name(path, mode)?;
        let free = (0..FOPEN_MAX)
            .map(|i| 3 + (self.next + i) % FOPEN_MAX)
            .find(|&i| self.slots[i].kind == Kind::Closed)
            .ok_or(EMFILE)?;
        let h = backend.open(name, mode)?;
        self.next = (free - 3 + 1) % FOPEN_MAX;
        let slot = &mut self.slots[free];
        slot.open(Kind::File(h), mode);
        Ok(Stream::new(free, slot.tag))
    }

    /// `fclose`: writes out what waits, flushes or closes what is under
    /// the stream and frees the slot (also for the standard streams); the
    /// id is refused from then on. Any error is the backend's (the first
    /// one), and the slot is freed anyway.
    pub fn close(&mut self, backend: &mut impl Backend, s: Stream) -> Result<(), Errno> {
        let slot = self.slot(s)?;
        let written = slot.flush_writes(backend);
        let result = match slot.kind {
            Kind::File(h) => written.and(backend.close(h)),
            Kind::Console(_) => {
                backend.console_flush();
                Ok(())
            }
            Kind::Input | Kind::Closed => Ok(()),
        };
        slot.kind = Kind::Closed;
        slot.tag = (slot.tag + 1) & TAG_MASK;
        slot.drop_buffer();
        result
    }

    /// `fread` of `out.len()` bytes: the bytes read, and the error that
    /// cut the read short (the error indicator is then set). A short read
    /// without an error is the end of the file (the EOF indicator is set).
    pub fn read(
        &mut self,
        backend: &mut impl Backend,
        s: Stream,
        out: &mut [u8],
    ) -> (usize, Result<(), Errno>) {
        match self.slot(s) {
            Ok(slot) => slot.read(backend, out),
            Err(e) => (0, Err(e)),
        }
    }

    /// `fgetc`: the next byte, `None` at the end.
    pub fn getc(&mut self, backend: &mut impl Backend, s: Stream) -> Result<Option<u8>, Errno> {
        let mut b = [0u8];
        match self.read(backend, s, &mut b) {
            (1, _) => Ok(Some(b[0])),
            (_, Err(e)) => Err(e),
            _ => Ok(None),
        }
    }

    /// `fgets` into `out` (which has room for the NUL the caller adds, so
    /// at most `out.len() - 1` bytes are read): bytes up to and including a
    /// newline. `None` when the end came before any byte (C's NULL).
    pub fn gets(
        &mut self,
        backend: &mut impl Backend,
        s: Stream,
        out: &mut [u8],
    ) -> Result<Option<usize>, Errno> {
        let slot = self.slot(s)?;
        let max = out.len().saturating_sub(1);
        let mut n = 0;
        while n < max {
            let mut b = [0u8];
            match slot.read(backend, &mut b) {
                (1, _) => {
                    out[n] = b[0];
                    n += 1;
                    if b[0] == b'\n' {
                        break;
                    }
                }
                (_, Err(e)) => return Err(e),
                _ if n == 0 => return Ok(None),
                _ => break,
            }
        }
        Ok(Some(n))
    }

    /// `ungetc`: pushes `byte` back (one byte of push-back; `Ok(false)` if
    /// one is already there). Clears the EOF indicator.
    pub fn unget(&mut self, s: Stream, byte: u8) -> Result<bool, Errno> {
        let slot = self.slot(s)?;
        if slot.writing {
            // Not between writes (C11 §7.21.5.3: a seek comes first).
            slot.error = true;
            return Err(EBADF);
        }
        if !matches!(slot.kind, Kind::File(_) | Kind::Input) || !slot.mode.read {
            slot.error = true;
            return Err(EBADF);
        }
        if slot.pushed.is_some() {
            return Ok(false);
        }
        slot.pushed = Some(byte);
        slot.pos = slot.pos.saturating_sub(1);
        slot.eof = false;
        Ok(true)
    }

    /// `fwrite`: the console streams and files opened to write take
    /// output (files through the stream's buffer); any other stream is
    /// `EBADF` and gets its error indicator set.
    pub fn write(
        &mut self,
        backend: &mut impl Backend,
        s: Stream,
        bytes: &[u8],
    ) -> Result<usize, Errno> {
        self.slot(s)?.write(backend, bytes)
    }

    /// Where an output stream's bytes go, for `fprintf`: `Some` console
    /// (which it formats straight into), or `None` for a file opened to
    /// write (format through [`Files::write`]); `EBADF` (and the error
    /// indicator) for any other stream.
    pub fn output(&mut self, s: Stream) -> Result<Option<Console>, Errno> {
        let slot = self.slot(s)?;
        match slot.kind {
            Kind::Console(c) => Ok(Some(c)),
            Kind::File(_) if slot.mode.write => Ok(None),
            _ => {
                slot.error = true;
                Err(EBADF)
            }
        }
    }

    /// The console an output stream writes to; `EBADF` (and the error
    /// indicator) for any other stream.
    pub fn console(&mut self, s: Stream) -> Result<Console, Errno> {
        match self.output(s)? {
            Some(c) => Ok(c),
            None => {
                self.slot(s)?.error = true;
                Err(EBADF)
            }
        }
    }

    /// `fseek` / `_fseeki64`: moves a file stream (`ESPIPE` for the
    /// standard ones), drops the push-back, clears the EOF indicator;
    /// returns the new position. A seek inside the buffered bytes makes no
    /// backend call.
    pub fn seek(
        &mut self,
        backend: &mut impl Backend,
        s: Stream,
        offset: i64,
        whence: Whence,
    ) -> Result<u64, Errno> {
        self.slot(s)?.seek(backend, offset, whence)
    }

    /// `_ftelli64`: the position of a file stream (`ESPIPE` for the
    /// standard ones).
    pub fn tell(&mut self, s: Stream) -> Result<u64, Errno> {
        let slot = self.slot(s)?;
        match slot.kind {
            Kind::File(_) => Ok(slot.pos),
            _ => Err(ESPIPE),
        }
    }

    /// `ftell`: as [`Files::tell`], for a 32-bit `long` (LLP64): a
    /// position past `i32::MAX` is `EOVERFLOW`.
    pub fn tell_long(&mut self, s: Stream) -> Result<i32, Errno> {
        i32::try_from(self.tell(s)?).map_err(|_| EOVERFLOW)
    }

    /// `rewind`: seeks to 0 and clears both indicators.
    pub fn rewind(&mut self, backend: &mut impl Backend, s: Stream) -> Result<(), Errno> {
        let slot = self.slot(s)?;
        slot.error = false;
        slot.seek(backend, 0, Whence::Set).map(|_| ())
    }

    /// `fflush`: file streams write out what waits in their buffers, the
    /// console streams what the console holds; input streams have nothing
    /// to flush. `None` (C's `fflush(NULL)`) flushes everything (the first
    /// error is returned; every stream is still flushed).
    pub fn flush(&mut self, backend: &mut impl Backend, s: Option<Stream>) -> Result<(), Errno> {
        match s {
            None => {
                self.start();
                let mut result = Ok(());
                for slot in &mut self.slots {
                    let r = slot.flush_writes(backend);
                    if result.is_ok() {
                        result = r;
                    }
                }
                backend.console_flush();
                result
            }
            Some(s) => {
                let slot = self.slot(s)?;
                if let Kind::Console(_) = slot.kind {
                    backend.console_flush();
                }
                slot.flush_writes(backend)
            }
        }
    }

    /// `feof`.
    pub fn eof(&mut self, s: Stream) -> Result<bool, Errno> {
        Ok(self.slot(s)?.eof)
    }

    /// `ferror`.
    pub fn error(&mut self, s: Stream) -> Result<bool, Errno> {
        Ok(self.slot(s)?.error)
    }

    /// `clearerr`: clears both indicators.
    pub fn clear_error(&mut self, s: Stream) -> Result<(), Errno> {
        let slot = self.slot(s)?;
        slot.eof = false;
        slot.error = false;
        Ok(())
    }
}

/// Writes all of `bytes`, in as many backend calls as it takes.
fn write_all(backend: &mut impl Backend, h: u64, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match backend.write(h, bytes)? {
            0 => return Err(EIO),
            n => bytes = &bytes[n.min(bytes.len())..],
        }
    }
    Ok(())
}
