//! TLB shootdown: invalidating a translation on every CPU that may cache it.
//!
//! Each CPU records the page-table root it has loaded ([`note_root`], just
//! before it writes CR3). A shootdown for a user address space goes only to
//! the CPUs that have its root loaded; one for the kernel half (whose
//! global pages survive CR3 switches) goes to every online CPU.
//!
//! Protocol: the initiator takes the shootdown lock, writes the request,
//! sets one pending bit per target CPU, sends each an IPI, invalidates its
//! own entries and waits until every target has cleared its bit. A target
//! answers in its IPI handler, or, if it is spinning on a lock with
//! interrupts disabled, from the spin loop ([`service_while_spinning`]).
//! So an initiator that holds a lock another CPU spins on is still
//! answered, and no CPU waits for one that waits for it.
//!
//! Ordering: the initiator changes the page table, then (SeqCst fence)
//! reads the loaded roots; a CPU about to load a root first stores it
//! (SeqCst), then writes CR3 (serialising). Either the initiator sees the
//! root, or that CPU's CR3 load comes after the change and fills its TLB
//! from the new tables.

use super::percpu::{self, MAX_CPUS};
use core::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};

/// The vector of the shootdown IPI.
pub const VECTOR: u8 = 0xf1;
/// Above this many pages a shootdown flushes the whole TLB instead.
const FULL_FLUSH_PAGES: u64 = 32;
/// Seconds an initiator waits for the slowest target before it reports it.
const ANSWER_TIMEOUT_S: u64 = 2;

/// Which address space a shootdown is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// The kernel half: every CPU.
    Kernel,
    /// The user space with this PML4: CPUs that have it loaded.
    User(u64),
}

static LOADED_ROOT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static SHOOT_LOCK: AtomicBool = AtomicBool::new(false);
static PENDING: AtomicU64 = AtomicU64::new(0);
static REQ_START: AtomicU64 = AtomicU64::new(0);
static REQ_PAGES: AtomicU64 = AtomicU64::new(0);
static SHOOTDOWNS: AtomicU64 = AtomicU64::new(0);
static IPIS_SENT: AtomicU64 = AtomicU64::new(0);
static ANSWERED: AtomicU64 = AtomicU64::new(0);
/// Test switch: when set, shootdowns skip the other CPUs (only the
/// milestone kernel's "can it fail" check sets it).
static SKIP_REMOTE: AtomicBool = AtomicBool::new(false);

/// Records that this CPU is about to load `root` into CR3.
pub fn note_root(root: u64) {
    LOADED_ROOT[percpu::cpu_id()].store(root, Ordering::SeqCst);
}

/// Whether any CPU has `root` loaded (or is about to).
pub fn is_loaded_anywhere(root: u64) -> bool {
    cpus_with(root) != 0
}

/// Bitmask of the online CPUs with `root` loaded.
pub fn cpus_with(root: u64) -> u64 {
    fence(Ordering::SeqCst);
    LOADED_ROOT[..percpu::online_count()]
        .iter()
        .enumerate()
        .filter(|(_, r)| r.load(Ordering::SeqCst) == root)
        .fold(0, |mask, (c, _)| mask | 1 << c)
}

fn flush_local(start: u64, pages: u64) {
    if pages > FULL_FLUSH_PAGES {
        flush_everything_here();
    } else {
        for i in 0..pages {
            super::paging::flush_page(start + i * 4096);
        }
    }
}

/// Flushes this CPU's whole TLB, global entries included (toggling
/// CR4.PGE; Intel SDM Vol. 3A §4.10.4.1).
pub fn flush_everything_here() {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    let cr4 = Cr4::read();
    if cr4.contains(Cr4Flags::PAGE_GLOBAL) {
        // SAFETY: clearing and restoring PGE only invalidates cached
        // translations; the page tables themselves are unchanged.
        unsafe {
            Cr4::write(cr4 - Cr4Flags::PAGE_GLOBAL);
            Cr4::write(cr4);
        }
    } else {
        x86_64::instructions::tlb::flush_all();
    }
}

/// Invalidates `pages` pages from `start` in `space` on every CPU that may
/// cache them, and returns once all have done so. Interrupts are disabled
/// meanwhile. Call after the page-table change and before the frames are
/// reused.
pub fn shootdown(space: Space, start: u64, pages: u64) {
    if pages == 0 {
        return;
    }
    super::cpu::without_interrupts(|| {
        let me = percpu::cpu_id();
        let online = percpu::online_count();
        let holders = match space {
            Space::Kernel => percpu::online_mask(),
            Space::User(root) => cpus_with(root),
        };
        if holders & (1 << me) != 0 {
            flush_local(start, pages);
        }
        let targets = if SKIP_REMOTE.load(Ordering::Relaxed) {
            0
        } else {
            holders & !(1 << me)
        };
        if targets == 0 {
            return;
        }
        let mut wait = super::cpu::SpinWait::new();
        while SHOOT_LOCK
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            service_while_spinning();
            wait.spin();
        }
        REQ_START.store(start, Ordering::Relaxed);
        REQ_PAGES.store(pages, Ordering::Relaxed);
        PENDING.store(targets, Ordering::Release);
        SHOOTDOWNS.fetch_add(1, Ordering::Relaxed);
        for cpu in 0..online {
            if targets & (1 << cpu) != 0 {
                super::lapic::send_ipi(percpu::apic_id_of(cpu), VECTOR);
                IPIS_SENT.fetch_add(1, Ordering::Relaxed);
            }
        }
        let limit = super::tsc::frequency().max(1) * ANSWER_TIMEOUT_S;
        let started = super::cpu::rdtsc();
        let mut reported = false;
        let mut wait = super::cpu::SpinWait::new();
        while PENDING.load(Ordering::Acquire) != 0 {
            if !reported && super::cpu::rdtsc().wrapping_sub(started) > limit {
                reported = true;
                log::error!(
                    "tlb: CPUs {:#x} have not answered a shootdown in {ANSWER_TIMEOUT_S} s; still waiting",
                    PENDING.load(Ordering::Relaxed)
                );
            }
            wait.spin();
        }
        SHOOT_LOCK.store(false, Ordering::Release);
    });
}

/// Answers a pending shootdown for this CPU, if there is one.
fn service() {
    let bit = 1u64 << percpu::cpu_id();
    if PENDING.load(Ordering::Acquire) & bit == 0 {
        return;
    }
    flush_local(
        REQ_START.load(Ordering::Relaxed),
        REQ_PAGES.load(Ordering::Relaxed),
    );
    ANSWERED.fetch_add(1, Ordering::Relaxed);
    PENDING.fetch_and(!bit, Ordering::AcqRel);
}

/// The shootdown IPI's handler.
pub fn on_ipi(_vector: u8) {
    service();
}

/// Called from spin loops that run with interrupts disabled.
#[inline]
pub fn service_while_spinning() {
    if PENDING.load(Ordering::Relaxed) != 0 {
        service();
    }
}

/// (shootdowns with remote targets, IPIs sent, requests answered).
pub fn stats() -> (u64, u64, u64) {
    (
        SHOOTDOWNS.load(Ordering::Relaxed),
        IPIS_SENT.load(Ordering::Relaxed),
        ANSWERED.load(Ordering::Relaxed),
    )
}

/// Makes shootdowns skip (or again reach) the other CPUs: a deliberately
/// broken kernel for the check that proves the shootdown test can fail.
pub fn set_skip_remote(skip: bool) {
    SKIP_REMOTE.store(skip, Ordering::SeqCst);
}
