//! `FILE` streams, `errno` and `exit`: the `crt` stream engine over the
//! kernel's files.
//!
//! The stream table ([`crt::stdio::Files`]) sits behind one spin lock; its
//! backend opens, reads, writes and seeks files with OPEN_FILE, READ_FILE,
//! WRITE_FILE and SEEK_FILE and closes them with CLOSE_HANDLE. A path
//! under `/disk/` is a file on a disk volume, which streams can write; any
//! other path names the read-only boot file of its last component (see
//! [`crt::stdio::boot_name`]: `/usr/share/games/doom/freedoom1.wad` opens
//! `freedoom1.wad`), and a mode that writes one fails with `EROFS`. `stdout` and `stderr` write into the console's line
//! buffer (the one `printf` uses, so their output keeps its order);
//! `stdin` reads nothing.
//!
//! A `FILE *` is the address of one byte of [`IDS`], a reserved range with
//! one byte per stream id; an id carries its slot's generation, so a
//! closed, stale or forged `FILE *` is refused with `EBADF` (and `EOF` or
//! 0), never taken for another stream. C code never looks inside a `FILE`.
//!
//! `errno` is one `int` per process (there is no thread-local storage in
//! runtime.dll yet): good enough for single-threaded C programs like DOOM;
//! threads that race on failing calls see each other's codes.

use crate::native::ExitProcess;
use crate::stdio;
use abi::nr;
use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_longlong, c_uint, c_void};
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use crt::stdio::errno::{self, Errno};
use crt::stdio::{AtExit, Backend, Console, Files, Mode, Stream, Whence, STREAM_IDS};
use ferrite_sys::call;

/// C's `FILE`, opaque.
#[repr(C)]
pub struct File {
    _opaque: [u8; 0],
}

/// C's `EOF`.
const EOF: c_int = -1;

/// C's `long` on Win64 (LLP64: 32 bits, whatever the host says).
type Long = i32;

/// `abort`'s exit code (the one MSVC's `abort` gives).
pub const ABORT_EXIT_CODE: u32 = 3;

static ERRNO: AtomicI32 = AtomicI32::new(0);

/// Sets `errno` (for other parts of the C runtime, e.g. `strtol`'s
/// `ERANGE`).
pub fn set_errno(e: i32) {
    ERRNO.store(e, Ordering::Relaxed);
}

/// `int *_errno(void)`: where `errno` lives (`<errno.h>` defines `errno`
/// as `(*_errno())`, MSVC's name for it).
#[unsafe(no_mangle)]
pub extern "C" fn _errno() -> *mut c_int {
    ERRNO.as_ptr()
}

/// A value behind a spin lock.
struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reached while `locked` is held (see `with`).
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    const fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        // SAFETY: the lock is held, so this is the only reference.
        let r = f(unsafe { &mut *self.value.get() });
        self.locked.store(false, Ordering::Release);
        r
    }
}

/// The stream table (all zeros until first used: no image bytes).
static FILES: SpinLock<Files> = SpinLock::new(Files::new());

/// One byte per stream id: a `FILE *` is the address of its id's byte.
static IDS: [u8; STREAM_IDS] = [0; STREAM_IDS];

fn file_ptr(s: Stream) -> *mut File {
    IDS.as_ptr().wrapping_add(s.raw()).cast_mut().cast()
}

/// The stream a `FILE *` names, if it is one of [`IDS`] (open or not).
fn stream(f: *mut File) -> Option<Stream> {
    let at = (f as usize).wrapping_sub(IDS.as_ptr() as usize);
    Stream::from_raw(at)
}

/// Runs `op` on the table and the stream `f`, with `EBADF` for a pointer
/// that is no stream at all.
fn with_stream<R>(
    f: *mut File,
    op: impl FnOnce(&mut Files, &mut Kernel, Stream) -> Result<R, Errno>,
) -> Result<R, Errno> {
    let s = stream(f).ok_or(errno::EBADF)?;
    FILES.with(|files| op(files, &mut Kernel, s))
}

