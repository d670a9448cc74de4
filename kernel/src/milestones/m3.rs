//! M3 checks: ACPI, interrupt controllers, timers (threads follow).
#![forbid(unsafe_code)]

use super::Detail;
use super::{detail, ensure, Check, Context, Outcome};
use crate::arch::{lapic, pic};
use crate::task::{priority, sched, Entry, Thread};
use crate::{acpi, irq, time};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// M3, in order.
pub const CHECKS: &[Check] = &[
    Check {
        milestone: "M3",
        name: "acpi_tables",
        run: acpi_tables,
    },
    Check {
        milestone: "M3",
        name: "pics_masked",
        run: pics_masked,
    },
    Check {
        milestone: "M3",
        name: "ioapic_routing",
        run: ioapic_routing,
    },
    Check {
        milestone: "M3",
        name: "tsc_vs_reference",
        run: tsc_vs_reference,
    },
    Check {
        milestone: "M3",
        name: "lapic_timer_rate",
        run: lapic_timer_rate,
    },
    Check {
        milestone: "M3",
        name: "threads_share_the_cpu",
        run: threads_share_the_cpu,
    },
    Check {
        milestone: "M3",
        name: "priority_preempts",
        run: priority_preempts,
    },
    Check {
        milestone: "M3",
        name: "sleep_blocks",
        run: sleep_blocks,
    },
    Check {
        milestone: "M3",
        name: "ring3_spin_is_preempted_and_killed",
        run: ring3_spin_is_preempted_and_killed,
    },
    Check {
        milestone: "M3",
        name: "user_output_is_tagged",
        run: user_output_is_tagged,
    },
];

/// What the forging program prints: protocol lines of its own, and an
/// unterminated line that kernel output follows.
const FORGERY: &[u8] = b"CHECK M3 forged_by_user ok\nBENCH name=forged iters=1 cycles_per_op=1 ns_per_op=1\nmilestones: 999 passed, 0 failed\npartial line";

/// A program prints protocol lines through DEBUG_WRITE; the kernel tags
/// every line it starts (`u<pid>| `), so the host judge never takes them
/// for kernel lines (tests/tests/milestones.rs looks for the tagged text
/// and would see an unexpected M3 check if the tag were missing).
fn user_output_is_tagged(_: &Context<'_>) -> Outcome {
    use crate::mm::user_space::Access;
    use crate::task::{Image, Process};
    let len = FORGERY.len() as u32;
    let [l0, l1, l2, l3] = len.to_le_bytes();
    #[rustfmt::skip]
    let mut code = alloc::vec![
        0x48, 0x8d, 0x3d, 21, 0, 0, 0,   // lea rdi, [rip + 21] ; the text
        0xbe, l0, l1, l2, l3,            // mov esi, len
        0xb8, 3, 0, 0, 0,                // mov eax, DEBUG_WRITE
        0x0f, 0x05,                      // syscall
        0x31, 0xff,                      // xor edi, edi
        0xb8, 1, 0, 0, 0,                // mov eax, EXIT_PROCESS
        0x0f, 0x05,                      // syscall
    ];
    code.extend_from_slice(FORGERY);
    let image = Image {
        name: "forger",
        base: 0x40_0000,
        memory: &code,
        pages: &[Some(Access::EXECUTE)],
    };
    let process = Process::new("forger", &[image], 0x40_0000).map_err(|e| detail!("{e}"))?;
    let p = crate::task::run(process);
    let exit = p.exit_status().ok_or_else(|| detail!("no exit status"))?;
    ensure!(exit.code == 0 && exit.fault.is_none(), "forger {exit}");
    ensure!(
        p.output().as_bytes() == FORGERY,
        "the kernel recorded {:?}",
        p.output()
    );
    log::info!("after the forger's unterminated line");
    Ok(detail!(
        "process {} printed {} bytes of would-be protocol lines, each tagged u{}|",
        p.id(),
        FORGERY.len(),
        p.id()
    ))
}

static SPIN_UNTIL: AtomicU64 = AtomicU64::new(0);
static SPINS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static HIGH_RAN_AT: AtomicU64 = AtomicU64::new(0);

/// Counts until the deadline without ever yielding or blocking.
fn spinner(slot: u64) {
    while time::now_ns() < SPIN_UNTIL.load(Ordering::Relaxed) {
        SPINS[slot as usize % 2].fetch_add(1, Ordering::Relaxed);
    }
}

