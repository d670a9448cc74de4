//! `m3-tests.exe crt`: the M5 checks of files and the C runtime from ring
//! 3 (the kernel runs it with its checks counted under M5): boot files
//! through the raw system calls and through `FILE`, and the bad calls of
//! both refused without harm; the C heap refusing frees of pointers it
//! never returned; and the `malloc_free` benchmark (benchmarks.md id 20).

use core::ffi::{c_char, c_int, c_long, c_void, CStr};
use init::rt;
use testkit::{check, Report, Shown};

/// The boot module read here (the suite's M0 test module).
const MODULE: &CStr = c"m0-module.txt";

/// C's `SEEK_END`; errno values (MSVC's numbering, runtime-dll/include).
const SEEK_END: c_int = 2;
const ENOENT: c_int = 2;
const EBADF: c_int = 9;
const EROFS: c_int = 30;

/// runtime.dll's heap figures (`FerriteHeapStats_t`).
#[repr(C)]
#[derive(Default)]
struct HeapStats {
    in_use: u64,
    blocks: u64,
    arena_bytes: u64,
    arenas: u64,
    refused: u64,
    failed_growths: u64,
}

#[cfg_attr(windows, link(name = "runtime", kind = "raw-dylib"))]
unsafe extern "C" {
    fn fopen(path: *const c_char, mode: *const c_char) -> *mut c_void;
    fn fclose(f: *mut c_void) -> c_int;
    fn fread(buf: *mut c_void, size: usize, n: usize, f: *mut c_void) -> usize;
    fn fseek(f: *mut c_void, offset: c_long, whence: c_int) -> c_int;
    fn ftell(f: *mut c_void) -> c_long;
    fn fgetc(f: *mut c_void) -> c_int;
    fn feof(f: *mut c_void) -> c_int;
    fn _errno() -> *mut c_int;
    fn malloc(size: usize) -> *mut c_void;
    fn free(p: *mut c_void);
    fn realloc(p: *mut c_void, size: usize) -> *mut c_void;
    fn FerriteHeapStats(out: *mut HeapStats);
}

fn errno() -> c_int {
    // SAFETY: `_errno` returns runtime.dll's errno, valid for the process.
    unsafe { *_errno() }
}

fn set_errno(v: c_int) {
    // SAFETY: as above.
    unsafe { *_errno() = v };
}

fn sys(nr: u64, args: [u64; 5]) -> abi::SysResult {
    // SAFETY: the calls here read and write only the buffers passed, which
    // the checks size (or deliberately point at bad memory the kernel must
    // refuse).
    unsafe { rt::syscall(nr, args) }
}

fn open_raw(name: &[u8]) -> abi::SysResult {
    sys(
        abi::nr::OPEN_FILE,
        [name.as_ptr() as u64, name.len() as u64, 0, 0, 0],
    )
}

/// Runs the checks; 0 when all passed.
pub fn run() -> i32 {
    let mut r = Report::new();
    raw_calls(&mut r);
    raw_calls_refused(&mut r);
    file_streams(&mut r);
    file_streams_refused(&mut r);
    heap_refuses_bad_frees(&mut r);
    let bench = malloc_free();
    check!(
        r,
        "malloc_free_measured",
        bench,
        "BENCH malloc_free reported: {bench}"
    );
    if r.all_passed() {
        0
    } else {
        1
    }
}