/// Sets `errno` for an error and gives `fail` for it.
pub(crate) fn c_result<T>(r: Result<T, Errno>, fail: T) -> T {
    r.unwrap_or_else(|e| {
        set_errno(e);
        fail
    })
}

/// The `errno` for a kernel error.
pub(crate) fn errno_of(e: abi::Error) -> Errno {
    match e {
        abi::Error::NotFound => errno::ENOENT,
        abi::Error::InvalidArgument => errno::EINVAL,
        abi::Error::BadPointer => errno::EFAULT,
        abi::Error::NoMemory => errno::ENOMEM,
        abi::Error::InvalidHandle => errno::EBADF,
        abi::Error::AccessDenied => errno::EACCES,
        abi::Error::IoError => errno::EIO,
        abi::Error::AlreadyExists => errno::EEXIST,
        abi::Error::DiskFull => errno::ENOSPC,
        abi::Error::TimedOut => errno::ETIMEDOUT,
        abi::Error::ConnectionReset => errno::ECONNRESET,
        abi::Error::NetworkUnreachable => errno::ENETUNREACH,
        abi::Error::NotSupported | abi::Error::BadSyscall => errno::ENOSYS,
    }
}

/// OPEN_FILE's flags for an `fopen` mode.
fn open_flags(mode: Mode) -> u64 {
    use abi::open_flags::{CREATE, EXCLUSIVE, TRUNCATE, WRITE};
    let mut flags = 0;
    if mode.write {
        flags |= WRITE;
    }
    if mode.create() {
        flags |= CREATE;
    }
    if mode.truncate {
        flags |= TRUNCATE;
    }
    if mode.exclusive {
        flags |= EXCLUSIVE;
    }
    flags
}

/// The kernel's files and the debug console.
struct Kernel;

impl Backend for Kernel {
    fn open(&mut self, name: &[u8], mode: Mode) -> Result<u64, Errno> {
        if name.len() as u64 > abi::MAX_FILE_NAME {
            return Err(errno::ENAMETOOLONG);
        }
        let args = [
            name.as_ptr() as u64,
            name.len() as u64,
            open_flags(mode),
            0,
            0,
        ];
        // SAFETY: OPEN_FILE reads the name, a valid slice.
        unsafe { call(nr::OPEN_FILE, args) }.map_err(errno_of)
    }

    fn read(&mut self, file: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let args = [file, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0];
        // SAFETY: READ_FILE writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { call(nr::READ_FILE, args) }.map_err(errno_of)?;
        Ok((n as usize).min(buf.len()))
    }

    fn write(&mut self, file: u64, bytes: &[u8]) -> Result<usize, Errno> {
        let args = [file, bytes.as_ptr() as u64, bytes.len() as u64, 0, 0];
        // SAFETY: WRITE_FILE only reads `bytes`, a valid slice.
        let n = unsafe { call(nr::WRITE_FILE, args) }.map_err(errno_of)?;
        Ok((n as usize).min(bytes.len()))
    }

    fn seek(&mut self, file: u64, offset: i64, whence: Whence) -> Result<u64, Errno> {
        let whence = match whence {
            Whence::Set => abi::seek::SET,
            Whence::Current => abi::seek::CURRENT,
            Whence::End => abi::seek::END,
        };
        // SAFETY: SEEK_FILE reads no memory.
        unsafe { call(nr::SEEK_FILE, [file, offset as u64, whence, 0, 0]) }.map_err(errno_of)
    }

    fn close(&mut self, file: u64) -> Result<(), Errno> {
        // SAFETY: CLOSE_HANDLE reads no memory.
        unsafe { call(nr::CLOSE_HANDLE, [file, 0, 0, 0, 0]) }
            .map(|_| ())
            .map_err(errno_of)
    }