fn kthread(name: &'static str, f: fn(u64), arg: u64, prio: u8) -> Result<Arc<Thread>, Detail> {
    let t = Thread::new(name, None, Entry::Kernel(f, arg), prio).map_err(|e| detail!("{e}"))?;
    sched::start(t.clone()).map_err(|e| detail!("{e}"))?;
    Ok(t)
}

/// Two CPU-bound kernel threads that never yield both make progress
/// while this thread waits for them: only preemption can do that.
fn threads_share_the_cpu(_: &Context<'_>) -> Outcome {
    SPINS[0].store(0, Ordering::Relaxed);
    SPINS[1].store(0, Ordering::Relaxed);
    SPIN_UNTIL.store(time::now_ns() + 200_000_000, Ordering::Relaxed);
    let (_, preempted_before) = sched::stats();
    let a = kthread("spin-a", spinner, 0, priority::NORMAL)?;
    let b = kthread("spin-b", spinner, 1, priority::NORMAL)?;
    sched::join(&a);
    sched::join(&b);
    let (_, preempted_after) = sched::stats();
    let (x, y) = (
        SPINS[0].load(Ordering::Relaxed),
        SPINS[1].load(Ordering::Relaxed),
    );
    let (ta, tb) = (a.ticks(), b.ticks());
    ensure!(x > 0 && y > 0, "spinner counts {x} and {y}: one never ran");
    // Each ran for a good share of the 200 ms, not one after the other
    // finished (the first would otherwise take the whole window).
    ensure!(
        ta >= 40 && tb >= 40,
        "CPU ticks {ta} and {tb}: the CPU was not shared"
    );
    ensure!(
        preempted_after > preempted_before + 4,
        "only {} preemptions",
        preempted_after - preempted_before
    );
    Ok(detail!(
        "spinners counted {x} and {y} in {ta} and {tb} ticks; {} preemptions",
        preempted_after - preempted_before
    ))
}

fn mark_high(_: u64) {
    HIGH_RAN_AT.store(time::now_ns(), Ordering::Relaxed);
}

/// A higher-priority thread made ready runs before the (never yielding)
/// thread that started it continues for long: within two ticks.
fn priority_preempts(_: &Context<'_>) -> Outcome {
    HIGH_RAN_AT.store(0, Ordering::Relaxed);
    let started = time::now_ns();
    let high = kthread("high", mark_high, 0, priority::HIGH)?;
    while HIGH_RAN_AT.load(Ordering::Relaxed) == 0 && time::now_ns() < started + 100_000_000 {
        core::hint::spin_loop();
    }
    let ran = HIGH_RAN_AT.load(Ordering::Relaxed);
    sched::join(&high);
    ensure!(
        ran != 0,
        "the high-priority thread did not run within 100 ms"
    );
    let after = ran.saturating_sub(started);
    ensure!(
        after < 3_000_000,
        "it ran {after} ns after it was made ready"
    );
    Ok(detail!(
        "a HIGH thread preempted its NORMAL creator after {} us",
        after / 1000
    ))
}

fn sleeper(ms: u64) {
    let _ = sched::sleep_ns(ms * 1_000_000);
}

/// A kernel thread sleeping 50 ms wakes after 50–60 ms by the reference
/// clock, and the CPU went elsewhere meanwhile (the waiter blocked too).
fn sleep_blocks(_: &Context<'_>) -> Outcome {
    let reference = time::reference().ok_or_else(|| detail!("no reference clock"))?;
    let (switches_before, _) = sched::stats();
    let r0 = reference.counter();
    let t = kthread("sleeper", sleeper, 50, priority::NORMAL)?;
    sched::join(&t);
    let ns = reference.nanos_between(r0, reference.counter());
    let (switches_after, _) = sched::stats();
    ensure!(
        (50_000_000..60_000_000).contains(&ns),
        "Sleep(50) took {} us by {}",
        ns / 1000,
        reference.name()
    );
    ensure!(
        t.ticks() < 5,
        "the sleeper used {} ticks of CPU: it did not block",
        t.ticks()
    );
    Ok(detail!(
        "Sleep(50) took {} us by {}; {} switches, sleeper used {} ticks",
        ns / 1000,
        reference.name(),
        switches_after - switches_before,
        t.ticks()
    ))
}

