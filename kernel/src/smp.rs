//! The other CPUs: starting them from the loader's MP answer, and
//! stopping them all when the kernel dies.
#![forbid(unsafe_code)]
//!
//! [`start_all`] runs on the bootstrap CPU once memory, interrupts and the
//! timer are up, and before bootloader memory is reclaimed (the APs park
//! there). For each AP the loader reported it allocates a kernel stack
//! (which becomes that CPU's idle thread), guarded IST stacks and the
//! start record, sends the AP through `goto_address`, and waits up to
//! [`AP_TIMEOUT_NS`] for it to report in. An AP that does not is logged
//! and left alone; the kernel goes on with the CPUs that came up.
//!
//! A started CPU ([`ap_main`]) loads its own GS block, GDT/TSS and the
//! IDT, turns on the same CPU features as the bootstrap CPU, enables its
//! LAPIC and timer, publishes its CPU number, and enters its idle loop,
//! from which the scheduler hands it threads.

use crate::arch::{self, lapic, percpu, smp, tlb};
use crate::boot::MpInfo;
use crate::mm::stack::KernelStack;
use crate::sync::SpinLock;
use crate::task::{sched, Thread};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};

/// How long the bootstrap CPU waits for one AP to report in.
const AP_TIMEOUT_NS: u64 = 2_000_000_000;
/// Pages of an AP's first stack (its idle thread's stack).
const AP_STACK_PAGES: u64 = 8;

/// What [`start_all`] did.
#[derive(Clone, Debug, Default)]
pub struct SmpReport {
    /// CPUs the loader reported (the bootstrap CPU included); 0 if there
    /// was no MP response.
    pub reported: usize,
    /// CPUs online now (the bootstrap CPU included).
    pub online: usize,
    /// APIC ids of the CPUs the loader reported.
    pub apic_ids: Vec<u32>,
    /// APIC ids of the APs that did not come up.
    pub failed: Vec<u32>,
    /// Whether the loader had put the CPUs in x2APIC mode.
    pub x2apic: bool,
}

/// What a starting AP takes over, by CPU number.
struct ApBoot {
    apic_id: u32,
    ist_tops: [u64; 3],
    idle: Arc<Thread>,
}

static BOOT: [SpinLock<Option<ApBoot>>; percpu::MAX_CPUS] =
    [const { SpinLock::new(None) }; percpu::MAX_CPUS];

/// Progress of each starting AP.
static STATUS: [AtomicU8; percpu::MAX_CPUS] = [const { AtomicU8::new(0) }; percpu::MAX_CPUS];
const WAITING: u8 = 0;
const ONLINE: u8 = 1;
const FAILED: u8 = 2;

static REPORT: spin::Once<SmpReport> = spin::Once::new();

/// The last [`start_all`] report (None before it ran).
pub fn report() -> Option<&'static SmpReport> {
    REPORT.get()
}

/// Installs the IPI handlers (reschedule and TLB shootdown). Needs the
/// interrupt registry; harmless with one CPU.
pub fn init_ipis() -> Result<(), crate::irq::IrqError> {
    crate::irq::request(sched::RESCHED_VECTOR, sched::on_resched_ipi)?;
    crate::irq::request(tlb::VECTOR, tlb::on_ipi)?;
    Ok(())
}

/// Starts every AP in `mp` and waits for each (see the module docs).
pub fn start_all(mp: Option<&MpInfo>) -> &'static SmpReport {
    let bsp_apic = lapic::id();
    percpu::set_bsp_apic_id(bsp_apic);
    let mut report = SmpReport {
        online: 1,
        ..SmpReport::default()
    };
    let Some(mp) = mp else {
        return REPORT.call_once(|| report);
    };
    report.reported = mp.cpus.len();
    report.apic_ids = mp.cpus.iter().map(|c| c.lapic_id).collect();
    report.x2apic = mp.x2apic;
    if mp.bsp_lapic_id != bsp_apic {
        log::warn!(
            "smp: the loader says the bootstrap CPU is APIC id {}, it reads {bsp_apic}",
            mp.bsp_lapic_id
        );
    }
    for cpu in mp.cpus.iter().filter(|c| c.lapic_id != mp.bsp_lapic_id) {
        match start_one(cpu) {
            Ok(number) => log::info!(
                "smp: CPU {number} (APIC id {}, ACPI id {}) online",
                cpu.lapic_id,
                cpu.id
            ),
            Err(Failure { why, stop }) => {
                log::error!("smp: CPU with APIC id {} not started: {why}", cpu.lapic_id);
                report.failed.push(cpu.lapic_id);
                if stop {
                    log::error!("smp: starting no further CPUs");
                    break;
                }
            }
        }
    }
    report.online = percpu::online_count();
    log::info!(
        "smp: {} of {} CPU(s) online",
        report.online,
        report.reported.max(1)
    );
    REPORT.call_once(|| report)
}