    fn console_write(&mut self, _: Console, bytes: &[u8]) {
        stdio::console_write(bytes);
    }

    fn console_flush(&mut self) {
        stdio::console_flush();
    }
}

/// The bytes of a C string, or `None` for NULL.
///
/// # Safety
/// `s` must be null or NUL-terminated, and outlive the result.
pub(crate) unsafe fn c_str<'a>(s: *const c_char) -> Option<&'a [u8]> {
    if s.is_null() {
        return None;
    }
    // SAFETY: the caller's contract.
    Some(unsafe { core::slice::from_raw_parts(s.cast(), crt::string::strlen(s)) })
}

/// `FILE *__acrt_iob_func(unsigned i)`: stdin (0), stdout (1), stderr
/// (2), as `<stdio.h>`'s macros ask for them (MSVC's name); NULL for any
/// other `i`.
#[unsafe(no_mangle)]
pub extern "C" fn __acrt_iob_func(i: c_uint) -> *mut File {
    match i {
        0 => file_ptr(Stream::STDIN),
        1 => file_ptr(Stream::STDOUT),
        2 => file_ptr(Stream::STDERR),
        _ => core::ptr::null_mut(),
    }
}

/// `FILE *fopen(const char *path, const char *mode)`: a stream of the file
/// `path` names (a disk file in any mode, a boot file for reading), or NULL
/// with `errno` (`EINVAL` for a bad mode, `EROFS` for writing a boot file,
/// `EACCES` for a disk file another stream or program has open when either
/// writes, `ENOENT`, `EEXIST` for `x`, `ENOSPC`, `EIO`, `EMFILE`).
///
/// # Safety
/// Both must be null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> *mut File {
    // SAFETY: the caller's contract.
    let (Some(path), Some(mode)) = (unsafe { c_str(path) }, unsafe { c_str(mode) }) else {
        set_errno(errno::EINVAL);
        return core::ptr::null_mut();
    };
    let r = FILES.with(|files| files.open(&mut Kernel, path, mode));
    c_result(r.map(file_ptr), core::ptr::null_mut())
}

/// `int fclose(FILE *f)`: 0, or `EOF` (`EBADF` for a closed or bad `f`).
#[unsafe(no_mangle)]
pub extern "C" fn fclose(f: *mut File) -> c_int {
    c_result(with_stream(f, |t, k, s| t.close(k, s)).map(|_| 0), EOF)
}

/// `size_t fread(void *buf, size_t size, size_t n, FILE *f)`: the
/// elements read (fewer at the end of the file or on an error: see
/// `feof`, `ferror`).
///
/// # Safety
/// `buf` must be writable for `size * n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fread(buf: *mut c_void, size: usize, n: usize, f: *mut File) -> usize {
    let Some(total) = size.checked_mul(n).filter(|&t| t == 0 || !buf.is_null()) else {
        set_errno(errno::EINVAL);
        return 0;
    };
    if total == 0 {
        return 0;
    }
    // SAFETY: the caller passes `total` writable bytes at `buf`.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), total) };
    let (got, r) = match stream(f) {
        Some(s) => FILES.with(|files| files.read(&mut Kernel, s, out)),
        None => (0, Err(errno::EBADF)),
    };
    c_result(r, ());
    got / size
}

/// `size_t fwrite(const void *buf, size_t size, size_t n, FILE *f)`: the
/// elements written (to `stdout`, `stderr`, or a file opened to write,
/// through its buffer: `fflush` or `fclose` writes it out).
///
/// # Safety
/// `buf` must be readable for `size * n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fwrite(buf: *const c_void, size: usize, n: usize, f: *mut File) -> usize {
    let Some(total) = size.checked_mul(n).filter(|&t| t == 0 || !buf.is_null()) else {
        set_errno(errno::EINVAL);
        return 0;
    };
    if total == 0 {
        return 0;
    }
    // SAFETY: the caller passes `total` readable bytes at `buf`.
    let bytes = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), total) };
    c_result(with_stream(f, |t, k, s| t.write(k, s, bytes)), 0) / size
}

