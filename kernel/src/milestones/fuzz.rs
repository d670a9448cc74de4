//! `test=fuzz`: fuzz.exe makes system calls with random and hostile
//! arguments from several threads (see `user/fuzz`); the kernel must not
//! panic or hang, and afterwards frames, heap bytes and allocations and
//! kernel ranges are where they were.
//!
//! The kernel command line may set `fuzz_seed=<n>` (default 1),
//! `fuzz_calls=<n>` (default [`DEFAULT_CALLS`]) and `fuzz_threads=<n>`
//! (default [`DEFAULT_THREADS`]); `make fuzz` passes them. `fuzz_trace=1`
//! has fuzz.exe print every call before it makes it.

use super::m3::{frames_balance, usage};
use super::{detail, ensure, finish_process, wait_for, Check, Context, Outcome};
use alloc::format;
use alloc::string::String;

/// The scenario's one check.
pub const FUZZ: &[Check] = &[Check {
    milestone: "FUZZ",
    name: "syscall_fuzz_survives_and_leaks_nothing",
    run: syscall_fuzz,
}];

/// Calls of the bounded run `make test` makes.
const DEFAULT_CALLS: u64 = 200_000;
/// Threads it makes them from.
const DEFAULT_THREADS: u64 = 4;
/// The calls of the first, short run, which fills the image cache and the
/// heap's free lists before the baseline is taken.
const WARM_UP_CALLS: u64 = 2_000;
/// How long a run may take per thousand calls before it counts as hung.
const SECONDS_PER_THOUSAND: u64 = 2;
/// Room for fuzz.exe's summary line, taken before the baseline.
const SUMMARY_BYTES: usize = 400;
/// How long the children fuzz.exe started may take to end after it.
const SETTLE_S: u64 = 10;

/// A `name=<number>` word of the kernel command line.
fn option(ctx: &Context<'_>, name: &str) -> Option<u64> {
    ctx.info
        .cmdline()
        .split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// Runs fuzz.exe once; puts its summary line into `summary` (within the
/// capacity it has, so that nothing is allocated after a baseline) and
/// returns how long it took in ms.
fn run_fuzzer(
    ctx: &Context<'_>,
    seed: u64,
    calls: u64,
    threads: u64,
    summary: &mut String,
) -> Result<u64, super::Detail> {
    let mut process =
        crate::pe::spawn_program(ctx.info, "fuzz.exe", false).map_err(|e| detail!("{e}"))?;
    let trace = if option(ctx, "fuzz_trace") == Some(1) {
        " trace"
    } else {
        ""
    };
    process.set_cmdline(format!("{seed} {calls} {threads}{trace}"));
    let (thread, shared) =
        crate::task::spawn(process).map_err(|e| detail!("cannot start fuzz.exe: {e}"))?;
    let limit = 30 + calls / 1000 * SECONDS_PER_THOUSAND;
    let t0 = crate::time::now_ns();
    let (ended, p, exit) = finish_process(thread, shared, limit)?;
    let ms = (crate::time::now_ns() - t0) / 1_000_000;
    let output = p.output();
    let line = output
        .lines()
        .rev()
        .find_map(|l| l.find("fuzz: done ").map(|at| &l[at + 11..]))
        .unwrap_or("");
    summary.clear();
    let mut cut = line.len().min(summary.capacity());
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    summary.push_str(&line[..cut]);
    ensure!(
        ended,
        "seed {seed}: fuzz.exe did not end within {limit} s (a call hung)"
    );
    ensure!(
        exit.code == 0 && exit.fault.is_none() && !summary.is_empty(),
        "seed {seed}: fuzz.exe {exit}; summary '{summary}'"
    );
    Ok(ms)
}

fn syscall_fuzz(ctx: &Context<'_>) -> Outcome {
    let seed = option(ctx, "fuzz_seed").unwrap_or(1);
    let calls = option(ctx, "fuzz_calls").unwrap_or(DEFAULT_CALLS);
    let threads = option(ctx, "fuzz_threads").unwrap_or(DEFAULT_THREADS);
    let mut summary = String::new();
    summary
        .try_reserve_exact(SUMMARY_BYTES)
        .map_err(|_| detail!("no memory for the summary"))?;
    run_fuzzer(
        ctx,
        seed.wrapping_add(1_000_003),
        WARM_UP_CALLS,
        threads,
        &mut summary,
    )?;
    // The one program fuzz.exe may start, so that the image cache holds it
    // before the baseline (the warm-up may not have started it).
    let exit0 =
        crate::pe::spawn_program(ctx.info, "exit0.exe", false).map_err(|e| detail!("{e}"))?;
    drop(crate::task::run(exit0));
    // Programs fuzz.exe started (exit0.exe) may still be ending.
    let _ = crate::task::sched::sleep_ns(500_000_000);
    let before = usage();
    let claimed_before = crate::mm::heap::stats().claimed;
    let ms = run_fuzzer(ctx, seed, calls, threads, &mut summary)?;
    let settled = |after: super::m3::Usage| {
        let grew = crate::mm::heap::stats().claimed - claimed_before;
        after.heap_bytes == before.heap_bytes
            && after.heap_allocations == before.heap_allocations
            && after.kva_free == before.kva_free
            && frames_balance(&before, &after, grew)
    };
    let back = wait_for(SETTLE_S, || settled(usage()));
    let after = usage();
    ensure!(
        back,
        "seed {seed}: after {after:?} (heap grew {}), before {before:?}",
        crate::mm::heap::stats().claimed - claimed_before
    );
    Ok(detail!(
        "{summary}; {ms} ms; frames, heap and kernel ranges as before"
    ))
}
