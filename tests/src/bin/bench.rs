//! `make bench`: Ferrite's figures and Linux 6.1's, from one run, in the
//! same QEMU configuration (q35, `-cpu max -smp 1 -m 512M`, OVMF, TCG).

use ferrite_tests::qemu::{self, Boot, Medium, Run};
use ferrite_tests::transcript::{self, BenchFigure};
use ferrite_tests::{peer, suite};
use std::process::ExitCode;
use std::time::Duration;

/// With `FERRITE_BENCH_ICOUNT=1`, QEMU counts instructions instead of
/// running on the host clock: the TSC then advances once per guest
/// instruction and figures repeat exactly (benchmarks.md).
fn qemu_args() -> &'static [&'static str] {
    if std::env::var("FERRITE_BENCH_ICOUNT").is_ok_and(|v| v == "1") {
        &[
            "-icount",
            "shift=0,sleep=off",
            "-seed",
            "1",
            "-rtc",
            "base=2025-01-01T00:00:00,clock=vm",
        ]
    } else {
        &[]
    }
}

fn ferrite() -> Result<Run, String> {
    let image = suite::build_image()?;
    qemu::boot(&Boot {
        medium: Medium::Disk(&image),
        timeout: suite::boot_timeout(),
        stop_on: None,
        name: "bench-ferrite",
        extra_args: qemu_args(),
    })
}

fn linux() -> Result<Run, String> {
    let kernel = peer::linux_kernel()?;
    let initrd = peer::initramfs()?;
    qemu::boot(&Boot {
        medium: Medium::Linux {
            kernel: &kernel,
            initrd: &initrd,
            append: "console=ttyS0 quiet",
        },
        timeout: Duration::from_secs(300),
        stop_on: Some("peer: done"),
        name: "bench-linux",
        extra_args: qemu_args(),
    })
}

fn cell(f: Option<&BenchFigure>) -> String {
    f.map_or_else(
        || format!("{:>12} {:>10}", "-", "-"),
        |f| format!("{:>12.2} {:>10.2}", f.cycles_per_op, f.ns_per_op),
    )
}

/// Ferrite's cycles per operation over Linux's (below 1: Ferrite is
/// cheaper), or `-` unless both systems have the figure.
fn ratio(ours: Option<&BenchFigure>, theirs: Option<&BenchFigure>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b.cycles_per_op > 0.0 => {
            format!("{:.2}", a.cycles_per_op / b.cycles_per_op)
        }
        _ => "-".to_string(),
    }
}

fn main() -> ExitCode {
    let (ours, theirs) = match (ferrite(), linux()) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            for e in [a.err(), b.err()].into_iter().flatten() {
                eprintln!("bench: error: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    let (f, l) = (
        transcript::bench_figures(&ours.serial),
        transcript::bench_figures(&theirs.serial),
    );
    for (system, run) in [("ferrite", &ours), ("linux-6.1", &theirs)] {
        for line in transcript::clean(&run.serial).lines() {
            if line.starts_with("BENCH ") || line.starts_with("BOOT ") {
                println!("{system}: {line}");
            }
        }
    }
    println!();
    println!(
        "{:<16} {:>23} {:>23} {:>8}",
        "benchmark", "ferrite cycles/op ns/op", "linux cycles/op ns/op", "f/l"
    );
    let mut names: Vec<&str> = f.iter().chain(&l).map(|b| b.name.as_str()).collect();
    names.dedup();
    names.sort();
    names.dedup();
    for name in names {
        let pick = |v: &[BenchFigure]| v.iter().find(|b| b.name == name).cloned();
        let (ours, theirs) = (pick(&f), pick(&l));
        println!(
            "{name:<16} {} {} {:>8}",
            cell(ours.as_ref()),
            cell(theirs.as_ref()),
            ratio(ours.as_ref(), theirs.as_ref())
        );
    }
    let boot = |run: &Run| {
        transcript::boot_figure(&run.serial)
            .map_or("-".to_string(), |(_, ms)| format!("{ms:.1} ms"))
    };
    println!(
        "{:<16} {:>23} {:>23}",
        "boot_to_user",
        boot(&ours),
        boot(&theirs)
    );
    if f.is_empty() || l.is_empty() {
        eprintln!("bench: a system printed no BENCH lines (transcripts in target/test-runs/)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