/// `int _fseeki64(FILE *f, long long offset, int whence)`: 0, or -1 with
/// `errno`.
#[unsafe(no_mangle)]
pub extern "C" fn _fseeki64(f: *mut File, offset: c_longlong, whence: c_int) -> c_int {
    let r = with_stream(f, |t, k, s| t.seek(k, s, offset, Whence::from_c(whence)?));
    c_result(r.map(|_| 0), -1)
}

/// `int fseek(FILE *f, long offset, int whence)` (`long` is 32 bits).
#[unsafe(no_mangle)]
pub extern "C" fn fseek(f: *mut File, offset: Long, whence: c_int) -> c_int {
    _fseeki64(f, c_longlong::from(offset), whence)
}

/// `long long _ftelli64(FILE *f)`: the position, or -1 with `errno`.
#[unsafe(no_mangle)]
pub extern "C" fn _ftelli64(f: *mut File) -> c_longlong {
    c_result(
        with_stream(f, |t, _, s| t.tell(s)).map(|p| p as c_longlong),
        -1,
    )
}

/// `long ftell(FILE *f)`: the position, or -1 with `errno` (`EOVERFLOW`
/// past `LONG_MAX`, 2^31 - 1).
#[unsafe(no_mangle)]
pub extern "C" fn ftell(f: *mut File) -> Long {
    c_result(with_stream(f, |t, _, s| t.tell_long(s)), -1)
}

/// `void rewind(FILE *f)`.
#[unsafe(no_mangle)]
pub extern "C" fn rewind(f: *mut File) {
    c_result(with_stream(f, |t, k, s| t.rewind(k, s)), ());
}

/// `int fflush(FILE *f)`: writes out what a file stream's buffer holds, or
/// the console's unfinished line for `stdout`/`stderr` (NULL: everything);
/// 0, or `EOF` with `errno` for a bad `f` or a failed write.
#[unsafe(no_mangle)]
pub extern "C" fn fflush(f: *mut File) -> c_int {
    if f.is_null() {
        return c_result(
            FILES
                .with(|files| files.flush(&mut Kernel, None))
                .map(|_| 0),
            EOF,
        );
    }
    c_result(
        with_stream(f, |t, k, s| t.flush(k, Some(s))).map(|_| 0),
        EOF,
    )
}

/// `int feof(FILE *f)`.
#[unsafe(no_mangle)]
pub extern "C" fn feof(f: *mut File) -> c_int {
    c_result(with_stream(f, |t, _, s| t.eof(s)).map(c_int::from), 0)
}

/// `int ferror(FILE *f)`.
#[unsafe(no_mangle)]
pub extern "C" fn ferror(f: *mut File) -> c_int {
    c_result(with_stream(f, |t, _, s| t.error(s)).map(c_int::from), 0)
}

/// `void clearerr(FILE *f)`.
#[unsafe(no_mangle)]
pub extern "C" fn clearerr(f: *mut File) {
    c_result(with_stream(f, |t, _, s| t.clear_error(s)), ());
}

/// `int fgetc(FILE *f)`: the next byte as `unsigned char`, or `EOF`.
#[unsafe(no_mangle)]
pub extern "C" fn fgetc(f: *mut File) -> c_int {
    let r = with_stream(f, |t, k, s| t.getc(k, s));
    c_result(r.map(|c| c.map_or(EOF, c_int::from)), EOF)
}

/// `int getc(FILE *f)`.
#[unsafe(no_mangle)]
pub extern "C" fn getc(f: *mut File) -> c_int {
    fgetc(f)
}

/// `int getchar(void)`: reads `stdin`, which is always at its end.
#[unsafe(no_mangle)]
pub extern "C" fn getchar() -> c_int {
    fgetc(file_ptr(Stream::STDIN))
}

