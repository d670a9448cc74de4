//! Boots the milestone kernel once through our loader and judges each
//! milestone's checks in the serial report.

use ferrite_tests::qemu::{self, Boot, Medium, Run};
use ferrite_tests::{disk, echo, expected, suite, transcript};
use std::sync::OnceLock;

/// The partition disks the suite attaches (made by `boot_suite`).
static TABLE_DISKS: OnceLock<Vec<disk::TableDisk>> = OnceLock::new();
/// What the host's echo client saw during the suite boot.
static ECHO: OnceLock<echo::EchoResult> = OnceLock::new();

fn boot_suite() -> Result<Run, String> {
    let image = suite::build_image()?;
    let disk = disk::pattern_disk("suite")?;
    let mut disk_args = disk::virtio_args(&disk);
    let tables = disk::table_disks("suite")?;
    disk_args.extend(disk::table_args(&tables));
    let _ = TABLE_DISKS.set(tables);
    let client = echo::Client::start(&mut disk_args)?;
    let args: Vec<&str> = expected::SUITE_DEVICES
        .iter()
        .copied()
        .chain(disk_args.iter().map(String::as_str))
        .collect();
    let run = qemu::boot(&Boot {
        medium: Medium::Disk(&image),
        timeout: suite::boot_timeout(),
        stop_on: None,
        name: "suite",
        extra_args: &args,
        script: expected::SUITE_SCRIPT,
    });
    let _ = ECHO.set(client.finish());
    run
}

fn suite() -> &'static Run {
    static SUITE: OnceLock<Result<Run, String>> = OnceLock::new();
    match SUITE.get_or_init(boot_suite) {
        Ok(run) => run,
        Err(e) => panic!("could not boot the milestone kernel: {e}"),
    }
}

#[test]
fn m0_boot() {
    if let Err(report) = transcript::judge_milestone(suite(), "M0", expected::M0) {
        panic!("M0 failed:\n{report}");
    }
}

#[test]
fn m1_memory() {
    if let Err(report) = transcript::judge_milestone(suite(), "M1", expected::M1) {
        panic!("M1 failed:\n{report}");
    }
}

#[test]
fn m2_user_mode() {
    let all: Vec<&str> = expected::M2
        .iter()
        .chain(expected::M2_USER)
        .copied()
        .collect();
    if let Err(report) = transcript::judge_milestone(suite(), "M2", &all) {
        panic!("M2 failed:\n{report}");
    }
}

#[test]
fn m3_processes() {
    let all: Vec<&str> = expected::M3
        .iter()
        .chain(expected::M3_USER)
        .copied()
        .collect();
    if let Err(report) = transcript::judge_milestone(suite(), "M3", &all) {
        panic!("M3 failed:\n{report}");
    }
}

#[test]
fn m4_devices() {
    let all: Vec<&str> = expected::M4
        .iter()
        .chain(expected::M4_USER)
        .copied()
        .collect();
    if let Err(report) = transcript::judge_milestone(suite(), "M4", &all) {
        panic!("M4 failed:\n{report}");
    }
}

#[test]
fn m5_files() {
    if let Err(report) =
        transcript::judge_milestone(suite(), "M5", &[expected::M5, expected::M5_USER].concat())
    {
        panic!("M5 failed:\n{report}");
    }
}

#[test]
fn m6_storage() {
    let all: Vec<&str> = expected::M6
        .iter()
        .chain(expected::M6_USER)
        .copied()
        .collect();
    if let Err(report) = transcript::judge_milestone(suite(), "M6", &all) {
        panic!("M6 failed:\n{report}");
    }
    // QEMU has powered off: what the kernel wrote must be in the file.
    let image = ferrite_tests::images::scratch_dir().join("suite-disk.img");
    if let Err(e) = disk::check_written(&image) {
        panic!("M6: {e}");
    }
    let tables = TABLE_DISKS.get().map_or(&[][..], Vec::as_slice);
    assert_eq!(tables.len(), 3, "the partition disks were not made");
    if let Err(e) = disk::check_tables(&suite().serial, tables) {
        panic!("M6 partition tables:\n{e}");
    }
    if let Err(e) = disk::check_volumes(&suite().serial, tables) {
        panic!("M6 FAT volumes:\n{e}");
    }
    // The sample read from ring 3 hashes as the host's file does.
    let sample = tables
        .iter()
        .flat_map(|d| &d.volumes)
        .find(|v| v.label == "FERRITE32")
        .and_then(|v| v.files.iter().find(|f| f.0 == "/data/freedoom-sample.bin"))
        .map(|f| disk::fnv1a(&f.1));
    let want = format!("fnv={:016x}", sample.unwrap_or(0));
    let text = transcript::clean(&suite().serial);
    assert!(
        text.lines().any(
            |l| l.starts_with("CHECK M6 disk_files_by_label_and_partition ok") && l.contains(&want)
        ),
        "ring 3 did not read the sample as the host wrote it ({want})"
    );
}

