//! `make bench`: Ferrite's figures and Linux 6.1's, from one run, in the
//! same QEMU configuration (q35, `-cpu max -smp 1 -m 512M`, OVMF, TCG);
//! then both again at `-smp 2` with multi-threaded TCG for the SMP
//! benchmarks (benchmarks.md ids 10–15); then the DOOM timedemo (id 19).
//!
//! `FERRITE_BENCH_ONLY=doom` runs only the DOOM part, `=smp` only the
//! `-smp 2` boots.

use ferrite_tests::doom_timing::{self, Timedemo, FREEDOOM1_DEMO1_GAMETICS};
use ferrite_tests::qemu::{self, Boot, Medium, Run};
use ferrite_tests::transcript::{self, BenchFigure};
use ferrite_tests::{peer, suite};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// With `FERRITE_BENCH_ICOUNT=1`, QEMU counts instructions instead of
/// running on the host clock: the TSC then advances once per guest
/// instruction and figures repeat exactly (benchmarks.md).
fn icount() -> bool {
    std::env::var("FERRITE_BENCH_ICOUNT").is_ok_and(|v| v == "1")
}

fn qemu_args() -> &'static [&'static str] {
    if icount() {
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

/// The SMP boots: two vCPUs, each its own host thread (multi-threaded
/// TCG), never `-icount` (which turns multi-threaded TCG off). Naming the
/// threads (`debug-threads=on`) lets [`watch_vcpus`] find them.
fn smp_args(name: &str) -> Vec<String> {
    [
        "-smp",
        "2",
        "-accel",
        "tcg,thread=multi",
        "-name",
        &format!("{name},debug-threads=on"),
    ]
    .map(String::from)
    .to_vec()
}

/// The SMP benchmarks' BENCH names, in the order they are shown.
const SMP_NAMES: &[&str] = &[
    "smp_null_syscall_1cpu",
    "smp_null_syscall_2cpu",
    "smp_page_fault_1cpu",
    "smp_page_fault_2cpu",
    "tlb_shootdown",
    "ipi_roundtrip",
];

/// The scaling figures and their goals (reported, not enforced).
const SCALING_GOALS: &[(&str, f64)] = &[("smp_null_syscall", 1.8), ("smp_page_fault", 1.5)];

fn ferrite(name: &str, extra: &[&str]) -> Result<Run, String> {
    let image = if name == "bench-ferrite" {
        suite::build_image()?
    } else {
        suite::build_image_as("suite", name)?
    };
    // The suite's devices and QMP script, so the M4 checks that wait for
    // the host's input get it (a failed step only costs their figures).
    let disk = ferrite_tests::disk::pattern_disk(name)?;
    let mut disk_args = ferrite_tests::disk::virtio_args(&disk);
    let tables = ferrite_tests::disk::table_disks(name)?;
    disk_args.extend(ferrite_tests::disk::table_args(&tables));
    let client = ferrite_tests::echo::Client::start(&mut disk_args)?;
    let args: Vec<&str> = extra
        .iter()
        .chain(ferrite_tests::expected::SUITE_DEVICES)
        .copied()
        .chain(disk_args.iter().map(String::as_str))
        .collect();
    let (run, problems) = qemu::boot_scripted(&Boot {
        medium: Medium::Disk(&image),
        timeout: suite::boot_timeout(),
        stop_on: None,
        name,
        extra_args: &args,
        script: ferrite_tests::expected::SUITE_SCRIPT,
    })?;
    for p in problems {
        eprintln!("bench: {name}: {p}");
    }
    let echo = client.finish();
    if echo.tcp_ms.is_none() {
        eprintln!("bench: {name}: the echo client was not answered: {echo:?}");
    }
    Ok(run)
}

fn linux(name: &str, append: &str, extra: &[&str]) -> Result<Run, String> {
    linux_with(name, &peer::initramfs()?, append, extra)
}

/// Linux with the suite's disks and network, and the host's benchmark
/// peer, so that it runs the storage and network benchmarks on the same
/// devices as Ferrite (`bench/linux/devices.c`).
fn linux_with_devices(name: &str, append: &str, extra: &[&str]) -> Result<Run, String> {
    let disk = ferrite_tests::disk::pattern_disk(name)?;
    let mut args = ferrite_tests::disk::virtio_args(&disk);
    let tables = ferrite_tests::disk::table_disks(name)?;
    args.extend(ferrite_tests::disk::table_args(&tables));
    let client = ferrite_tests::echo::Client::start(&mut args)?;
    let all: Vec<&str> = extra
        .iter()
        .copied()
        .chain(args.iter().map(String::as_str))
        .collect();
    let run = linux(name, append, &all);
    // Linux serves no echo on port 7: only the benchmark peer mattered.
    drop(client.finish());
    run
}

/// Boots Debian's kernel with `initrd` until its `/init` says `peer: done`.
fn linux_with(name: &str, initrd: &Path, append: &str, extra: &[&str]) -> Result<Run, String> {
    let kernel = peer::linux_kernel()?;
    qemu::boot(&Boot {
        medium: Medium::Linux {
            kernel: &kernel,
            initrd,
            append,
        },
        timeout: Duration::from_secs(if icount() { 900 } else { 300 }),
        stop_on: Some("peer: done"),
        name,
        extra_args: extra,
        script: &[],
    })
}

/// One of QEMU's vCPU threads, as `/proc` showed it last.
#[derive(Clone, Debug)]
struct VcpuThread {
    /// Its name (`CPU <n>/TCG`).
    name: String,
    /// Host CPU time it used (user + system), in seconds.
    cpu_seconds: f64,
}

/// What [`watch_vcpus`] saw of one QEMU process.
#[derive(Clone, Debug, Default)]
struct VcpuReport {
    pid: u32,
    /// The most vCPU threads seen at once.
    most: usize,
    /// The vCPU threads at the last look before QEMU ended.
    threads: Vec<VcpuThread>,
    /// Threads named for single-threaded TCG (`ALL CPUs/TCG`).
    round_robin: bool,
    /// Host CPU time of the whole QEMU process at the last look (s).
    qemu_seconds: f64,
    /// Host CPU time of every process together over the boot, and the
    /// CPU time the host had (s), from `/proc/stat`.
    host_busy: f64,
    host_total: f64,
}

/// (busy, total) CPU time of the host so far, in `/proc/stat` ticks.
fn host_times() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<f64> = line
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is
    // already in user).
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    Some((total - idle, total))
}

/// CPU time (user + system) of a `/proc/.../stat` line, in ticks.
fn stat_ticks(stat: &str) -> f64 {
    // Fields 14 and 15 (utime, stime) follow the parenthesised name.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let time = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    time(11).unwrap_or(0.0) + time(12).unwrap_or(0.0)
}

/// Clock ticks per second of `/proc/<pid>/stat` times.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The QEMU process whose command line names `marker` (its `-D` log).
fn find_qemu(marker: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline);
        (cmdline.starts_with("qemu-system-x86_64") && cmdline.contains(marker)).then_some(pid)
    })
}

