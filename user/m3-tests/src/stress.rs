//! The stress scenario: many processes and threads creating, waiting,
//! sleeping, exiting, being terminated and faulting at random, for a
//! bounded time.

use crate::sys;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use init::rt;

/// A xorshift64 generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Children alive at once.
const CHILDREN: usize = 6;

/// The parent: keeps [`CHILDREN`] children running for `ms`, terminating
/// some, waiting for others; exits with the number of children started.
pub fn parent(ms: u64) -> i32 {
    let mut rng = Rng(sys::now_ns() | 1);
    let end = sys::now_ns() + ms * 1_000_000;
    let mut live = [0u64; CHILDREN];
    let mut started = 0;
    let mut buf = [0u8; 64];
    while sys::now_ns() < end {
        for slot in live.iter_mut() {
            if *slot != 0 {
                // SAFETY: WaitForSingleObject takes no pointers.
                let done = unsafe { rt::WaitForSingleObject(*slot, 0) } == 0;
                if done || rng.below(20) == 0 {
                    if !done {
                        // SAFETY: TerminateProcess takes no pointers.
                        unsafe { rt::TerminateProcess(*slot, 0x57) };
                        // SAFETY: as above.
                        unsafe { rt::WaitForSingleObject(*slot, 0xFFFF_FFFF) };
                    }
                    // SAFETY: CloseHandle takes no pointers.
                    unsafe { rt::CloseHandle(*slot) };
                    *slot = 0;
                }
            }
            if *slot == 0 {
                *slot =
                    sys::spawn_self(sys::args(&mut buf, b"stress-child ", rng.next() >> 1, b""));
                if *slot != 0 {
                    started += 1;
                }
            }
        }
        // SAFETY: Sleep takes no pointers.
        unsafe { rt::Sleep(rng.below(5) as u32) };
    }
    for h in live.iter().filter(|&&h| h != 0) {
        // SAFETY: as above.
        unsafe {
            rt::TerminateProcess(*h, 0x58);
            rt::WaitForSingleObject(*h, 0xFFFF_FFFF);
            rt::CloseHandle(*h);
        }
    }
    started
}

static SEED: AtomicU64 = AtomicU64::new(1);
static THREADS: AtomicU32 = AtomicU32::new(0);
static EVENT: AtomicU64 = AtomicU64::new(0);

/// One random action after another, until one ends the thread.
extern "C" fn worker(arg: *mut c_void) -> u32 {
    let mut rng = Rng(SEED.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed) ^ arg as u64 | 1);
    for _ in 0..64 {
        match rng.below(16) {
            0..=3 => {
                // SAFETY: Sleep takes no pointers.
                unsafe { rt::Sleep(rng.below(4) as u32) };
            }
            4..=6 => {
                // SAFETY: WaitForSingleObject takes no pointers.
                unsafe {
                    rt::WaitForSingleObject(EVENT.load(Ordering::Relaxed), rng.below(3) as u32)
                };
            }
            7 => {
                // SAFETY: SetEvent takes no pointers.
                unsafe { rt::SetEvent(EVENT.load(Ordering::Relaxed)) };
            }
            8 | 9 => {
                // SAFETY: SwitchToThread takes no pointers.
                unsafe { rt::SwitchToThread() };
            }
            10 | 11 if THREADS.fetch_add(1, Ordering::Relaxed) < 12 => {
                let h = sys::thread(worker, rng.next() as usize);
                if h != 0 && rng.below(2) == 0 {
                    // SAFETY: WaitForSingleObject and CloseHandle take no pointers.
                    unsafe {
                        rt::WaitForSingleObject(h, rng.below(10) as u32);
                    }
                }
                // SAFETY: as above.
                unsafe { rt::CloseHandle(h) };
            }
            12 => return 3,
            13 if rng.below(8) == 0 => {
                // SAFETY: deliberately faulting store to the null page.
                unsafe {
                    core::arch::asm!("mov qword ptr [{p}], 1", p = in(reg) 0u64, options(nostack))
                };
            }
            14 if rng.below(8) == 0 => {
                // SAFETY: ExitProcess takes no pointers.
                unsafe { rt::ExitProcess(9) };
            }
            _ => {
                let p = sys::lazy(16 * 4096);
                if !p.is_null() {
                    for i in 0..16 {
                        // SAFETY: inside the allocation.
                        unsafe { p.add(i * 4096).write_volatile(i as u8) };
                    }
                    sys::release(p);
                }
            }
        }
    }
    0
}

/// A child: an event and a few workers; the main thread works too.
pub fn child(seed: u64) -> i32 {
    SEED.store(seed | 1, Ordering::Relaxed);
    // SAFETY: null attributes and name are allowed.
    EVENT.store(
        unsafe { rt::CreateEventA(core::ptr::null(), 0, 0, core::ptr::null()) },
        Ordering::Relaxed,
    );
    let n = seed % 4 + 1;
    for i in 0..n {
        THREADS.fetch_add(1, Ordering::Relaxed);
        let h = sys::thread(worker, i as usize);
        // SAFETY: CloseHandle takes no pointers.
        unsafe { rt::CloseHandle(h) };
    }
    worker(core::ptr::null_mut()) as i32
}