/// `jmp $` in ring 3 is preempted (this thread keeps running) and ends
/// when asked to.
fn ring3_spin_is_preempted_and_killed(_: &Context<'_>) -> Outcome {
    use crate::mm::user_space::Access;
    use crate::task::{Image, Process};
    let code = [0xebu8, 0xfe]; // jmp $
    let image = Image {
        name: "spin",
        base: 0x40_0000,
        memory: &code,
        pages: &[Some(Access::EXECUTE)],
    };
    let process = Process::new("spin", &[image], 0x40_0000).map_err(|e| detail!("{e}"))?;
    let (thread, process) = crate::task::spawn(process).map_err(|e| detail!("{e}"))?;
    sched::sleep_ns(100_000_000).map_err(|e| detail!("{e}"))?;
    let ticks = thread.ticks();
    let still_running = thread.exit_code().is_none();
    thread.request_exit(0xdead);
    let code = sched::join(&thread);
    let status = process.lock().exit_status();
    ensure!(still_running, "the spinning program ended by itself");
    ensure!(ticks >= 50, "it got only {ticks} ticks in 100 ms");
    ensure!(code == 0xdead, "exit code {code:#x}");
    ensure!(
        status.is_some_and(|s| s.code == 0xdead),
        "process status {status:?}"
    );
    Ok(detail!(
        "jmp $ ran {ticks} ticks while this thread slept 100 ms, then ended with {code:#x}"
    ))
}

fn acpi_tables(_: &Context<'_>) -> Outcome {
    let p = acpi::platform().ok_or_else(|| detail!("ACPI tables were not parsed"))?;
    for sig in [b"FACP", b"APIC", b"HPET"] {
        ensure!(
            p.tables.iter().any(|t| t == sig),
            "table {} missing from the XSDT/RSDT",
            core::str::from_utf8(sig).unwrap_or("?")
        );
    }
    ensure!(!p.cpus.is_empty(), "the MADT lists no enabled CPU");
    ensure!(
        p.cpus.contains(&lapic::id()),
        "this CPU's APIC id {} is not in the MADT {:?}",
        lapic::id(),
        p.cpus
    );
    ensure!(!p.io_apics.is_empty(), "the MADT lists no I/O APIC");
    ensure!(
        p.lapic_address & 0xfff == 0 && p.lapic_address != 0,
        "LAPIC address {:#x}",
        p.lapic_address
    );
    // QEMU's q35 routes the PIT (IRQ 0) to GSI 2 (an override).
    let (gsi0, _) = irq::isa_gsi(p, 0);
    ensure!(
        gsi0 == 2,
        "IRQ 0 maps to GSI {gsi0}, expected the override to 2"
    );
    let hpet = p.hpet.ok_or_else(|| detail!("no HPET"))?;
    let (pm1a, _) = p.pm1_control;
    ensure!(pm1a.is_some(), "the FADT has no PM1a control block");
    let s5 = p.s5.ok_or_else(|| detail!("no \\_S5 in the DSDT"))?;
    Ok(detail!(
        "rev {}, {} tables, {} CPU(s), {} I/O APIC(s), {} overrides (IRQ0→GSI{gsi0}), HPET {hpet:#x}, PM1a {:#x}, S5 SLP_TYP {}/{}",
        p.revision,
        p.tables.len(),
        p.cpus.len(),
        p.io_apics.len(),
        p.overrides.len(),
        pm1a.unwrap_or(0),
        s5.slp_typ_a,
        s5.slp_typ_b
    ))
}

fn pics_masked(ctx: &Context<'_>) -> Outcome {
    let report = ctx
        .platform
        .irq
        .ok_or_else(|| detail!("interrupts were not brought up"))?;
    let now = pic::masks();
    ensure!(
        report.pic_masks == (0xff, 0xff) && now == (0xff, 0xff),
        "PIC masks {:#04x?} after masking, {now:#04x?} now",
        report.pic_masks
    );
    Ok(detail!(
        "both 8259s remapped to {:#x}/{:#x} and masked; LAPIC {:?}, {} spurious so far",
        pic::PIC1_VECTOR,
        pic::PIC2_VECTOR,
        report.lapic,
        irq::spurious()
    ))
}

fn ioapic_routing(_: &Context<'_>) -> Outcome {
    let p = acpi::platform().ok_or_else(|| detail!("no ACPI"))?;
    // Route ISA IRQ 1 (keyboard) through its GSI, read the entry back,
    // then mask it again.
    let (gsi, trigger) = irq::isa_gsi(p, 1);
    let before = irq::redirection(gsi).ok_or_else(|| detail!("GSI {gsi} has no I/O APIC"))?;
    ensure!(
        before & (1 << 16) != 0,
        "GSI {gsi} was not masked at start: {before:#x}"
    );
    let vector = irq::allocate_vector(|_| {}).map_err(|e| detail!("{e}"))?;
    let routed = irq::route(gsi, vector, trigger);
    irq::free(vector);
    routed.map_err(|e| detail!("{e}"))?;
    let routed = irq::redirection(gsi).unwrap_or(0);
    irq::mask(gsi);
    let after = irq::redirection(gsi).unwrap_or(0);
    ensure!(
        routed & 0xff == u64::from(vector) && routed & (1 << 16) == 0,
        "routed entry {routed:#x}"
    );
    ensure!(
        routed >> 56 == u64::from(lapic::id()),
        "destination {} is not this CPU ({})",
        routed >> 56,
        lapic::id()
    );
    ensure!(after & (1 << 16) != 0, "mask did not stick: {after:#x}");
    Ok(detail!(
        "GSI {gsi} routed to allocated vector {vector:#x} ({routed:#x}) and masked again; {} timer interrupts so far",
        irq::count(irq::TIMER_VECTOR)
    ))
}

