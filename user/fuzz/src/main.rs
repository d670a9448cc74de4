//! fuzz.exe: makes system calls with random and hostile arguments from
//! several threads at once, seeded and reproducible in what each thread
//! asks (not in how the threads interleave).
//!
//! `fuzz.exe <seed> <calls> <threads> [trace]` makes `calls` calls in all,
//! split between `threads` threads (1 to 16), each printed before it is
//! made with `trace` (to find the call that broke something), prints one
//! summary line
//! (`fuzz: done ...`) and exits with 0; anything else it exits with 2
//! (bad arguments). The kernel's `test=fuzz` scenario runs it and checks
//! that the kernel survived it and got back every frame, heap byte and
//! kernel range.
//!
//! Arguments are drawn from: small numbers, random 64-bit values, hostile
//! pointers (null, kernel, non-canonical, the top of user space, the
//! program's own code and read-only data, a scratch region and the page
//! after it, which is unmapped), lengths around page and structure sizes
//! and huge ones, and handles (ones calls returned, the same with bits
//! flipped, closed ones, pseudo-handles, never-issued values). Numbers past
//! the last system call are tried too.
//!
//! What the program must survive to count its calls decides what it does
//! not ask: it never ends itself (EXIT_PROCESS, EXIT_THREAD, TERMINATE_PROCESS
//! of itself), never reports milestone lines (REPORT_*), never starts a
//! thread at a random address or a program other than exit0.exe, never
//! frees memory it did not get from a fuzzed allocation, waits and sleeps
//! at most 2 ms, and never hands a pipe call a handle that could be a
//! pipe (a pipe it opens is closed at once), since those block by design.
// A PE program for Ferrite, built for x86_64-pc-windows-msvc. On other
// targets (a host `cargo clippy --workspace`) it links std only so that it
// type-checks; it is never run there.
#![cfg_attr(windows, no_std)]
#![no_main]

use abi::nr;
use core::ffi::{c_char, c_void};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use ferrite_sys::syscall;
use init::rt;

/// Most threads a run takes.
const MAX_THREADS: u64 = 16;
/// Handles a thread remembers (returned by its calls).
const POOL: usize = 64;
/// Bytes of the scratch region, the only memory calls may write into.
const SCRATCH: u64 = 2 * 4096;

/// The scratch region (the page after it is unmapped).
static SCRATCH_AT: AtomicU64 = AtomicU64::new(0);
/// Calls made, and how they ended: ok, then each `abi::Error` code.
static TOTAL: AtomicU64 = AtomicU64::new(0);
static OUTCOMES: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];
/// Workers still running.
static RUNNING: AtomicU64 = AtomicU64::new(0);
/// Each worker's share of the calls and its seed.
static JOBS: [AtomicU64; MAX_THREADS as usize] =
    [const { AtomicU64::new(0) }; MAX_THREADS as usize];
static SEEDS: [AtomicU64; MAX_THREADS as usize] =
    [const { AtomicU64::new(0) }; MAX_THREADS as usize];
/// Whether each call is printed before it is made.
static TRACE: AtomicBool = AtomicBool::new(false);
/// Read-only data a pointer may name.
static READ_ONLY: [u8; 64] = [0x5a; 64];

/// The C entry point the Init library calls with `argv`.
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings (the Init library's).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(argc: i32, argv: *const *const c_char) -> i32 {
    let arg = |i: i32| -> u64 {
        if i >= argc {
            return u64::MAX;
        }
        // SAFETY: the Init library passes `argc` NUL-terminated strings
        // that live as long as the process.
        let mut p = unsafe { *argv.add(i as usize) }.cast::<u8>();
        let mut n = 0u64;
        let mut digits = 0;
        // SAFETY: as above: read up to the NUL.
        while let b @ b'0'..=b'9' = unsafe { *p } {
            n = n.saturating_mul(10).saturating_add(u64::from(b - b'0'));
            digits += 1;
            // SAFETY: not past the NUL yet.
            p = unsafe { p.add(1) };
        }
        if digits == 0 {
            u64::MAX
        } else {
            n
        }
    };
    let (seed, calls, threads) = (arg(1), arg(2), arg(3));
    TRACE.store(argc > 4, Ordering::Relaxed);
    if seed == u64::MAX || calls == u64::MAX || !(1..=MAX_THREADS).contains(&threads) {
        say(b"fuzz: usage: fuzz.exe <seed> <calls> <threads 1-16>\n");
        return 2;
    }
    // Three pages, the last given back: the scratch region and a hole.
    // ALLOCATE_PAGES and FREE_PAGES take no pointers to memory.
    let rw = abi::protection::READ | abi::protection::WRITE;
    // SAFETY: as above.
    let scratch = unsafe { syscall(nr::ALLOCATE_PAGES, SCRATCH + 4096, rw, 0, 0, 0) };
    if abi::decode(scratch).is_err() {
        say(b"fuzz: no scratch memory\n");
        return 2;
    }
    // SAFETY: as above; the third page is the fuzzer's own allocation.
    unsafe { syscall(nr::FREE_PAGES, scratch + SCRATCH, 4096, 0, 0, 0) };
    SCRATCH_AT.store(scratch, Ordering::Relaxed);
    RUNNING.store(threads, Ordering::SeqCst);
    for t in 0..threads {
        let share = calls / threads + u64::from(t < calls % threads);
        let job = (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ t) << 1 | 1;
        JOBS[t as usize].store(share, Ordering::Relaxed);
        SEEDS[t as usize].store(job, Ordering::Relaxed);
        // SAFETY: null attributes and thread-id pointer are allowed.
        let h = unsafe {
            rt::CreateThread(
                core::ptr::null(),
                0,
                worker,
                t as usize as *mut c_void,
                0,
                core::ptr::null_mut(),
            )
        };
        if h == 0 {
            say(b"fuzz: cannot start a worker\n");
            return 2;
        }
        // The workers' handles are not waited on: a fuzzed call may close
        // them. The count below says when all are done.
    }
    while RUNNING.load(Ordering::SeqCst) != 0 {
        // SAFETY: Sleep takes no pointers.
        unsafe { rt::Sleep(5) };
    }
    summary(seed, threads);
    0
}