/// OPEN_FILE (another case), FILE_SIZE, SEEK_FILE and READ_FILE agree.
fn raw_calls(r: &mut Report) {
    let h = open_raw(b"M0-MODULE.TXT");
    let Ok(h) = h else {
        check!(r, "file_syscalls", false, "OPEN_FILE gave {}", Shown(h));
        return;
    };
    let size = sys(abi::nr::FILE_SIZE, [h, 0, 0, 0, 0]);
    let mut all = [0u8; 256];
    let n = sys(
        abi::nr::READ_FILE,
        [h, all.as_mut_ptr() as u64, all.len() as u64, 0, 0],
    );
    let at_end = sys(abi::nr::READ_FILE, [h, all.as_mut_ptr() as u64, 16, 0, 0]);
    let back = sys(
        abi::nr::SEEK_FILE,
        [h, (-5i64) as u64, abi::seek::END, 0, 0],
    );
    let mut tail = [0u8; 8];
    let tail_n = sys(abi::nr::READ_FILE, [h, tail.as_mut_ptr() as u64, 8, 0, 0]);
    let closed = sys(abi::nr::CLOSE_HANDLE, [h, 0, 0, 0, 0]);
    let len = n.unwrap_or(0) as usize;
    let ok = size == Ok(len as u64)
        && len > 5
        && at_end == Ok(0)
        && back == Ok(len as u64 - 5)
        && tail_n == Ok(5)
        && tail[..5] == all[len - 5..len]
        && closed.is_ok();
    check!(
        r,
        "file_syscalls",
        ok,
        "size {}, read {}, at the end {}, SEEK_END -5 {}, then {}, close {}",
        Shown(size),
        Shown(n),
        Shown(at_end),
        Shown(back),
        Shown(tail_n),
        Shown(closed)
    );
}

/// Bad names, buffers, handles and origins are refused, and a refused
/// read moves nothing.
fn raw_calls_refused(r: &mut Report) {
    use abi::Error::{BadPointer, InvalidArgument, InvalidHandle, NotFound};
    let missing = open_raw(b"no-such-file");
    let slash = open_raw(b"boot/m0-module.txt");
    let long = sys(
        abi::nr::OPEN_FILE,
        [MODULE.as_ptr() as u64, abi::MAX_FILE_NAME + 1, 0, 0, 0],
    );
    let kernel_name = sys(abi::nr::OPEN_FILE, [0xffff_8000_0000_0000, 8, 0, 0, 0]);
    let h = open_raw(MODULE.to_bytes()).unwrap_or(0);
    let kernel_buf = sys(abi::nr::READ_FILE, [h, 0xffff_8000_0000_0000, 16, 0, 0]);
    let null_buf = sys(abi::nr::READ_FILE, [h, 0, 16, 0, 0]);
    // After the refused reads the position is still 0: the first byte
    // comes next.
    let mut first = [0u8; 1];
    let first_n = sys(abi::nr::READ_FILE, [h, first.as_mut_ptr() as u64, 1, 0, 0]);
    let bad_whence = sys(abi::nr::SEEK_FILE, [h, 0, 7, 0, 0]);
    let before_start = sys(
        abi::nr::SEEK_FILE,
        [h, (-1i64) as u64, abi::seek::SET, 0, 0],
    );
    let _ = sys(abi::nr::CLOSE_HANDLE, [h, 0, 0, 0, 0]);
    let closed = sys(abi::nr::READ_FILE, [h, first.as_mut_ptr() as u64, 1, 0, 0]);
    let event = sys(abi::nr::CREATE_EVENT, [1, 0, 0, 0, 0]).unwrap_or(0);
    let wrong_type = sys(abi::nr::FILE_SIZE, [event, 0, 0, 0, 0]);
    let _ = sys(abi::nr::CLOSE_HANDLE, [event, 0, 0, 0, 0]);
    let ok = missing == Err(NotFound)
        && slash == Err(InvalidArgument)
        && long == Err(InvalidArgument)
        && kernel_name == Err(BadPointer)
        && h != 0
        && kernel_buf == Err(BadPointer)
        && null_buf == Err(BadPointer)
        && first_n == Ok(1)
        && bad_whence == Err(InvalidArgument)
        && before_start == Err(InvalidArgument)
        && closed == Err(InvalidHandle)
        && wrong_type == Err(InvalidHandle);
    check!(
        r,
        "file_syscalls_refuse_bad_calls",
        ok,
        "missing {}, with '/' {}, 256-byte name {}, kernel name {}, kernel buffer {}, null buffer {}, then a read {}, whence 7 {}, before the start {}, closed {}, an event {}",
        Shown(missing),
        Shown(slash),
        Shown(long),
        Shown(kernel_name),
        Shown(kernel_buf),
        Shown(null_buf),
        Shown(first_n),
        Shown(bad_whence),
        Shown(before_start),
        Shown(closed),
        Shown(wrong_type)
    );
}

