//! Ferrite: a higher-half x86-64 kernel booted by the Limine protocol.
#![no_std]
#![no_main]
// Parts of the self-inspection API (probes, stats, scratch mappings) are
// exercised only by the milestone kernel.
#![cfg_attr(not(feature = "milestones"), allow(dead_code))]

extern crate alloc;

mod acpi;
mod arch;
mod banner;
mod boot;
mod bugcheck;
mod console;
mod disk;
mod drivers;
mod fault;
mod fs;
mod hyperv;
mod irq;
mod logger;
#[cfg(feature = "milestones")]
mod milestones;
mod mm;
mod net;
mod panic;
mod pe;
mod power;
mod smp;
mod sync;
mod syscall;
mod task;
mod time;
mod user_stack;
mod window;

use boot::{BootInfo, Handoff};

/// The kernel's main function, called by `kernel_entry` on the boot stack.
///
/// The order matters: serial and the clock first (so every later step can
/// log), then the base-revision check, then the CPU tables (so faults are
/// reported instead of triple-faulting), then memory management on the
/// loader's hand-off, then an owned copy of the loader's answers, and only
/// then is the loader's memory reclaimed.
pub extern "C" fn kmain() -> ! {
    let serial = arch::serial::init();
    arch::tsc::calibrate();
    logger::init();
    if !Handoff::base_revision_supported() {
        log::error!("boot: the loader did not accept base revision 2; stopping");
        fault::stop();
    }
    arch::init_cpu_tables();
    arch::exceptions::set_policy(fault::POLICY);
    let handoff = Handoff::read();
    match &handoff.mp {
        Some(mp) => log::info!(
            "smp: the loader reports {} CPU(s), bootstrap APIC id {}, x2APIC {}",
            mp.cpus.len(),
            mp.bsp_lapic_id,
            if mp.x2apic { "on" } else { "off" }
        ),
        None => log::info!("smp: no MP response; running on the bootstrap CPU only"),
    }
    // The console draws through the loader's HHDM mapping of the
    // framebuffer; the kernel's own tables keep that address (as WC).
    let console = console::init(handoff.framebuffer);
    log::info!("cpu: GDT, TSS (IST stacks for #DF, NMI, #MC) and IDT loaded");
    match console {
        Ok((cols, rows)) => log::info!("console: {cols}x{rows} text on the framebuffer"),
        Err(e) => log::warn!("console: not started ({e:?})"),
    }

    let report = match mm::init(&handoff) {
        Ok(report) => report,
        Err(e) => {
            log::error!("mm: cannot set up memory: {e}; stopping");
            fault::stop();
        }
    };
    let protection = arch::cpu::enable_user_protection();
    let fpu = arch::cpu::enable_user_fpu();
    syscall::init();
    log::info!(
        "cpu: SYSCALL on; SMEP {}, SMAP {}, UMIP {}; user FPU state {} ({} bytes)",
        on_off(protection.smep),
        on_off(protection.smap),
        on_off(protection.umip),
        if fpu.avx {
            "x87, SSE and AVX by XSAVE"
        } else {
            "x87 and SSE by FXSAVE"
        },
        fpu.bytes
    );
    let info = BootInfo::collect(&handoff).publish();
    bugcheck::stack::init(info.kernel_file.as_ref().map(|f| &f.data[..]));
    if let Err(e) = task::sched::init() {
        log::error!("sched: cannot start the scheduler: {e}; stopping");
        fault::stop();
    }
    let platform = bring_up_platform(info.rsdp());
    #[cfg(not(feature = "milestones"))]
    let _ = platform;
    // The APs park in bootloader memory: start them before reclaiming it.
    if platform.time.is_some() {
        smp::start_all(handoff.mp.as_ref());
    } else {
        log::warn!("smp: no timer tick, so the other CPUs stay parked");
        smp::start_all(None);
    }
    logger::apply_cmdline(info.cmdline());
    drivers::input::init();
    drivers::init(acpi::platform());
    hyperv::init();
    fs::volumes::mount_all();
    let reclaimed = mm::reclaim_loader_memory();
    banner::print(info);
    banner::memory(&report, reclaimed);
    log::info!(
        "serial: COM1 {}, TSC {} MHz",
        if serial.loopback_ok {
            "passed loopback test"
        } else {
            "did not pass loopback test"
        },
        arch::tsc::frequency() / 1_000_000
    );

    #[cfg(feature = "milestones")]
    milestones::run(info, serial, &report, reclaimed, platform);

    if run_init(info) {
        power::on_init_exit(info.cmdline());
    }

    log::info!("boot complete; idle");
    loop {
        arch::cpu::wait_for_interrupt();
    }
}

