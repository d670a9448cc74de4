//! The multi-CPU boots: the whole milestone suite at `-smp 4` (M0–M3 must
//! hold with every CPU running, and M8 checks the CPUs themselves), and a
//! panic on one CPU that must stop the others and say what each ran.
//! The panic and the stress scenario boot with an x2APIC
//! (`expected::X2APIC_ARGS`): AP start, IPIs, the NMIs that stop the other
//! CPUs and the timers then go through the x2APIC MSRs; the suite keeps
//! the xAPIC, which is cheaper under TCG.

use ferrite_tests::images::{self, KernelFlavor, Volume};
use ferrite_tests::qemu::{self, Boot, Ending, Medium, Run, EXIT_FATAL};
use ferrite_tests::{expected, suite, transcript};
use std::sync::{Mutex, OnceLock};

/// One multi-CPU boot at a time: two QEMUs with four busy virtual CPUs on a
/// two-core build machine would starve each other and skew the timing
/// checks (sleep lengths, tick rates).
static ONE_BOOT_AT_A_TIME: Mutex<()> = Mutex::new(());

fn boot_alone(boot: &Boot<'_>) -> Result<Run, String> {
    let _turn = ONE_BOOT_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    qemu::boot(boot)
}

fn suite_smp() -> &'static Run {
    static RUN: OnceLock<Result<Run, String>> = OnceLock::new();
    let run = RUN.get_or_init(|| {
        let image = suite::build_image_as("suite", "suite-smp")?;
        let disk = ferrite_tests::disk::pattern_disk("suite-smp")?;
        let mut disk_args = ferrite_tests::disk::virtio_args(&disk);
        let tables = ferrite_tests::disk::table_disks("suite-smp")?;
        disk_args.extend(ferrite_tests::disk::table_args(&tables));
        let client = ferrite_tests::echo::Client::start(&mut disk_args)?;
        let args: Vec<&str> = expected::SMP_ARGS
            .iter()
            .chain(expected::SUITE_DEVICES)
            .copied()
            .chain(disk_args.iter().map(String::as_str))
            .collect();
        let run = boot_alone(&Boot {
            medium: Medium::Disk(&image),
            timeout: suite::boot_timeout(),
            stop_on: None,
            name: "suite-smp",
            extra_args: &args,
            script: expected::SMP_SUITE_SCRIPT,
        });
        let echo = client.finish();
        if echo.tcp_ms.is_none() {
            eprintln!("smp: the host's echo client was not answered: {echo:?}");
        }
        run
    });
    match run {
        Ok(run) => run,
        Err(e) => panic!("could not boot the milestone kernel at -smp 4: {e}"),
    }
}

fn judge(milestone: &str, lists: &[&[&str]]) {
    let all: Vec<&str> = lists.iter().flat_map(|l| l.iter().copied()).collect();
    if let Err(report) = transcript::judge_milestone(suite_smp(), milestone, &all) {
        panic!("{milestone} at -smp 4 failed:\n{report}");
    }
}

#[test]
fn m8_every_cpu_runs_threads() {
    judge("M8", &[expected::M8, expected::M8_USER]);
}

#[test]
fn the_screen_shows_the_patterns_on_four_cpus() {
    let _ = suite_smp();
    for (file, full) in [("suite-smp-m4.ppm", false), ("suite-smp-m4-full.ppm", true)] {
        if let Err(e) = ferrite_tests::pattern::check_screendump(file, full) {
            panic!("the screen does not show m4-tests.exe's pattern ({file}): {e}");
        }
    }
}

#[test]
fn earlier_milestones_hold_on_four_cpus() {
    judge("M0", &[expected::M0]);
    judge("M1", &[expected::M1]);
    judge("M2", &[expected::M2, expected::M2_USER]);
    judge("M3", &[expected::M3, expected::M3_USER]);
    judge("M4", &[expected::M4, expected::M4_USER]);
    judge("M5", &[expected::M5, expected::M5_USER]);
}

