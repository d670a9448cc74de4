//! Thread contexts and the context switch.
//!
//! A [`Context`] is what a switched-out thread leaves behind: its kernel
//! stack pointer (callee-saved registers sit on the stack below it), its
//! FPU state (see `fpu.rs`), its kernel stack top (for SYSCALL and TSS.RSP0) and its
//! page-table root. [`switch`] saves the running thread's context and
//! resumes another's.
//!
//! Ownership across a switch: the caller hands [`switch`] one reference to
//! each thread. They are parked in this CPU's hand-over slots, and the
//! thread that runs next takes them out and drops them ([`finish_switch`],
//! called on every resume path). No stack frame owns a reference across
//! the switch, so a thread that is switched away from for good (it exited)
//! is freed by the next thread, on that thread's stack.

use super::fpu::{self, FpuArea};
use super::percpu;
use alloc::sync::Arc;
use core::arch::global_asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

global_asm!(
    ".section .text.switch, \"ax\"",
    // ferrite_switch(save_rsp: *mut u64 [rdi], next_rsp: u64 [rsi])
    ".global ferrite_switch",
    "ferrite_switch:",
    "    push rbp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    mov [rdi], rsp",
    "    mov rsp, rsi",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
    // A new thread's first `ret` lands here with r12 = argument and
    // r13 = entry (see `Context::new_thread`).
    ".global ferrite_thread_trampoline",
    "ferrite_thread_trampoline:",
    "    mov rdi, r12",
    "    and rsp, -16",
    "    call r13",
    "    ud2",
);

extern "C" {
    fn ferrite_switch(save_rsp: *mut u64, next_rsp: u64);
    fn ferrite_thread_trampoline();
}

/// A thread's saved machine state.
pub struct Context {
    /// Saved RSP while switched out.
    rsp: UnsafeCell<u64>,
    /// User FPU/SSE/AVX state while switched out.
    fpu: UnsafeCell<FpuArea>,
    /// Top of the thread's kernel stack (0 for the boot thread, which
    /// never enters ring 3).
    kernel_stack_top: u64,
    /// CR3 to run with.
    root: AtomicU64,
    /// Set while a CPU runs this context.
    running: AtomicBool,
}

// SAFETY: `rsp` and `fpu` are touched only by `switch` (with interrupts
// disabled) for the context being left, which is running on this CPU, or
// the context being entered, which no CPU runs (`running` is checked).
unsafe impl Sync for Context {}
// SAFETY: as above; the context holds plain data.
unsafe impl Send for Context {}

/// Something that owns a context (the scheduler's thread type).
pub trait Switchable: Send + Sync {
    /// The thread's context.
    fn context(&self) -> &Context;
}

impl Context {
    /// The context of the code running now (the boot thread): filled in
    /// when it is first switched away from.
    pub fn current(root: u64) -> Self {
        Self {
            rsp: UnsafeCell::new(0),
            fpu: UnsafeCell::new(FpuArea::clean()),
            kernel_stack_top: 0,
            root: AtomicU64::new(root),
            running: AtomicBool::new(true),
        }
    }

    /// A new thread on `stack` that starts by calling `entry(arg)` with
    /// interrupts disabled; `entry` must call [`finish_switch`] first.
    pub fn new_thread(
        stack: &mut crate::mm::stack::KernelStack,
        entry: extern "C" fn(u64) -> !,
        arg: u64,
        root: u64,
    ) -> Self {
        let top = stack.top();
        // Initial frame, lowest address first: r15, r14, r13 = entry,
        // r12 = arg, rbx, rbp, return address = trampoline, padding.
        let frame = [
            0,
            0,
            entry as *const () as u64,
            arg,
            0,
            0,
            ferrite_thread_trampoline as *const () as u64,
            0,
        ];
        let rsp = stack.write_top(&frame);
        Self {
            rsp: UnsafeCell::new(rsp),
            fpu: UnsafeCell::new(FpuArea::clean()),
            kernel_stack_top: top,
            root: AtomicU64::new(root),
            running: AtomicBool::new(false),
        }
    }

    /// The page-table root.
    pub fn root(&self) -> u64 {
        self.root.load(Ordering::Relaxed)
    }
}

/// References handed over across a switch: (previous, next).
type HandOver = (Option<Arc<dyn Switchable>>, Option<Arc<dyn Switchable>>);

struct Slots(UnsafeCell<HandOver>);
// SAFETY: each CPU touches only its own slots (indexed by its GS-based
// number), with interrupts disabled.
unsafe impl Sync for Slots {}

static HAND_OVER: [Slots; percpu::MAX_CPUS] =
    [const { Slots(UnsafeCell::new((None, None))) }; percpu::MAX_CPUS];

fn hand_over() -> &'static Slots {
    &HAND_OVER[percpu::cpu_id()]
}

/// Saves the running thread `prev` and resumes `next`. Returns when
/// `prev` is resumed again (never, if nothing does). Interrupts must be
/// disabled; the caller passes one reference to each thread (see the
/// module docs). Refuses (returns at once) if `next` is already running.
pub fn switch(prev: Arc<dyn Switchable>, next: Arc<dyn Switchable>) {
    assert!(
        !super::cpu::interrupts_enabled(),
        "context switch with interrupts enabled"
    );
    let p = prev.context();
    let n = next.context();
    if core::ptr::eq(p, n) || n.running.swap(true, Ordering::Acquire) {
        return;
    }
    let save = p.rsp.get();
    let next_rsp = {
        // SAFETY: `next` is not running (checked above), so nobody else
        // reads or writes its saved RSP or FPU image.
        unsafe { *n.rsp.get() }
    };
    if n.kernel_stack_top != 0 {
        percpu::set_kernel_stack(n.kernel_stack_top);
    }
    if n.root() != super::paging::current_root() && n.root() != 0 {
        // SAFETY: every context's root shares the kernel half (`new_sharing`
        // or the kernel's PML4) and is kept alive by the scheduler.
        unsafe { super::paging::switch_root(n.root()) };
    }
    // SAFETY: `prev` runs on this CPU right now (it is the caller), so its
    // FPU image is ours to write; `next`'s is ours to read (not running).
    unsafe {
        fpu::save(p.fpu.get());
        fpu::restore(n.fpu.get());
    }
    // SAFETY: interrupts are off; these slots belong to this CPU and are
    // emptied by `finish_switch` before the next switch can run.
    unsafe { *hand_over().0.get() = (Some(prev), Some(next)) };
    // SAFETY: `save` is in `prev`'s context, alive through the hand-over
    // slot; `next_rsp` is a frame saved here or by `new_thread`.
    unsafe { ferrite_switch(save, next_rsp) };
    finish_switch();
}

/// Completes a switch on the side of the thread that now runs: marks the
/// previous context as no longer running and drops the references the
/// switcher parked. Called by [`switch`] on return and by every new
/// thread's entry first thing.
pub fn finish_switch() {
    // SAFETY: interrupts are off (we are just past a switch); the slots
    // belong to this CPU.
    let (prev, next) = unsafe { core::mem::take(&mut *hand_over().0.get()) };
    if let Some(prev) = &prev {
        prev.context().running.store(false, Ordering::Release);
    }
    drop(next);
    drop(prev);
}