/// What ACPI, interrupts and timers came up with.
#[derive(Clone, Copy, Debug)]
pub struct PlatformReport {
    /// The interrupt controllers.
    pub irq: Option<irq::IrqReport>,
    /// Clock calibration.
    pub time: Option<time::TimeReport>,
}

/// ACPI tables, then the interrupt controllers, then the timers; then
/// interrupts on. Each failure is logged and leaves the kernel running
/// without what failed.
fn bring_up_platform(rsdp: Option<u64>) -> PlatformReport {
    let mut report = PlatformReport {
        irq: None,
        time: None,
    };
    let platform = match acpi::init(rsdp) {
        Ok(p) => p,
        Err(e) => {
            log::error!("acpi: {e}; no interrupts or timers");
            return report;
        }
    };
    log::info!(
        "acpi: revision {}, {} CPU(s), {} I/O APIC(s), {} override(s), HPET {}, S5 {}",
        platform.revision,
        platform.cpus.len(),
        platform.io_apics.len(),
        platform.overrides.len(),
        if platform.hpet.is_some() { "yes" } else { "no" },
        if platform.s5.is_some() {
            "found"
        } else {
            "missing"
        }
    );
    match irq::init(platform) {
        Ok(r) => report.irq = Some(r),
        Err(e) => {
            log::error!("irq: {e}; no interrupts");
            return report;
        }
    }
    if let Err(e) = smp::init_ipis() {
        log::error!("smp: IPI vectors: {e}");
    }
    match time::init(platform) {
        Ok(r) => report.time = Some(r),
        Err(e) => log::error!("time: {e}; no timer tick"),
    }
    arch::cpu::enable_interrupts();
    report
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off (CPU lacks it)"
    }
}

/// Runs the program named by `init=<module>` on the command line (default
/// `hello.exe`; `init=/disk/<volume>/<path>` runs one from a disk), if it
/// is there, with the words after `--` as
/// its command line; true once it ran and exited (then `on_init_exit=`
/// applies), false if there was nothing to run.
fn run_init(info: &BootInfo) -> bool {
    let args = info.init_args();
    let name = info
        .cmdline()
        .split_whitespace()
        .find_map(|w| w.strip_prefix("init="))
        .unwrap_or("hello.exe");
    let spawned = if name.starts_with("/disk/") {
        pe::spawn_from_disk(info, name)
    } else if pe::find_file(info, name).is_none() {
        log::info!("init: no module '{name}'; nothing to run");
        return false;
    } else {
        pe::spawn(info, name, pe::Placement::Preferred).map(|(p, _)| p)
    };
    match spawned {
        Ok(mut process) => {
            if !args.is_empty() {
                process.set_cmdline(args.into());
            }
            log::info!("init: starting {name} {args}");
            match task::try_run(process) {
                Ok(ended) => {
                    match ended.exit_status() {
                        Some(exit) => log::info!("init: process {} '{name}' {exit}", ended.id()),
                        None => log::warn!("init: '{name}' ended without an exit status"),
                    }
                    true
                }
                Err(e @ task::RunError::StillReferenced) => {
                    log::warn!("init: {name}: {e}");
                    true
                }
                Err(e) => {
                    log::error!("init: {name}: {e}");
                    false
                }
            }
        }
        Err(e) => {
            log::error!("init: cannot start {name}: {e}");
            false
        }
    }
}
