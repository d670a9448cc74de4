//! The milestone test kernel: ordered checks, a serial report, a QEMU exit.
#![forbid(unsafe_code)]
//!
//! Each check prints one line `CHECK <milestone> <name> <ok|FAIL|skip>
//! <detail>` (`skip`: the machine lacks what the check tests; see [`skip`]);
//! the run ends with `milestones: N passed, N failed` and an isa-debug-exit
//! status (see [`Exit`]). The kernel command line picks the scenario:
//! `test=suite` (default) runs every milestone in order;
//! `test=stack_overflow` overflows the boot stack on purpose, to show the
//! double-fault handler's report (a separate boot, because it is fatal);
//! `test=shutdown` and `test=reboot` power the machine off or reset it
//! (tests/tests/power.rs); `test=doom` and `test=timedemo` run doom.exe
//! (M5, tests/tests/doom.rs); `test=fuzz` runs fuzz.exe's system-call
//! fuzzing (tests/tests/fuzz.rs, `make fuzz`); `test=bugcheck_<kind>`
//! stops the kernel on purpose to show a bugcheck's call stack (see
//! [`bugcheck`], tests/tests/bugcheck.rs).

mod bench;
mod bench_net;
mod bench_smp;
mod bench_vmbus;
pub mod bugcheck;
mod fuzz;
mod m0;
mod m1;
mod m2;
mod m3;
mod m4;
mod m4_msix;
mod m5;
mod m6;
mod m6_hostile;
mod m6_net;
mod m7;
mod m7_host;
mod m7_netvsc;
mod m7_storvsc;
mod m7_synthvid;
mod m8;

use crate::arch::serial::SerialStatus;
use crate::boot::BootInfo;
use crate::mm::MmReport;
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

/// How the milestone kernel leaves QEMU. QEMU's exit status is
/// `(code << 1) | 1`: 33, 35 and 37.
#[derive(Clone, Copy, Debug)]
#[repr(u32)]
pub enum Exit {
    /// Every check passed.
    Success = 0x10,
    /// At least one check failed.
    Failure = 0x11,
    /// A panic or an unrecoverable exception stopped the kernel.
    Fatal = 0x12,
}

/// Leaves QEMU with `code` (returns if not running under QEMU).
pub fn exit(code: Exit) {
    crate::arch::qemu::exit(code as u32);
}

/// The result of one check: `Err` failed; `Ok` passed, or was skipped if
/// the detail came from [`skip`].
pub type Outcome = Result<Detail, Detail>;

/// A short explanation printed after ok/FAIL/skip.
pub struct Detail {
    text: alloc::string::String,
    /// Set only by [`skip`]: the check's subject is missing on this machine.
    skipped: bool,
}

impl Detail {
    /// Formats a detail line.
    pub fn new(args: fmt::Arguments<'_>) -> Self {
        Self {
            text: alloc::fmt::format(args),
            skipped: false,
        }
    }
}

/// Reports a check as skipped: it could not run because the machine lacks
/// what it tests (a CPU feature, say). A skip is neither a pass nor a
/// failure; the host runner accepts one only for checks it lists as
/// optional (tests/src/expected.rs, `ALLOWED_SKIPS`).
pub fn skip(detail: Detail) -> Outcome {
    Ok(Detail {
        skipped: true,
        ..detail
    })
}

/// `detail!("...")` builds a [`Detail`] with `format_args!` syntax.
macro_rules! detail {
    ($($arg:tt)*) => { $crate::milestones::Detail::new(format_args!($($arg)*)) };
}
pub(crate) use detail;

/// Fails the check with a detail unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err($crate::milestones::detail!($($arg)*));
        }
    };
}
pub(crate) use ensure;

/// What the checks get to look at.
pub struct Context<'a> {
    pub info: &'a BootInfo,
    pub serial: SerialStatus,
    /// What memory management set up.
    pub mm: &'a MmReport,
    /// Bytes of loader memory reclaimed at boot.
    pub reclaimed: u64,
    /// ACPI, interrupt and timer bring-up.
    pub platform: crate::PlatformReport,
}