/// Why an AP did not come up, and whether starting more is unsafe.
struct Failure {
    why: &'static str,
    stop: bool,
}

impl From<&'static str> for Failure {
    fn from(why: &'static str) -> Self {
        Self { why, stop: false }
    }
}

fn start_one(cpu: &'static limine::mp::Cpu) -> Result<usize, Failure> {
    let number = percpu::next_number().ok_or(Failure {
        why: "more CPUs than the kernel has room for",
        stop: true,
    })?;
    let root = crate::mm::kernel_space::root().ok_or("no kernel address space")?;
    let mut ist_tops = [0; 3];
    for (top, owner) in ist_tops
        .iter_mut()
        .zip(["#DF IST stack", "NMI IST stack", "#MC IST stack"])
    {
        *top = KernelStack::new(crate::mm::stack::IST_PAGES, owner)
            .map_err(|_| "no memory for its IST stacks")?
            .leak();
    }
    let stack =
        KernelStack::new(AP_STACK_PAGES, "AP idle stack").map_err(|_| "no memory for its stack")?;
    let stack_top = stack.top();
    let idle = Thread::for_starting_cpu(stack).map_err(|_| "no memory for its idle thread")?;
    *BOOT[number].lock() = Some(ApBoot {
        apic_id: cpu.lapic_id,
        ist_tops,
        idle,
    });
    STATUS[number].store(WAITING, Ordering::Release);
    smp::send(
        cpu,
        number,
        smp::ApStart {
            root,
            stack_top,
            main: ap_main,
            arg: number as u64,
        },
    );
    let deadline = crate::time::now_ns().saturating_add(AP_TIMEOUT_NS);
    loop {
        match STATUS[number].load(Ordering::Acquire) {
            ONLINE => return Ok(number),
            FAILED => return Err("it could not set itself up (out of memory)".into()),
            _ if crate::time::now_ns() > deadline => {
                // Take the start record back: an AP that arrives late then
                // finds none and halts. Either way no further CPU is
                // started, so no CPU number or start slot is ever handed
                // out twice while a late AP might still use it.
                let _ = BOOT[number].lock().take();
                return Err(Failure {
                    why: "it did not report in within 2 s",
                    stop: true,
                });
            }
            _ => core::hint::spin_loop(),
        }
    }
}

/// A started AP's first Rust code, on its own kernel stack, interrupts off.
extern "C" fn ap_main(number: u64) -> ! {
    let number = number as usize;
    // GS first: every lock's spin loop reads the CPU number through it.
    arch::enter_started_cpu(number);
    let boot = BOOT.get(number).and_then(|b| b.lock().take());
    let Some(boot) = boot else {
        arch::cpu::halt_forever()
    };
    if arch::init_started_cpu(boot.ist_tops).is_err() {
        STATUS[number].store(FAILED, Ordering::Release);
        arch::cpu::halt_forever()
    }
    crate::syscall::init();
    let apic = lapic::init_ap().unwrap_or(boot.apic_id);
    if apic != boot.apic_id {
        log::warn!(
            "smp: CPU {number} reads APIC id {apic}, the loader said {}",
            boot.apic_id
        );
    }
    let ticking = crate::time::start_tick_here();
    arch::publish_started_cpu(number, apic);
    STATUS[number].store(ONLINE, Ordering::Release);
    if !ticking {
        log::warn!("smp: CPU {number} has no timer tick (no calibration)");
    }
    arch::cpu::enable_interrupts();
    sched::run_started_cpu(boot.idle)
}

/// Stops every other CPU (an NMI each) and reports what each was running;
/// for panics and fatal kernel faults. Returns false if another CPU is
/// already stopping the machine.
pub fn stop_others_and_report() -> bool {
    let online = percpu::online_count();
    if online <= 1 {
        return true;
    }
    let Some(stopped) = smp::stop_others(200_000_000) else {
        return false;
    };
    let me = percpu::cpu_id();
    let (tid, pid) = sched::running_on(me);
    crate::logger::emergency(format_args!(
        "cpu {me} (APIC id {}): stopped the others; was running thread {tid} of process {pid}\n",
        percpu::apic_id_of(me)
    ));
    for cpu in (0..online).filter(|&c| c != me) {
        let (tid, pid) = sched::running_on(cpu);
        match smp::stopped_at(cpu) {
            0 => crate::logger::emergency(format_args!(
                "cpu {cpu} (APIC id {}): did not stop; last ran thread {tid} of process {pid}\n",
                percpu::apic_id_of(cpu)
            )),
            rip => crate::logger::emergency(format_args!(
                "cpu {cpu} (APIC id {}): stopped at {rip:#x}, running thread {tid} of process {pid}\n",
                percpu::apic_id_of(cpu)
            )),
        }
    }
    crate::logger::emergency(format_args!(
        "{stopped} of {} other CPU(s) stopped\n",
        online - 1
    ));
    true
}
