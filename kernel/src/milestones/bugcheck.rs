//! Bugcheck scenarios: each takes the kernel down on purpose, one way.
//!
//! Every scenario is its own boot (`test=bugcheck_<kind>`); the host test
//! (tests/tests/bugcheck.rs) reads the bugcheck from the serial log and
//! checks the call stack's functions against this file's source lines.
//! - `bugcheck_panic`: a panic three calls deep in kernel code.
//! - `bugcheck_irq`: a panic inside an interrupt handler (a self-IPI).
//! - `bugcheck_syscall`: a panic inside a system call (hello.exe's first
//!   DEBUG_WRITE), so the stack ends at the user's RIP.
//! - `bugcheck_nested`: a panic whose message panics again while the
//!   bugcheck prints it: the second one must stop the machine, not loop.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

/// Set by `bugcheck_syscall`: the next DEBUG_WRITE panics.
static PANIC_IN_SYSCALL: AtomicBool = AtomicBool::new(false);

/// Runs bugcheck scenario `kind`; returns only if there is no such kind.
pub fn run(kind: &str, info: &crate::boot::BootInfo) {
    match kind {
        "panic" => {
            log::info!("bugcheck scenario: a panic three calls deep");
            depth_one(3);
        }
        "irq" => panic_in_interrupt(),
        "syscall" => panic_in_syscall(info),
        "nested" => {
            log::info!("bugcheck scenario: a panic inside the panic's message");
            panic!("the message is {}", Bomb);
        }
        _ => {}
    }
}

#[inline(never)]
fn depth_one(n: u32) -> u32 {
    let r = depth_two(core::hint::black_box(n + 1));
    core::hint::black_box(r) + 1
}

#[inline(never)]
fn depth_two(n: u32) -> u32 {
    let r = depth_three(core::hint::black_box(n * 2));
    core::hint::black_box(r) + 2
}

#[inline(never)]
fn depth_three(n: u32) -> u32 {
    if core::hint::black_box(n) > 0 {
        panic!("deliberate panic three calls deep (n = {n})");
    }
    n
}

fn panic_in_interrupt() {
    log::info!("bugcheck scenario: a panic inside an interrupt handler");
    let Ok(vector) = crate::irq::allocate_vector(interrupt_handler) else {
        log::error!("bugcheck scenario: no free vector");
        return;
    };
    let me = crate::arch::percpu::cpu_id();
    crate::arch::lapic::send_ipi(crate::arch::percpu::apic_id_of(me), vector);
    // The IPI arrives at once; wait a little in case it does not.
    let _ = crate::task::sched::sleep_ns(500_000_000);
    log::error!("bugcheck scenario: the interrupt never came");
}

#[inline(never)]
fn interrupt_handler(vector: u8) {
    panic!("deliberate panic in the handler of interrupt vector {vector}");
}

/// Called at the top of DEBUG_WRITE.
pub fn syscall_hook() {
    if PANIC_IN_SYSCALL.load(Ordering::Relaxed) {
        panic_in_debug_write();
    }
}

#[inline(never)]
fn panic_in_debug_write() {
    panic!("deliberate panic inside the DEBUG_WRITE system call");
}

fn panic_in_syscall(info: &crate::boot::BootInfo) {
    log::info!("bugcheck scenario: a panic inside a system call");
    PANIC_IN_SYSCALL.store(true, Ordering::Relaxed);
    let process = match crate::pe::spawn_program(info, "hello.exe", true) {
        Ok(p) => p,
        Err(e) => return log::error!("bugcheck scenario: cannot load hello.exe: {e}"),
    };
    let Ok((thread, _shared)) = crate::task::spawn(process) else {
        return log::error!("bugcheck scenario: cannot start hello.exe");
    };
    crate::task::sched::join(&thread);
    log::error!("bugcheck scenario: hello.exe ended without a panic");
}

/// A value whose formatting panics.
struct Bomb;

impl fmt::Display for Bomb {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("a second panic, while the first one's message is printed")
    }
}