/// A named check of one milestone.
pub struct Check {
    pub milestone: &'static str,
    pub name: &'static str,
    pub run: fn(&Context<'_>) -> Outcome,
}

/// Checks passed, failed and skipped so far (kernel checks and those user
/// programs report through the REPORT_CHECK system call).
static PASSED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);
static SKIPPED: AtomicUsize = AtomicUsize::new(0);

/// The status word of a CHECK line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Fail,
    Skip,
}

impl Status {
    fn of(outcome: &Outcome) -> Self {
        match outcome {
            Ok(d) if d.skipped => Self::Skip,
            Ok(_) => Self::Ok,
            Err(_) => Self::Fail,
        }
    }
}

/// Counts a check and returns its status word. Skips have their own count:
/// they are neither passes nor failures in the summary line.
fn count(status: Status) -> &'static str {
    let (counter, word) = match status {
        Status::Ok => (&PASSED, "ok"),
        Status::Fail => (&FAILED, "FAIL"),
        Status::Skip => (&SKIPPED, "skip"),
    };
    counter.fetch_add(1, Ordering::Relaxed);
    word
}

fn run_checks(checks: &[Check], ctx: &Context<'_>) {
    let skipped_before = SKIPPED.load(Ordering::Relaxed);
    for check in checks {
        let result = (check.run)(ctx);
        let status = count(Status::of(&result));
        let detail = match result {
            Ok(d) | Err(d) => d,
        };
        report_line(check.milestone, check.name, status, &detail.text);
    }
    let skipped = SKIPPED.load(Ordering::Relaxed) - skipped_before;
    if skipped > 0 {
        log::info!("{skipped} check(s) skipped: not counted as passed or failed");
    }
}

/// A check reported by a user program (milestone M2 and later: the
/// program runs inside a kernel check, so its lines sit in that milestone).
pub fn user_check(name: &str, passed: bool, detail: &str) {
    let status = count(if passed { Status::Ok } else { Status::Fail });
    report_line(*USER_MILESTONE.lock(), name, status, detail);
}

/// The milestone user programs' checks belong to: the milestone of the
/// kernel check that runs the program.
static USER_MILESTONE: crate::sync::SpinLock<&'static str> = crate::sync::SpinLock::new("M2");

/// Files the checks of user programs started from now on under
/// `milestone`.
pub fn set_user_milestone(milestone: &'static str) {
    *USER_MILESTONE.lock() = milestone;
}

/// Runs the test program `exe` (with command line `args`, if not empty)
/// to its end with its checks filed under `milestone`; passes if it exited
/// with 0.
fn user_checks(ctx: &Context<'_>, exe: &str, args: &str, milestone: &'static str) -> Outcome {
    let mut process = crate::pe::spawn_program(ctx.info, exe, false).map_err(|e| detail!("{e}"))?;
    if !args.is_empty() {
        process.set_cmdline(args.into());
    }
    set_user_milestone(milestone);
    let p = crate::task::run(process);
    set_user_milestone("M2");
    let exit = p.exit_status().ok_or_else(|| detail!("no exit status"))?;
    let space = if args.is_empty() { "" } else { " " };
    ensure!(
        exit.code == 0 && exit.fault.is_none(),
        "{exe}{space}{args} {exit}"
    );
    Ok(detail!("{exe}{space}{args} {exit}"))
}

/// Prints a BENCH line for `iterations` operations that took `ticks`.
pub fn bench_line(name: &str, iterations: u64, ticks: u64) {
    let hz = crate::arch::tsc::frequency().max(1) as f64;
    let cycles = ticks as f64 / iterations as f64;
    let ns = cycles * 1e9 / hz;
    raw_line(format_args!(
        "BENCH name={name} iters={iterations} cycles_per_op={cycles:.2} ns_per_op={ns:.2}\n"
    ));
}

/// Prints a protocol line (CHECK, BENCH, INFO, summary) on serial and screen.
pub fn raw_line(args: fmt::Arguments<'_>) {
    let mut line = crate::logger::LineBuffer::new();
    let _ = fmt::write(&mut line, args);
    crate::arch::serial::write_line(line.as_str().as_bytes());
    crate::console::write_str(line.as_str());
}

fn report_line(milestone: &str, name: &str, status: &str, detail: &str) {
    let detail = detail.trim_end().replace('\n', " ");
    raw_line(format_args!("CHECK {milestone} {name} {status} {detail}\n"));
}

