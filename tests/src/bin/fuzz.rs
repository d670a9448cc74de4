//! `make fuzz`: boots the `test=fuzz` scenario with as many calls as asked
//! and reports its FUZZ line. Settings come from the environment:
//! `FUZZ_CALLS` (default 2000000), `FUZZ_SEED` (default: from the clock,
//! printed so that a run can be repeated), `FUZZ_THREADS` (default 4),
//! `FUZZ_CPUS` (QEMU's `-smp`, default 1) and `FUZZ_TRACE=1` (fuzz.exe
//! prints every call before it makes it).

use ferrite_tests::qemu::{self, Boot, Medium};
use ferrite_tests::{expected, suite, transcript};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn setting(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().map_err(|_| format!("{name}={v} is not a number")),
        _ => Ok(default),
    }
}

fn run() -> Result<(), String> {
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let calls = setting("FUZZ_CALLS", 2_000_000)?;
    let seed = setting("FUZZ_SEED", clock)?;
    let threads = setting("FUZZ_THREADS", 4)?;
    let trace = setting("FUZZ_TRACE", 0)?;
    let cpus = setting("FUZZ_CPUS", 1)?.to_string();
    println!(
        "fuzz: seed {seed}, {calls} calls from {threads} threads on {cpus} CPU(s) (repeat with FUZZ_SEED={seed})"
    );
    let image = suite::build_image_as(
        &format!(
            "fuzz fuzz_seed={seed} fuzz_calls={calls} fuzz_threads={threads} fuzz_trace={trace}"
        ),
        "fuzz-long",
    )?;
    // The kernel gives the run 30 s and 2 s per thousand calls, twice over
    // (the warm-up and the run); the boot gets a minute more.
    let seconds = 2 * (30 + calls / 1000 * 2) + 60;
    let run = qemu::boot(&Boot {
        medium: Medium::Disk(&image),
        timeout: Duration::from_secs(seconds),
        stop_on: None,
        name: "fuzz-long",
        extra_args: &["-smp", &cpus],
        script: &[],
    })?;
    for line in run.serial.lines().filter(|l| l.starts_with("CHECK FUZZ")) {
        println!("{line}");
    }
    transcript::judge_milestone(&run, "FUZZ", expected::FUZZ)
        .map_err(|report| format!("seed {seed}:\n{report}"))
}

fn main() {
    if let Err(e) = run() {
        eprintln!("fuzz: {e}");
        std::process::exit(1);
    }
}