/// `fopen` by path, `fseek`/`ftell` for the size, `fread` of it all,
/// `feof` after it: the same bytes the raw calls read.
fn file_streams(r: &mut Report) {
    let mut raw = [0u8; 256];
    let h = open_raw(MODULE.to_bytes()).unwrap_or(0);
    let raw_n =
        sys(abi::nr::READ_FILE, [h, raw.as_mut_ptr() as u64, 256, 0, 0]).unwrap_or(0) as usize;
    let _ = sys(abi::nr::CLOSE_HANDLE, [h, 0, 0, 0, 0]);
    // SAFETY: NUL-terminated path and mode.
    let f = unsafe { fopen(c"/usr/share/data/M0-Module.txt".as_ptr(), c"rb".as_ptr()) };
    if f.is_null() {
        check!(
            r,
            "file_streams",
            false,
            "fopen by path failed, errno {}",
            errno()
        );
        return;
    }
    let mut buf = [0u8; 256];
    // SAFETY: `f` is open; `buf` holds 256 bytes.
    let (size, rewound, n, eof, c) = unsafe {
        let end = fseek(f, 0, SEEK_END);
        let size = if end == 0 { ftell(f) } else { -1 };
        let rewound = fseek(f, 0, 0);
        let n = fread(buf.as_mut_ptr().cast(), 1, buf.len(), f);
        (size, rewound, n, feof(f), fgetc(f))
    };
    // SAFETY: `f` is open.
    let closed = unsafe { fclose(f) };
    let ok = size == raw_n as c_long
        && rewound == 0
        && n == raw_n
        && buf[..n] == raw[..raw_n]
        && eof != 0
        && c == -1
        && closed == 0;
    check!(
        r,
        "file_streams",
        ok,
        "fopen by path in another case; size {size} by fseek/ftell, fread {n} of {raw_n} bytes, same as READ_FILE: {}; feof {eof}, fgetc {c}, fclose {closed}",
        buf[..n] == raw[..raw_n]
    );
}

/// A missing file, a write mode, and a closed or forged `FILE *` fail with
/// their errno, and a stream opened afterwards still works.
fn file_streams_refused(r: &mut Report) {
    set_errno(0);
    // SAFETY: NUL-terminated strings.
    let missing = unsafe { fopen(c"no-such.wad".as_ptr(), c"rb".as_ptr()) };
    let missing_errno = errno();
    set_errno(0);
    // SAFETY: as above.
    let write = unsafe { fopen(MODULE.as_ptr(), c"wb".as_ptr()) };
    let write_errno = errno();
    // SAFETY: as above.
    let f = unsafe { fopen(MODULE.as_ptr(), c"rb".as_ptr()) };
    // SAFETY: `f` is open (or null, which fclose refuses).
    let first_close = unsafe { fclose(f) };
    set_errno(0);
    let mut buf = [0u8; 16];
    // SAFETY: `f` is closed: fread must refuse it without touching `buf`.
    let read_closed = unsafe { fread(buf.as_mut_ptr().cast(), 1, 16, f) };
    let closed_errno = errno();
    // SAFETY: a second fclose of the same FILE * must be refused.
    let second_close = unsafe { fclose(f) };
    // A pointer into the middle of this stack frame, as a FILE *.
    let forged = buf.as_mut_ptr().cast::<c_void>();
    set_errno(0);
    // SAFETY: runtime.dll validates a FILE * before using it.
    let read_forged = unsafe { fread(buf.as_mut_ptr().cast(), 1, 16, forged) };
    let forged_errno = errno();
    // SAFETY: NUL-terminated strings; the result is closed below.
    let again = unsafe { fopen(MODULE.as_ptr(), c"r".as_ptr()) };
    // SAFETY: `again` is open if not null.
    let works = !again.is_null() && unsafe { fgetc(again) } >= 0 && unsafe { fclose(again) } == 0;
    let ok = missing.is_null()
        && missing_errno == ENOENT
        && write.is_null()
        && write_errno == EROFS
        && !f.is_null()
        && first_close == 0
        && read_closed == 0
        && closed_errno == EBADF
        && second_close == -1
        && read_forged == 0
        && forged_errno == EBADF
        && buf == [0; 16]
        && works;
    check!(
        r,
        "file_streams_refuse_bad_calls",
        ok,
        "missing: errno {missing_errno}; \"wb\": errno {write_errno}; fread on a closed FILE {read_closed} (errno {closed_errno}), fclose again {second_close}; a forged FILE {read_forged} (errno {forged_errno}); a new stream afterwards works: {works}"
    );
}