/// Runs the scenario the command line asks for and leaves QEMU.
pub fn run(
    info: &BootInfo,
    serial: SerialStatus,
    mm: &MmReport,
    reclaimed: u64,
    platform: crate::PlatformReport,
) {
    let scenario = info
        .cmdline()
        .split_whitespace()
        .find_map(|w| w.strip_prefix("test="))
        .unwrap_or("suite");
    log::info!("scenario '{scenario}'");
    let ctx = Context {
        info,
        serial,
        mm,
        reclaimed,
        platform,
    };
    match scenario {
        "suite" => {}
        "stack_overflow" => m0::overflow_the_stack(),
        "shutdown" => crate::power::shutdown(),
        "reboot" => crate::power::reboot(),
        "smp_panic" => m8::panic_with_others_busy(),
        kind if kind.starts_with("bugcheck_") => {
            bugcheck::run(&kind["bugcheck_".len()..], info);
            log::error!("bugcheck scenario '{kind}' did not stop the kernel");
            exit(Exit::Failure);
            return;
        }
        "stress" => {
            run_checks(m3::STRESS, &ctx);
            finish();
            return;
        }
        "doom" => {
            run_checks(m5::DOOM, &ctx);
            finish();
            return;
        }
        "timedemo" => {
            run_checks(m5::TIMEDEMO, &ctx);
            finish();
            return;
        }
        "fuzz" => {
            run_checks(fuzz::FUZZ, &ctx);
            finish();
            return;
        }
        other => {
            log::error!("unknown scenario '{other}'");
            exit(Exit::Failure);
            return;
        }
    }
    run_checks(m0::CHECKS, &ctx);
    run_checks(m1::CHECKS, &ctx);
    bench::kernel_benchmarks();
    run_checks(m2::CHECKS, &ctx);
    run_checks(m3::CHECKS, &ctx);
    run_checks(m4::CHECKS, &ctx);
    run_checks(m5::CHECKS, &ctx);
    run_checks(m6::CHECKS, &ctx);
    run_checks(m7::CHECKS, &ctx);
    bench::storage_benchmarks();
    bench_net::network_benchmarks();
    bench_vmbus::vmbus_benchmarks();
    if crate::arch::percpu::online_count() > 1 {
        run_checks(m8::CHECKS, &ctx);
        bench_smp::smp_benchmarks(&ctx);
    } else {
        log::info!("M8 not run: one CPU online");
    }
    if let Some(tsc) = crate::task::first_user_tsc() {
        let hz = crate::arch::tsc::frequency().max(1) as f64;
        raw_line(format_args!(
            "BOOT name=boot_to_user tsc={tsc} ms={:.3}\n",
            tsc as f64 * 1000.0 / hz
        ));
    }
    finish();
}

/// Prints the summary and leaves QEMU with the matching status.
fn finish() {
    let (passed, failed) = (
        PASSED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
    );
    raw_line(format_args!(
        "milestones: {passed} passed, {failed} failed\n"
    ));
    exit(if failed == 0 {
        Exit::Success
    } else {
        Exit::Failure
    });
}

/// Polls `ready` every 20 ms for up to `seconds`; true once it holds.
fn wait_for(seconds: u64, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = crate::time::now_ns() + seconds * 1_000_000_000;
    loop {
        if ready() {
            return true;
        }
        if crate::time::now_ns() >= deadline {
            return false;
        }
        let _ = crate::task::sched::sleep_ns(20_000_000);
    }
}

/// Waits up to `seconds` for a started process to end (then terminates
/// it), and takes it back: whether it ended by itself, the process and
/// its exit status.
fn finish_process(
    thread: alloc::sync::Arc<crate::task::Thread>,
    shared: crate::task::SharedProcess,
    seconds: u64,
) -> Result<(bool, crate::task::Process, crate::task::ExitStatus), Detail> {
    let ended = wait_for(seconds, || shared.lock().exit_status().is_some());
    if !ended {
        crate::task::terminate(&shared, 1);
    }
    crate::task::sched::join(&thread);
    drop(thread);
    let p =
        crate::task::reclaim(shared).ok_or_else(|| detail!("the process is still referenced"))?;
    let exit = p.exit_status().ok_or_else(|| detail!("no exit status"))?;
    Ok((ended, p, exit))
}