/// Writes `text` to the debug console.
fn say(text: &[u8]) {
    // SAFETY: DEBUG_WRITE reads `text`, a live buffer.
    unsafe {
        syscall(
            nr::DEBUG_WRITE,
            text.as_ptr() as u64,
            text.len() as u64,
            0,
            0,
            0,
        )
    };
}

/// `fuzz: done seed S: N calls from T threads; ok A, BadPointer B, ...`.
fn summary(seed: u64, threads: u64) {
    let mut line = Line::new();
    // On a line of its own, whatever fuzzed writes left unfinished.
    line.push(b"\nfuzz: done seed ");
    line.number(seed);
    line.push(b": ");
    line.number(TOTAL.load(Ordering::SeqCst));
    line.push(b" calls from ");
    line.number(threads);
    line.push(b" threads; ok ");
    line.number(OUTCOMES[0].load(Ordering::SeqCst));
    for (code, count) in OUTCOMES.iter().enumerate().skip(1) {
        let n = count.load(Ordering::SeqCst);
        if n != 0 {
            line.push(b", error ");
            line.number(code as u64);
            line.push(b" x");
            line.number(n);
        }
    }
    line.push(b"\n");
    say(line.as_bytes());
}

/// A line built without allocating.
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    fn new() -> Self {
        Line {
            buf: [0; 512],
            len: 0,
        }
    }
    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }
    fn number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// xorshift64*: a thread's reproducible stream of choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A thread started with CREATE_THREAD: ends at once.
extern "C" fn quick(_: *mut c_void) -> u32 {
    7
}

/// What one worker keeps between calls.
struct Worker {
    rng: Rng,
    /// Handles calls returned (0: empty).
    handles: [u64; POOL],
    /// Regions fuzzed allocations returned (0: empty).
    regions: [u64; POOL],
    scratch: u64,
}

/// Byte strings a name argument may point at (with their lengths).
const NAMES: [&[u8]; 8] = [
    b"exit0.exe",
    b"no-such-program.exe",
    b"runtime.dll",
    b"",
    b"../exit0.exe",
    b"EXIT0.EXE",
    b"a\0b",
    b"exit0.exe\\..",
];

impl Worker {
    /// Remembers what a call returned if it may be a handle or a region.
    fn keep(&mut self, nr: u64, ret: u64) {
        if abi::decode(ret).is_err() || ret == 0 {
            return;
        }
        let slot = self.rng.below(POOL as u64) as usize;
        match nr {
            nr::ALLOCATE_PAGES | nr::ALLOCATE_LAZY => self.regions[slot] = ret,
            nr::CREATE_THREAD
            | nr::CREATE_EVENT
            | nr::CREATE_PROCESS
            | nr::CREATE_WINDOW
            | nr::OPEN_FILE => self.handles[slot] = ret,
            _ => {}
        }
    }

    fn small(&mut self) -> u64 {
        self.rng.below(17)
    }