/// The vCPU threads of QEMU process `pid` right now, and whether a
/// single-threaded TCG thread is there instead.
fn vcpu_threads(pid: u32, hz: f64) -> Option<(Vec<VcpuThread>, bool)> {
    let mut out = Vec::new();
    let mut round_robin = false;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        let comm = comm.trim().to_string();
        if comm == "ALL CPUs/TCG" {
            round_robin = true;
        }
        let is_vcpu = comm
            .strip_prefix("CPU ")
            .and_then(|r| r.strip_suffix("/TCG"))
            .is_some_and(|n| n.parse::<u32>().is_ok());
        if !is_vcpu {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        out.push(VcpuThread {
            name: comm,
            cpu_seconds: stat_ticks(&stat) / hz,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Some((out, round_robin))
}

/// Looks at the QEMU process of boot `name` every 200 ms while it runs
/// (until `done`) and records its vCPU threads.
fn watch_vcpus(name: &str, done: Arc<AtomicBool>) -> JoinHandle<Option<VcpuReport>> {
    let marker = format!("{name}.qemu.log");
    std::thread::spawn(move || {
        let hz = clock_ticks();
        let mut report: Option<VcpuReport> = None;
        while !done.load(Ordering::Acquire) {
            let pid = report
                .as_ref()
                .map(|r| r.pid)
                .or_else(|| find_qemu(&marker));
            if let Some((threads, rr)) = pid.and_then(|p| vcpu_threads(p, hz)) {
                let r = report.get_or_insert_with(|| VcpuReport {
                    pid: pid.unwrap_or(0),
                    ..VcpuReport::default()
                });
                r.most = r.most.max(threads.len());
                r.round_robin |= rr;
                if !threads.is_empty() {
                    r.threads = threads;
                }
                if let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", r.pid)) {
                    r.qemu_seconds = stat_ticks(&stat) / hz;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        report
    })
}

/// Boots at `-smp 2` with the vCPU threads watched.
fn smp_boot(
    name: &str,
    boot: impl FnOnce(&[&str]) -> Result<Run, String>,
) -> (Result<Run, String>, Option<VcpuReport>) {
    let args = smp_args(name);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch_vcpus(name, done.clone());
    let before = host_times();
    let run = boot(&args);
    let after = host_times();
    done.store(true, Ordering::Release);
    let mut report = watcher.join().ok().flatten();
    if let (Some(r), Some(b), Some(a)) = (report.as_mut(), before, after) {
        let hz = clock_ticks();
        r.host_busy = (a.0 - b.0) / hz;
        r.host_total = (a.1 - b.1) / hz;
    }
    (run, report)
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

fn pick<'a>(v: &'a [BenchFigure], name: &str) -> Option<&'a BenchFigure> {
    v.iter().find(|b| b.name == name)
}

/// The `INFO smp_scaling name=<name> x=<x>` figure of a transcript, or
/// failing that, the ratio of its two BENCH figures.
fn scaling(serial: &str, figures: &[BenchFigure], name: &str) -> Option<f64> {
    let prefix = format!("INFO smp_scaling name={name} x=");
    let printed = transcript::clean(serial).lines().find_map(|l| {
        l.strip_prefix(&prefix)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    });
    printed.or_else(|| {
        let one = pick(figures, &format!("{name}_1cpu"))?;
        let two = pick(figures, &format!("{name}_2cpu"))?;
        (two.ns_per_op > 0.0).then(|| one.ns_per_op / two.ns_per_op)
    })
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |x| format!("{x:.2}"))
}

/// The `-smp 1` part: every BENCH and BOOT line, then the table.
fn single_cpu_table(ours: &Run, theirs: &Run) -> bool {
    let (f, l) = (
        transcript::bench_figures(&ours.serial),
        transcript::bench_figures(&theirs.serial),
    );
    for (system, run) in [("ferrite", ours), ("linux-6.1", theirs)] {
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
    let mut names: Vec<&str> = f
        .iter()
        .chain(&l)
        .map(|b| b.name.as_str())
        .filter(|n| !SMP_NAMES.contains(n))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let (ours, theirs) = (pick(&f, name), pick(&l, name));
        println!(
            "{name:<16} {} {} {:>8}",
            cell(ours),
            cell(theirs),
            ratio(ours, theirs)
        );
    }
    let boot = |run: &Run| {
        transcript::boot_figure(&run.serial)
            .map_or("-".to_string(), |(_, ms)| format!("{ms:.1} ms"))
    };
    println!(
        "{:<16} {:>23} {:>23}",
        "boot_to_user",
        boot(ours),
        boot(theirs)
    );
    !f.is_empty() && !l.is_empty()
}

/// How the vCPUs of one SMP boot ran on the host.
fn vcpu_line(system: &str, run: Option<&Run>, report: Option<&VcpuReport>) {
    let Some(r) = report else {
        println!("{system}: vCPU threads: the QEMU process was not found in /proc");
        return;
    };
    let wall = run.map_or(0.0, |run| run.elapsed.as_secs_f64());
    let busy: f64 = r.threads.iter().map(|t| t.cpu_seconds).sum();
    let each: Vec<String> = r
        .threads
        .iter()
        .map(|t| format!("\"{}\" {:.1} s", t.name, t.cpu_seconds))
        .collect();
    let verdict = if r.most >= 2 && !r.round_robin {
        "one host thread per vCPU (multi-threaded TCG)"
    } else {
        "NOT one host thread per vCPU"
    };
    println!(
        "{system}: vCPU threads of QEMU pid {}: {} at most, {verdict}; host CPU time {}; {busy:.1} s over {wall:.1} s of wall time",
        r.pid,
        r.most,
        if each.is_empty() { "-".to_string() } else { each.join(", ") },
    );
    if r.host_total > 0.0 {
        println!(
            "{system}: the host's CPUs were busy {:.1} of {:.1} CPU-s during the boot; QEMU took {:.1}, everything else {:.1}",
            r.host_busy,
            r.host_total,
            r.qemu_seconds,
            (r.host_busy - r.qemu_seconds).max(0.0)
        );
    }
}

/// The `-smp 2` part: the SMP lines of both boots, their figures beside
/// each other, the scaling, the goals and the vCPU threads.
fn smp_table(
    ours: Option<&Run>,
    theirs: Option<&Run>,
    vcpus: (Option<&VcpuReport>, Option<&VcpuReport>),
) -> bool {
    let figures = |run: Option<&Run>| {
        run.map(|r| transcript::bench_figures(&r.serial))
            .unwrap_or_default()
            .into_iter()
            .filter(|b| SMP_NAMES.contains(&b.name.as_str()))
            .collect::<Vec<_>>()
    };
    let (f, l) = (figures(ours), figures(theirs));
    println!();
    println!("SMP: -smp 2 -accel tcg,thread=multi, no -icount; each figure the median of 5 wall-clock runs");
    for (system, run) in [("ferrite-smp2", ours), ("linux-6.1-smp2", theirs)] {
        let Some(run) = run else { continue };
        for line in transcript::clean(&run.serial).lines() {
            let smp_bench = line
                .strip_prefix("BENCH name=")
                .is_some_and(|r| SMP_NAMES.iter().any(|n| r.starts_with(&format!("{n} "))));
            if smp_bench
                || line.starts_with("INFO smp_scaling ")
                || line.starts_with("milestones: ")
            {
                println!("{system}: {line}");
            }
        }
    }
    println!();
    println!(
        "{:<22} {:>23} {:>23} {:>8}",
        "benchmark", "ferrite cycles/op ns/op", "linux cycles/op ns/op", "f/l"
    );
    for name in SMP_NAMES {
        let (a, b) = (pick(&f, name), pick(&l, name));
        let r = match (a, b) {
            (Some(a), Some(b)) if b.ns_per_op > 0.0 => format!("{:.2}", a.ns_per_op / b.ns_per_op),
            _ => "-".to_string(),
        };
        println!("{name:<22} {} {} {r:>8}", cell(a), cell(b));
    }
    println!("(f/l here is Ferrite's ns/op over Linux's: wall-clock figures)");
    println!();
    println!(
        "{:<22} {:>8} {:>8}   goals (reported, not enforced)",
        "scaling 1 -> 2 CPUs", "ferrite", "linux"
    );
    for (name, goal) in SCALING_GOALS {
        let x = |run: Option<&Run>, figs: &[BenchFigure]| {
            run.and_then(|r| scaling(&r.serial, figs, name))
        };
        let (a, b) = (x(ours, &f), x(theirs, &l));
        let vs = match (a, b) {
            (Some(a), Some(b)) => met(a >= b),
            _ => "-",
        };
        println!(
            "{name:<22} {:>8} {:>8}   ferrite >= {goal:.1}x: {}; ferrite >= linux: {vs}",
            opt(a),
            opt(b),
            a.map_or("-", |a| met(a >= *goal))
        );
    }
    for name in ["tlb_shootdown", "ipi_roundtrip"] {
        let (a, b) = (pick(&f, name), pick(&l, name));
        let verdict = match (a, b) {
            (Some(a), Some(b)) => met(a.ns_per_op <= b.ns_per_op),
            _ => "-",
        };
        println!(
            "{name:<22} {:>8} {:>8}   ns/op, ferrite <= linux: {verdict}",
            opt(a.map(|a| a.ns_per_op)),
            opt(b.map(|b| b.ns_per_op))
        );
    }
    println!();
    vcpu_line("ferrite-smp2", ours, vcpus.0);
    vcpu_line("linux-6.1-smp2", theirs, vcpus.1);
    !f.is_empty() && !l.is_empty()
}

/// Linux's DOOM timedemo figure (id 19): the doomgeneric engine with
/// `bench/linux/doom_fb.c` as `/init`, `-iwad /freedoom1.wad -timedemo
/// demo1 -nogui`, frames copied into efifb's `/dev/fb0`.
fn linux_doom_timedemo() -> Result<Timedemo, String> {
    let initrd = peer::doom_initramfs()?;
    let run = linux_with(
        "bench-linux-doom",
        &initrd,
        "console=ttyS0 quiet",
        qemu_args(),
    )?;
    doom_timing::parse_timed_line(&run.serial).ok_or_else(|| {
        format!(
            "the Linux DOOM peer printed no `timed ... fps)` line ({:?}; serial log {})",
            run.ending,
            run.log_paths.0.display()
        )
    })
}

/// Ferrite's DOOM timedemo figure (id 19): the milestone kernel's
/// `test=timedemo` boot (doom.exe `-iwad freedoom1.wad -timedemo demo1
/// -nogui`, frames presented into its window) in [`qemu_args`]'s
/// configuration; the engine's own `timed` line.
fn ferrite_doom_timedemo() -> Result<Option<Timedemo>, String> {
    let image = ferrite_tests::doom::build_image("timedemo")?;
    let run = qemu::boot(&Boot {
        medium: Medium::Disk(&image),
        timeout: suite::boot_timeout(),
        stop_on: None,
        name: "bench-ferrite-doom",
        extra_args: qemu_args(),
        script: &[],
    })?;
    doom_timing::parse_timed_line(&transcript::clean(&run.serial))
        .map(Some)
        .ok_or_else(|| {
            format!(
                "Ferrite's doom.exe printed no `timed ... fps)` line ({:?}; serial log {})",
                run.ending,
                run.log_paths.0.display()
            )
        })
}

/// The DOOM part: both BENCH lines, the figures side by side and Ferrite's
/// fps over Linux's. False if Linux has no figure.
fn doom_table(ours: Option<&Timedemo>, theirs: Option<&Timedemo>) -> bool {
    println!();
    println!("DOOM: freedoom1.wad demo1 at 640x400, -timedemo (frames as fast as they render)");
    for (system, t) in [("ferrite", ours), ("linux-6.1", theirs)] {
        let Some(t) = t else { continue };
        println!("{system}: {}", t.bench_line());
        if t.gametics != FREEDOOM1_DEMO1_GAMETICS {
            println!(
                "{system}: doom_timedemo ran {} gametics, not {FREEDOOM1_DEMO1_GAMETICS}: the demo desynced or ended early",
                t.gametics
            );
        }
    }
    println!();
    println!(
        "{:<16} {:>12} {:>12} {:>8}",
        "benchmark", "ferrite fps", "linux fps", "f/l"
    );
    let fps = |t: Option<&Timedemo>| t.map_or("-".to_string(), |t| format!("{:.2}", t.fps));
    let r = match (ours, theirs) {
        (Some(a), Some(b)) if b.fps > 0.0 => format!("{:.2}", a.fps / b.fps),
        _ => "-".to_string(),
    };
    println!(
        "{:<16} {:>12} {:>12} {r:>8}",
        "doom_timedemo",
        fps(ours),
        fps(theirs)
    );
    println!("(f/l here is Ferrite's fps over Linux's: above 1, Ferrite renders faster)");
    if icount() {
        println!(
            "(under -icount a realtic is 1/35 s of instruction-counted time, 1 ns per instruction)"
        );
    }
    theirs.is_some()
}

/// Boots both DOOM peers and prints [`doom_table`].
fn doom() -> bool {
    let theirs = linux_doom_timedemo()
        .map_err(|e| eprintln!("bench: error: {e}"))
        .ok();
    let ours = ferrite_doom_timedemo()
        .map_err(|e| eprintln!("bench: error: {e}"))
        .ok()
        .flatten();
    doom_table(ours.as_ref(), theirs.as_ref())
}

/// Boots both systems at `-smp 2` and shows their SMP table; false if
/// either printed no SMP figures.
fn smp() -> bool {
    let (ours, ours_vcpus) = smp_boot("bench-ferrite-smp2", |args| {
        ferrite("bench-ferrite-smp2", args)
    });
    let (theirs, theirs_vcpus) = smp_boot("bench-linux-smp2", |args| {
        // Everything after `--` is the peer's argv (smp.c).
        linux("bench-linux-smp2", "console=ttyS0 quiet -- smp", args)
    });
    for e in [&ours, &theirs]
        .into_iter()
        .filter_map(|r| r.as_ref().err())
    {
        eprintln!("bench: error: {e}");
    }
    smp_table(
        ours.as_ref().ok(),
        theirs.as_ref().ok(),
        (ours_vcpus.as_ref(), theirs_vcpus.as_ref()),
    )
}

fn main() -> ExitCode {
    // `FERRITE_BENCH_ONLY=linux`: only Linux's single-CPU boot, with its
    // peer's lines (for working on bench/linux/).
    if std::env::var("FERRITE_BENCH_ONLY").is_ok_and(|v| v == "linux") {
        return match linux_with_devices("bench-linux", "console=ttyS0 quiet", qemu_args()) {
            Ok(run) => {
                for line in transcript::clean(&run.serial).lines() {
                    if line.starts_with("BENCH ") || line.starts_with("peer:") {
                        println!("linux-6.1: {line}");
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("bench: error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // `FERRITE_BENCH_ONLY=smp`: only the two `-smp 2` boots and their table.
    if std::env::var("FERRITE_BENCH_ONLY").is_ok_and(|v| v == "smp") {
        return if smp() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    if std::env::var("FERRITE_BENCH_ONLY").is_ok_and(|v| v == "doom") {
        return if doom() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let (ours, theirs) = match (
        ferrite("bench-ferrite", qemu_args()),
        linux_with_devices("bench-linux", "console=ttyS0 quiet", qemu_args()),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            for e in [a.err(), b.err()].into_iter().flatten() {
                eprintln!("bench: error: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    let single = single_cpu_table(&ours, &theirs);
    if icount() {
        println!("\n(the -smp 2 boots ran without -icount: it would turn multi-threaded TCG off)");
    }
    let smp = smp();
    let doom = doom();
    if !single {
        eprintln!("bench: a system printed no BENCH lines (transcripts in target/test-runs/)");
        return ExitCode::FAILURE;
    }
    if !smp {
        eprintln!(
            "bench: a system printed no SMP BENCH lines at -smp 2 (transcripts in target/test-runs/)"
        );
        return ExitCode::FAILURE;
    }
    if !doom {
        eprintln!(
            "bench: Linux printed no DOOM timedemo figure (transcripts in target/test-runs/)"
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