/// `free` of a stack address, of an address inside a block, and a second
/// `free` are refused and counted; the heap stays whole.
fn heap_refuses_bad_frees(r: &mut Report) {
    let mut before = HeapStats::default();
    // SAFETY: `before` is a writable HeapStats.
    unsafe { FerriteHeapStats(&mut before) };
    let mut local = [0u64; 4];
    // Called through opaque pointers: LLVM knows `free` by name and may
    // drop a call it can prove undefined (a stack address, a double free),
    // which would leave the heap's refusal unseen.
    let malloc: unsafe extern "C" fn(usize) -> *mut c_void = core::hint::black_box(malloc);
    let free: unsafe extern "C" fn(*mut c_void) = core::hint::black_box(free);
    let realloc: unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void =
        core::hint::black_box(realloc);
    // SAFETY: malloc/free/realloc of runtime.dll; the bad pointers are the
    // point of the check (the heap must refuse them).
    let (refused_ok, intact) = unsafe {
        let p = malloc(64).cast::<u8>();
        free(local.as_mut_ptr().cast());
        free(p.add(8).cast());
        free(p.cast());
        free(p.cast());
        let grown = realloc(local.as_mut_ptr().cast(), 128);
        // Many blocks afterwards, written and checked.
        let mut blocks = [core::ptr::null_mut::<u8>(); 64];
        let mut intact = true;
        for (i, b) in blocks.iter_mut().enumerate() {
            *b = malloc(100 + i * 37).cast();
            if b.is_null() {
                intact = false;
            } else {
                core::ptr::write_bytes(*b, i as u8, 100 + i * 37);
            }
        }
        for (i, b) in blocks.iter().enumerate() {
            if !b.is_null() {
                let s = core::slice::from_raw_parts(*b, 100 + i * 37);
                intact &= s.iter().all(|&x| x == i as u8);
                free((*b).cast());
            }
        }
        (grown.is_null(), intact)
    };
    let mut after = HeapStats::default();
    // SAFETY: as above.
    unsafe { FerriteHeapStats(&mut after) };
    let refused = after.refused - before.refused;
    check!(
        r,
        "heap_refuses_bad_frees",
        refused == 4 && refused_ok && intact && after.in_use == before.in_use,
        "refused {refused} (stack, inside a block, double free, realloc of a stack address), 64 blocks written and read back: {intact}; in use {} -> {} bytes in {} arena(s)",
        before.in_use,
        after.in_use,
        after.arenas
    );
}

/// `malloc_free` iterations.
const MALLOC_ITERS: u64 = 100_000;

/// Benchmark id 20: `malloc(64)` then `free` of it, through runtime.dll.
fn malloc_free() -> bool {
    use testkit::bench::{announce, mark_begin, mark_end, rdtsc, report};
    let _ = announce("malloc_free", 20);
    // Opaque, so that LLVM cannot pair the calls up and drop them.
    let malloc: unsafe extern "C" fn(usize) -> *mut c_void = core::hint::black_box(malloc);
    let free: unsafe extern "C" fn(*mut c_void) = core::hint::black_box(free);
    let once = || {
        // SAFETY: runtime.dll's malloc and free, of the block just made.
        unsafe {
            let p = malloc(64);
            if p.is_null() {
                return false;
            }
            free(core::hint::black_box(p));
        }
        true
    };
    if !(0..MALLOC_ITERS.div_ceil(100)).all(|_| once()) {
        return false;
    }
    let t0 = rdtsc();
    mark_begin::<20>();
    let mut ok = true;
    for _ in 0..MALLOC_ITERS {
        ok &= once();
    }
    mark_end::<20>();
    let ticks = rdtsc() - t0;
    ok && report("malloc_free", MALLOC_ITERS, ticks).is_ok()
}