#[test]
fn m4_screen_shows_the_patterns() {
    let _ = suite();
    for (file, full) in [("suite-m4.ppm", false), ("suite-m4-full.ppm", true)] {
        if let Err(e) = ferrite_tests::pattern::check_screendump(file, full) {
            panic!("the screen does not show m4-tests.exe's pattern ({file}): {e}");
        }
    }
}

#[test]
fn benchmarks_are_reported() {
    if let Err(report) = transcript::judge_benches(suite(), expected::BENCHES) {
        panic!("benchmarks missing:\n{report}");
    }
}

#[test]
fn boot_to_user_is_reported() {
    let text = transcript::clean(&suite().serial);
    let line = text
        .lines()
        .find(|l| l.starts_with("BOOT name=boot_to_user "));
    let ok = line.is_some_and(|l| {
        let fields: Vec<(&str, &str)> = l.split_whitespace().skip(2).filter_map(|f| f.split_once('=')).collect();
        matches!(fields.as_slice(), [("tsc", t), ("ms", m)] if t.parse::<u64>().is_ok() && m.parse::<f64>().is_ok())
    });
    if !ok {
        panic!(
            "{}",
            transcript::failure(
                suite(),
                &[format!("BOOT line missing or malformed: {line:?}")]
            )
        );
    }
}

#[test]
fn m7_hyperv() {
    if let Err(report) = transcript::judge_milestone(suite(), "M7", expected::M7) {
        panic!("M7 failed:\n{report}");
    }
}

#[test]
fn suite_passes_and_exits_cleanly() {
    if let Err(report) = transcript::judge_suite(suite()) {
        panic!("milestone suite failed:\n{report}");
    }
}

/// The forging program of `user_output_is_tagged` printed protocol lines;
/// each must appear only behind its `u<pid>| ` tag, and the kernel's next
/// line must start a line of its own.
#[test]
fn user_output_cannot_forge_protocol_lines() {
    let text = transcript::clean(&suite().serial);
    let tagged = |needle: &str| {
        text.lines()
            .any(|l| l.starts_with('u') && l.contains("| ") && l.ends_with(needle))
    };
    let mut problems = Vec::new();
    for needle in [
        "CHECK M3 forged_by_user ok",
        "BENCH name=forged iters=1 cycles_per_op=1 ns_per_op=1",
        "milestones: 999 passed, 0 failed",
        "partial line",
    ] {
        if !tagged(needle) {
            problems.push(format!("no tagged line ending in '{needle}'"));
        }
        if text.lines().any(|l| l.starts_with(needle)) {
            problems.push(format!("an untagged line starts with '{needle}'"));
        }
    }
    if text.lines().any(|l| l.contains("partial line[")) {
        problems.push("kernel output continued the program's open line".into());
    }
    if !problems.is_empty() {
        panic!("{}", transcript::failure(suite(), &problems));
    }
}

#[test]
fn m6_network() {
    let _ = suite();
    // The host's side (the guest's side is M6's echo checks, judged by
    // m6_storage with the rest of M6) of the echo: its bytes came back through hostfwd.
    let echo = ECHO.get().cloned().unwrap_or_default();
    assert!(
        echo.udp_rtt_us.is_some() && echo.tcp_ms.is_some(),
        "the host's echo client was not answered both ways: {echo:?}"
    );
    println!(
        "echo: UDP round trip {} us, {} TCP bytes back in {} ms, after {} attempt(s)",
        echo.udp_rtt_us.unwrap_or(0),
        echo::TCP_BYTES,
        echo.tcp_ms.unwrap_or(0),
        echo.attempts
    );
}