/// `char *fgets(char *s, int n, FILE *f)`: a line (with its newline, cut
/// at `n - 1` bytes) and a NUL; NULL at the end of the file or on an
/// error.
///
/// # Safety
/// `s` must be writable for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fgets(s: *mut c_char, n: c_int, f: *mut File) -> *mut c_char {
    let Some(len) = usize::try_from(n).ok().filter(|&n| n > 0 && !s.is_null()) else {
        set_errno(errno::EINVAL);
        return core::ptr::null_mut();
    };
    // SAFETY: the caller passes `n` writable bytes at `s`.
    let out = unsafe { core::slice::from_raw_parts_mut(s.cast::<u8>(), len) };
    match c_result(with_stream(f, |t, k, st| t.gets(k, st, out)), None) {
        Some(got) => {
            out[got] = 0;
            s
        }
        None => core::ptr::null_mut(),
    }
}

/// `int ungetc(int c, FILE *f)`: pushes one byte back; `c`, or `EOF`.
#[unsafe(no_mangle)]
pub extern "C" fn ungetc(c: c_int, f: *mut File) -> c_int {
    if c == EOF {
        return EOF;
    }
    let byte = c as u8;
    let r = with_stream(f, |t, _, s| t.unget(s, byte));
    if c_result(r, false) {
        c_int::from(byte)
    } else {
        EOF
    }
}

/// `int fputc(int c, FILE *f)`: `c` as `unsigned char`, or `EOF`.
#[unsafe(no_mangle)]
pub extern "C" fn fputc(c: c_int, f: *mut File) -> c_int {
    let byte = [c as u8];
    let r = with_stream(f, |t, k, s| t.write(k, s, &byte));
    c_result(r.map(|_| c_int::from(byte[0])), EOF)
}

/// `int putc(int c, FILE *f)`.
#[unsafe(no_mangle)]
pub extern "C" fn putc(c: c_int, f: *mut File) -> c_int {
    fputc(c, f)
}

/// `int fputs(const char *s, FILE *f)`: 0, or `EOF`.
///
/// # Safety
/// `s` must be NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fputs(s: *const c_char, f: *mut File) -> c_int {
    // SAFETY: the caller's contract.
    let Some(bytes) = (unsafe { c_str(s) }) else {
        set_errno(errno::EINVAL);
        return EOF;
    };
    c_result(
        with_stream(f, |t, k, st| t.write(k, st, bytes)).map(|_| 0),
        EOF,
    )
}

/// `int setvbuf(FILE *f, char *buf, int mode, size_t size)`: accepts any
/// mode (`_IOFBF` 0, `_IOLBF` 64, `_IONBF` 4) and keeps its own buffering
/// (file reads through the stream's buffer, console output by lines);
/// 0, or nonzero for a bad stream or mode.
#[unsafe(no_mangle)]
pub extern "C" fn setvbuf(f: *mut File, _buf: *mut c_char, mode: c_int, _size: usize) -> c_int {
    if !matches!(mode, 0 | 4 | 64) {
        set_errno(errno::EINVAL);
        return -1;
    }
    let r = with_stream(f, |t, _, s| {
        if t.is_open(s) {
            Ok(0)
        } else {
            Err(errno::EBADF)
        }
    });
    c_result(r, -1)
}

/// `void setbuf(FILE *f, char *buf)`: as `setvbuf`, which keeps its own
/// buffering.
#[unsafe(no_mangle)]
pub extern "C" fn setbuf(f: *mut File, buf: *mut c_char) {
    setvbuf(f, buf, 0, 0);
}