    /// A pointer: mostly hostile, sometimes into the scratch region.
    fn pointer(&mut self) -> u64 {
        let s = self.scratch;
        match self.rng.below(16) {
            0 => 0,
            1 => self.rng.pick(&[1, 0xfff, 0x1000, 0x7fff_ffff_f000]),
            2 => abi::USER_END - self.rng.below(64),
            3 => self.rng.pick(&[
                0x0000_8000_0000_0000,
                0x8000_0000_0000_0000,
                0xdead_beef_0000_0000,
            ]),
            4 => self.rng.pick(&[
                0xffff_8000_0000_0000,
                0xffff_ffff_8000_0000,
                0xffff_ffff_ffff_f000,
            ]),
            5 => u64::MAX - self.rng.below(16),
            6 => quick as *const () as u64 + self.rng.below(64),
            7 => READ_ONLY.as_ptr() as u64 + self.rng.below(64),
            8 => s + SCRATCH - self.rng.below(64),
            9 => s + SCRATCH + self.rng.below(4096),
            10 => self.rng.next(),
            _ => s + self.rng.below(SCRATCH),
        }
    }

    /// A length: around page and structure sizes, or huge.
    fn length(&mut self) -> u64 {
        match self.rng.below(8) {
            0 => self.rng.pick(&[0, 1, 2, 7, 8, 16, 48, 56, 88, 108]),
            1 => self.rng.pick(&[4095, 4096, 4097, 8191, 8192, 8193]),
            2 => self.rng.pick(&[1 << 20, 1 << 31, 1 << 32, 1 << 40]),
            3 => self
                .rng
                .pick(&[u64::MAX, u64::MAX - 4095, 1 << 63, i64::MAX as u64]),
            4 => self.rng.next(),
            _ => self.rng.below(SCRATCH + 64),
        }
    }

    /// A handle: one a call returned, flipped, or never issued.
    fn handle(&mut self) -> u64 {
        let kept = self.handles[self.rng.below(POOL as u64) as usize];
        match self.rng.below(8) {
            0..=2 => kept,
            3 => kept ^ (1 << self.rng.below(64)),
            4 => self
                .rng
                .pick(&[abi::CURRENT_PROCESS, abi::CURRENT_THREAD, u64::MAX - 5]),
            5 => self.rng.pick(&[0, 1, 2, 3, 4, 8, 0xffff_fffc]),
            6 => self.rng.next() & !3,
            _ => self.rng.next(),
        }
    }

    /// A handle that cannot be a pipe's: none of this program's pipes
    /// stays open, so only handles calls returned (never a pipe) or
    /// values no table issues.
    fn not_a_pipe(&mut self) -> u64 {
        match self.rng.below(4) {
            0 | 1 => self.handles[self.rng.below(POOL as u64) as usize],
            2 => self.rng.pick(&[0, 1, 2, 3, u64::MAX, abi::CURRENT_THREAD]),
            _ => self.rng.next() | 1,
        }
    }

    /// Any argument.
    fn any(&mut self) -> u64 {
        match self.rng.below(5) {
            0 => self.small(),
            1 => self.pointer(),
            2 => self.length(),
            3 => self.handle(),
            _ => self.rng.next(),
        }
    }

    /// A name: one of [`NAMES`] (pointer, length) or hostile.
    fn name(&mut self) -> (u64, u64) {
        if self.rng.below(4) == 0 {
            return (self.pointer(), self.length());
        }
        let n = self.rng.pick(&NAMES);
        (n.as_ptr() as u64, n.len() as u64)
    }