#[test]
fn suite_at_smp4_passes_and_exits_cleanly() {
    if let Err(report) = transcript::judge_suite(suite_smp()) {
        panic!("milestone suite at -smp 4 failed:\n{report}");
    }
}

#[test]
fn panic_on_one_cpu_stops_the_others() {
    let run = (|| {
        let kernel = images::build_kernel(KernelFlavor::Milestones)?;
        let loader = images::build_loader()?;
        let config = images::limine_conf("test=smp_panic", &[]);
        let image = images::scratch_dir().join("smp-panic.img");
        Volume::new(&loader, &kernel, &config)?.write(&image)?;
        boot_alone(&Boot {
            medium: Medium::Disk(&image),
            timeout: suite::boot_timeout(),
            stop_on: None,
            name: "smp-panic",
            extra_args: expected::X2APIC_ARGS,
            script: &[],
        })
    })()
    .unwrap_or_else(|e| panic!("could not boot: {e}"));
    let text = transcript::clean(&run.serial);
    // The spinning threads' ids, as the report prints them, must be
    // kernel threads (process 0) on CPUs 1–3, each stopped at an address.
    let mut needles: Vec<(String, String)> = vec![
        ("KERNEL PANIC: panicked at".into(), "no panic report".into()),
        (
            "smp_panic scenario: a deliberate panic on CPU 0".into(),
            "the panic message is missing".into(),
        ),
        (
            "cpu 0 (APIC id 0): stopped the others".into(),
            "the panicking CPU does not say it stopped the others".into(),
        ),
        (
            "3 of 3 other CPU(s) stopped".into(),
            "not every other CPU stopped".into(),
        ),
    ];
    for cpu in 1..4 {
        needles.push((
            format!("cpu {cpu} (APIC id {cpu}): stopped at 0x"),
            format!("CPU {cpu} did not report where it stopped"),
        ));
    }
    let pairs: Vec<(&str, &str)> = needles
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .chain(expected::X2APIC_LINES.iter().copied())
        .collect();
    let mut problems = Vec::new();
    for cpu in 1..4 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("cpu {cpu} (APIC id {cpu}): stopped at 0x")));
        if let Some(l) = line {
            if !l.ends_with("of process 0") || l.contains("running thread 0 ") {
                problems.push(format!(
                    "CPU {cpu} was not running its spinning kernel thread: {l}"
                ));
            }
        }
    }
    let result = transcript::expect_lines_allowing_fatal(
        &run,
        &pairs,
        &["KERNEL PANIC: panicked at kernel/src/milestones/m8.rs:"],
        Ending::Exited(EXIT_FATAL),
    );
    if let Err(report) = result {
        panic!("{report}");
    }
    if !problems.is_empty() {
        panic!("{}", transcript::failure(&run, &problems));
    }
}

/// The stress scenario (random process and thread life cycles, waits,
/// terminations and faults under preemption) with four CPUs: threads now
/// really meet on different CPUs; no panic, no hang, no leak.
#[test]
fn stress_on_four_cpus_survives_and_leaks_nothing() {
    let run = suite::build_image_as("stress", "stress-smp")
        .and_then(|image| {
            boot_alone(&Boot {
                medium: Medium::Disk(&image),
                timeout: suite::boot_timeout(),
                stop_on: None,
                name: "stress-smp",
                extra_args: expected::X2APIC_ARGS,
                script: &[],
            })
        })
        .unwrap_or_else(|e| panic!("could not boot the stress scenario at -smp 4: {e}"));
    if let Err(report) =
        transcript::judge_milestone(&run, "M3", &["stress_survives_and_leaks_nothing"])
    {
        panic!("stress scenario at -smp 4 failed:\n{report}");
    }
    let text = transcript::clean(&run.serial);
    let missing: Vec<String> = expected::X2APIC_LINES
        .iter()
        .filter(|(line, _)| !text.contains(line))
        .map(|(_, why)| why.to_string())
        .collect();
    if !missing.is_empty() {
        panic!("{}", transcript::failure(&run, &missing));
    }
}