/// The TSC clock (`time::now_ns`) against the reference over 50 ms.
fn tsc_vs_reference(ctx: &Context<'_>) -> Outcome {
    let reference = time::reference().ok_or_else(|| detail!("no reference clock"))?;
    let t = ctx
        .platform
        .time
        .ok_or_else(|| detail!("timers not set up"))?;
    let r0 = reference.counter();
    let n0 = time::now_ns();
    reference.delay(50_000_000);
    let r1 = reference.counter();
    let n1 = time::now_ns();
    let by_ref = reference.nanos_between(r0, r1);
    let by_tsc = n1 - n0;
    let error_ppm = by_tsc.abs_diff(by_ref) * 1_000_000 / by_ref.max(1);
    ensure!(
        error_ppm < 10_000,
        "over {by_ref} ns of {} the TSC clock counted {by_tsc} ns ({error_ppm} ppm off)",
        reference.name()
    );
    Ok(detail!(
        "{} ns by {} vs {by_tsc} ns by the TSC ({error_ppm} ppm); TSC {} MHz (PIT estimate {} MHz)",
        by_ref,
        reference.name(),
        t.tsc_hz.1 / 1_000_000,
        t.tsc_hz.0 / 1_000_000
    ))
}

/// The LAPIC timer's rate over 100 ms of the reference clock, from its
/// own counter (sampled; each reload adds one period): within 2 % of
/// `TICK_HZ`. Delivered tick interrupts are counted too; TCG drops ticks
/// the host had no time to deliver, so they only need to be most of them.
fn lapic_timer_rate(ctx: &Context<'_>) -> Outcome {
    let reference = time::reference().ok_or_else(|| detail!("no reference clock"))?;
    let t = ctx
        .platform
        .time
        .ok_or_else(|| detail!("timers not set up"))?;
    ensure!(
        crate::arch::cpu::interrupts_enabled(),
        "interrupts are off in the milestone kernel"
    );
    let period = u64::from(t.tick_count);
    let k0 = time::ticks();
    let r0 = reference.counter();
    let mut last = u64::from(lapic::timer_current());
    let mut counted = 0u64;
    let mut ns = 0;
    while ns < 100_000_000 {
        let now = u64::from(lapic::timer_current());
        // Counting down; a larger value means the counter reloaded.
        counted += if now <= last {
            last - now
        } else {
            last + period - now
        };
        last = now;
        ns = reference.nanos_between(r0, reference.counter());
    }
    let delivered = time::ticks() - k0;
    let measured_hz = counted * 1_000_000_000 / period.max(1) / ns.max(1);
    let rate_milli = counted * 1_000_000_000_000 / period.max(1) / ns.max(1);
    let off = rate_milli.abs_diff(time::TICK_HZ * 1000) / time::TICK_HZ;
    let expected = time::TICK_HZ * ns / 1_000_000_000;
    ensure!(
        off <= 20,
        "timer counted {counted} in {ns} ns of {}: {measured_hz} Hz, programmed {} Hz ({}.{}% off)",
        reference.name(),
        time::TICK_HZ,
        off / 10,
        off % 10
    );
    ensure!(
        delivered * 2 >= expected,
        "only {delivered} of {expected} tick interrupts arrived"
    );
    ensure!(
        lapic::timer_lvt() & 0xff == u32::from(irq::TIMER_VECTOR)
            && lapic::timer_lvt() & (1 << 16) == 0,
        "LVT timer {:#x}",
        lapic::timer_lvt()
    );
    Ok(detail!(
        "{}.{:03} ticks/ms by the LAPIC counter over {} us of {} ({}.{}% off); {delivered} of {expected} interrupts delivered",
        rate_milli / 1_000_000,
        rate_milli / 1000 % 1000,
        ns / 1000,
        reference.name(),
        off / 10,
        off % 10
    ))
}