/// `int vfprintf(FILE *f, const char *fmt, va_list va)`: as `vprintf`
/// for `stdout` and `stderr`; into the buffer of a file opened to write;
/// -1 with `EBADF` for any other stream (or with the write's `errno`).
///
/// # Safety
/// As for `vprintf`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfprintf(f: *mut File, fmt: *const c_char, va: stdio::VaList) -> c_int {
    let Some(s) = stream(f) else {
        set_errno(errno::EBADF);
        return -1;
    };
    match FILES.with(|t| t.output(s)) {
        // SAFETY: forwarded contract.
        Ok(Some(_)) => unsafe { stdio::vprintf(fmt, va) },
        Ok(None) => {
            let mut va = va;
            // SAFETY: the caller's contract.
            let fmt =
                unsafe { core::slice::from_raw_parts(fmt.cast::<u8>(), crt::string::strlen(fmt)) };
            let (count, r) = FILES.with(|files| {
                let mut sink = StreamSink {
                    files,
                    stream: s,
                    error: None,
                };
                let count = crt::format::format(&mut sink, fmt, &mut va);
                (count, sink.error.map_or(Ok(()), Err))
            });
            c_result(r.map(|()| count.min(c_int::MAX as usize) as c_int), -1)
        }
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

/// `fprintf`'s output into a file stream (the first error is kept, and
/// what comes after it is dropped).
struct StreamSink<'a> {
    files: &'a mut crt::stdio::Files,
    stream: Stream,
    error: Option<Errno>,
}

impl crt::format::Sink for StreamSink<'_> {
    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            if let Err(e) = self.files.write(&mut Kernel, self.stream, bytes) {
                self.error = Some(e);
            }
        }
    }
}

/// The `atexit` handlers.
static AT_EXIT: SpinLock<AtExit<extern "C" fn()>> = SpinLock::new(AtExit::new());

/// `int atexit(void (*f)(void))`: 0, or -1 when 32 are registered.
#[unsafe(no_mangle)]
pub extern "C" fn atexit(f: extern "C" fn()) -> c_int {
    if AT_EXIT.with(|t| t.push(f)) {
        0
    } else {
        -1
    }
}

/// `void exit(int status)`: runs the `atexit` handlers, last registered
/// first, flushes the streams (the console's unfinished line) and ends
/// the process with `status` (`exit(-1)` gives exit code 0xFFFFFFFF).
#[unsafe(no_mangle)]
pub extern "C" fn exit(status: c_int) -> ! {
    // The lock is not held while a handler runs (it may call atexit).
    while let Some(f) = AT_EXIT.with(|t| t.pop()) {
        f();
    }
    fflush(core::ptr::null_mut());
    ExitProcess(status as u32)
}

/// `void _exit(int status)`: ends the process at once (no handlers; the
/// console line is still written out, as by `ExitProcess`).
#[unsafe(no_mangle)]
pub extern "C" fn _exit(status: c_int) -> ! {
    ExitProcess(status as u32)
}

/// `void abort(void)`: ends the process with [`ABORT_EXIT_CODE`] (3, as
/// MSVC's `abort`), without running the `atexit` handlers.
#[unsafe(no_mangle)]
pub extern "C" fn abort() -> ! {
    stdio::console_write(b"abort() called\n");
    ExitProcess(ABORT_EXIT_CODE)
}

/// `void _assert(const char *msg, const char *file, unsigned line)`
/// (what `<assert.h>`'s `assert` calls when it fails): prints
/// `Assertion failed: msg, file F, line N` and aborts.
///
/// # Safety
/// `msg` and `file` must be null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _assert(msg: *const c_char, file: *const c_char, line: c_uint) -> ! {
    // SAFETY: the caller's contract.
    let (msg, file) = unsafe { (c_str(msg), c_str(file)) };
    stdio::console_write(b"Assertion failed: ");
    stdio::console_write(msg.unwrap_or(b"?"));
    stdio::console_write(b", file ");
    stdio::console_write(file.unwrap_or(b"?"));
    stdio::console_write(b", line ");
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut n = line;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    stdio::console_write(&digits[at..]);
    stdio::console_write(b"\n");
    ExitProcess(ABORT_EXIT_CODE)
}