    /// One call (two for OPEN_PIPE, which closes what it opened; none for
    /// a number it does not make): a number and arguments fit for it.
    fn call(&mut self) -> u64 {
        let nr = if self.rng.below(64) == 0 {
            let r = self.rng.next();
            self.rng
                .pick(&[nr::COUNT, nr::COUNT + 1, 1 << 32, u64::MAX, r])
        } else {
            self.rng.below(nr::COUNT)
        };
        let mut a = [self.any(), self.any(), self.any(), self.any(), self.any()];
        match nr {
            // Would end this thread or process, or print milestone lines.
            nr::EXIT_PROCESS
            | nr::EXIT_THREAD
            | nr::REPORT_CHECK
            | nr::REPORT_BENCH
            | nr::REPORT_BENCH_MARK => return 0,
            nr::DEBUG_WRITE => {
                // Little output: the console is slow and kept per process.
                a[0] = self.pointer();
                a[1] = if self.rng.below(2) == 0 {
                    self.rng.below(4)
                } else {
                    self.length() | 1 << 40
                };
            }
            nr::GET_SYSTEM_INFO | nr::GET_PROCESS_INFO => a[0] = self.pointer(),
            nr::SLEEP => a[0] = self.rng.below(3),
            nr::ALLOCATE_PAGES | nr::ALLOCATE_LAZY => {
                a[0] = if self.rng.below(2) == 0 {
                    self.rng.below(5) * 4096 + self.rng.below(2)
                } else {
                    self.length()
                };
                a[1] = self.rng.below(16);
            }
            nr::FREE_PAGES => {
                // Only where a fuzzed allocation starts (the kernel frees
                // whole allocations only), or where nothing of this
                // program's lives.
                a[0] = match self.rng.below(3) {
                    0 | 1 => self.regions[self.rng.below(POOL as u64) as usize],
                    _ => self.rng.pick(&[
                        0,
                        1,
                        0xffff_8000_0000_0000,
                        u64::MAX,
                        0x0000_8000_0000_0000,
                    ]),
                };
                a[1] = if self.rng.below(2) == 0 {
                    0
                } else {
                    self.length()
                };
            }
            nr::CREATE_THREAD => {
                // Any other entry faults in ring 3, which ends this
                // program (and only it).
                a[0] = quick as *const () as u64;
                let r = self.rng.next();
                a[2] = self
                    .rng
                    .pick(&[0, 4096, 65536, 1 << 20, 1 << 40, u64::MAX, r]);
            }
            nr::WAIT_MULTIPLE => {
                a[0] = self.pointer();
                a[1] = self.rng.pick(&[0, 1, 2, 64, 65, 1 << 32, u64::MAX]);
                a[2] = self.rng.below(3);
                a[3] = self.rng.below(3);
            }
            nr::TERMINATE_PROCESS => {
                a[0] = self.handle();
                if a[0] == abi::CURRENT_PROCESS {
                    return 0;
                }
            }
            nr::CREATE_PROCESS => {
                (a[0], a[1]) = self.name();
                (a[2], a[3]) = (self.pointer(), self.rng.below(64));
            }
            nr::OPEN_PIPE => {
                (a[0], a[1]) = self.name();
                // SAFETY: the name points at a constant or is hostile; the
                // kernel checks it.
                let ret = unsafe { syscall(nr, a[0], a[1], 0, 0, 0) };
                self.count(ret);
                if abi::decode(ret).is_err() {
                    return 1;
                }
                // SAFETY: closing our own fresh handle.
                let closed = unsafe { syscall(nr::CLOSE_HANDLE, ret, 0, 0, 0, 0) };
                self.count(closed);
                return 2;
            }
            nr::PIPE_READ | nr::PIPE_WRITE => a[0] = self.not_a_pipe(),
            nr::CREATE_WINDOW => {
                (a[0], a[1]) = self.name();
                a[2] = self.rng.pick(&[0, 1, 64, 640, 4096, 1 << 31, u64::MAX]);
                a[3] = self.rng.pick(&[0, 1, 48, 400, 4096, 1 << 31, u64::MAX]);
            }
            nr::GET_MESSAGE => {
                a[0] = self.pointer();
                a[1] = if self.rng.below(2) == 0 {
                    0
                } else {
                    self.handle()
                };
                a[3] = self.rng.below(3);
            }
            nr::SET_SCREEN_BUFFER => {
                a[0] = self.handle();
                a[1] = self.pointer();
                a[2] = self.rng.pick(&[0, 1, 16, 64, 4096, 4097, u64::MAX]);
                a[3] = self.rng.pick(&[0, 1, 16, 32, 4096, u64::MAX]);
                a[4] = self.rng.pick(&[0, 4, 64, 256, 16384, 16388, u64::MAX]);
            }
            nr::OPEN_FILE => (a[0], a[1]) = self.name(),
            nr::READ_FILE => {
                a[0] = self.handle();
                a[1] = self.pointer();
                a[2] = self.length();
            }
            _ => {}
        }
        if TRACE.load(Ordering::Relaxed) {
            let mut line = Line::new();
            line.push(b"fuzz: call ");
            line.number(nr);
            for v in a {
                line.push(b" ");
                line.number(v);
            }
            line.push(b"\n");
            say(line.as_bytes());
        }
        // The calls that would end the program are not made (above).
        // SAFETY: every pointer names the scratch region (nothing else uses
        // it), this program's code or read-only data, or memory it does not
        // own; the kernel checks them all.
        let ret = unsafe { syscall(nr, a[0], a[1], a[2], a[3], a[4]) };
        self.count(ret);
        self.keep(nr, ret);
        1
    }

    fn count(&mut self, ret: u64) {
        let code = match abi::decode(ret) {
            Ok(_) => 0,
            Err(e) => (e as u64).min(15),
        };
        OUTCOMES[code as usize].fetch_add(1, Ordering::Relaxed);
        TOTAL.fetch_add(1, Ordering::Relaxed);
    }
}

extern "C" fn worker(arg: *mut c_void) -> u32 {
    let t = arg as usize;
    let mut w = Worker {
        rng: Rng(SEEDS[t].load(Ordering::Relaxed)),
        handles: [0; POOL],
        regions: [0; POOL],
        scratch: SCRATCH_AT.load(Ordering::Relaxed),
    };
    let share = JOBS[t].load(Ordering::Relaxed);
    let mut made = 0;
    while made < share {
        made += w.call();
    }
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    0
}
