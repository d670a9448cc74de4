//! M5: files from the kernel, and DOOM.
//!
//! In the suite: the boot-file namespace (open by name, read, seek, size;
//! bad names refused). The DOOM boots are scenarios of their own (they
//! need the WAD as a module): `test=doom` runs doom.exe into its demo loop
//! while the host looks at the screen and presses keys, `test=timedemo`
//! runs `-timedemo demo1` and reports its figure.

use super::{detail, ensure, finish_process, wait_for, Check, Context, Outcome};
use crate::fs::OpenFile;
use abi::Error;

/// The M5 checks of the suite.
pub const CHECKS: &[Check] = &[
    Check {
        milestone: "M5",
        name: "boot_files",
        run: boot_files,
    },
    Check {
        milestone: "M5",
        name: "m5_user_checks",
        run: m5_user_checks,
    },
];

/// Runs `m3-tests.exe crt`, whose checks (files and the C runtime from
/// ring 3) land in M5.
fn m5_user_checks(ctx: &Context<'_>) -> Outcome {
    super::user_checks(ctx, "m3-tests.exe", "crt", "M5")
}

/// The module the check reads (its path ends in this name).
const MODULE: &str = "m0-module.txt";

fn boot_files(ctx: &Context<'_>) -> Outcome {
    let module = ctx
        .info
        .modules
        .iter()
        .find(|m| m.path.ends_with(MODULE))
        .ok_or_else(|| detail!("no module {MODULE}"))?;
    let want: &[u8] = &module.data;
    // Names are matched without regard to ASCII case.
    let f = OpenFile::open("M0-Module.TXT", 0).map_err(|e| detail!("open: {}", e.name()))?;
    ensure!(
        f.name() == MODULE && f.size() == want.len() as u64,
        "opened '{}' of {} bytes, not {MODULE} of {}",
        f.name(),
        f.size(),
        want.len()
    );
    // Read in two pieces, the second asking for more than is left.
    let (head, after) = boot_peek(&f, 10);
    ensure!(head == &want[..10] && after == 10, "first read wrong");
    f.advance(after);
    let (rest, end) = boot_peek(&f, 1 << 20);
    ensure!(
        rest == &want[10..] && end == want.len() as u64,
        "second read gave {} bytes, not {}",
        rest.len(),
        want.len() - 10
    );
    f.advance(end);
    ensure!(
        boot_peek(&f, 16).0.is_empty(),
        "a read at the end gave bytes"
    );
    // Seeks: from the end, relative, past the end (reads nothing), and
    // before the start (refused, position kept).
    let at = f
        .seek(-4, abi::seek::END)
        .map_err(|e| detail!("seek: {}", e.name()))?;
    ensure!(at == want.len() as u64 - 4, "SEEK_END -4 gave {at}");
    ensure!(
        f.seek(-2, abi::seek::CURRENT) == Ok(at - 2)
            && boot_peek(&f, 2).0 == &want[want.len() - 6..want.len() - 4],
        "SEEK_CUR -2 did not land 6 bytes before the end"
    );
    let past = want.len() as i64 + 100;
    ensure!(
        f.seek(past, abi::seek::SET) == Ok(past as u64) && boot_peek(&f, 8).0.is_empty(),
        "a position past the end reads bytes"
    );
    ensure!(
        f.seek(-1, abi::seek::SET) == Err(Error::InvalidArgument)
            && f.seek(i64::MIN, abi::seek::END) == Err(Error::InvalidArgument)
            && f.seek(0, 3) == Err(Error::InvalidArgument),
        "a seek before the start or with a bad origin was taken"
    );
    ensure!(
        f.seek(0, abi::seek::CURRENT) == Ok(past as u64),
        "a refused seek moved the position"
    );
    // Names: missing, with directories, empty, NUL, too long.
    let long = "a".repeat(abi::MAX_FILE_NAME as usize + 1);
    for (name, err) in [
        ("no-such-file.wad", Error::NotFound),
        ("boot/m0-module.txt", Error::InvalidArgument),
        ("..\\m0-module.txt", Error::InvalidArgument),
        ("", Error::InvalidArgument),
        ("m0-module.txt\0", Error::InvalidArgument),
        (long.as_str(), Error::InvalidArgument),
    ] {
        let got = OpenFile::open(name, 0).err();
        ensure!(
            got == Some(err),
            "open({:?}) gave {got:?}, not {err:?}",
            &name[..name.len().min(24)]
        );
    }
    for flags in [
        abi::open_flags::WRITE,
        abi::open_flags::WRITE | abi::open_flags::TRUNCATE,
    ] {
        let got = OpenFile::open("/boot/M0-Module.TXT", flags).err();
        ensure!(
            got == Some(Error::AccessDenied),
            "a boot file opened with flags {flags:#x} gave {got:?}"
        );
    }
    Ok(detail!(
        "{MODULE} ({} bytes) opened as M0-Module.TXT, read in two pieces, seeks from the end, back, past the end; bad seeks, 6 bad names and writing refused",
        want.len()
    ))
}

/// The `test=doom` scenario: doom.exe into its demo loop, with the host
/// looking and pressing keys (tests/tests/doom.rs).
pub const DOOM: &[Check] = &[
    Check {
        milestone: "M5",
        name: "doom_without_its_wad_says_so",
        run: doom_without_its_wad_says_so,
    },
    Check {
        milestone: "M5",
        name: "doom_with_a_corrupt_wad_ends",
        run: doom_with_a_corrupt_wad_ends,
    },
    Check {
        milestone: "M5",
        name: "doom_reads_its_wad_from_disk",
        run: doom_reads_its_wad_from_disk,
    },
    Check {
        milestone: "M5",
        name: "doom_starts",
        run: doom_starts,
    },
    Check {
        milestone: "M5",
        name: "doom_draws_frames",
        run: doom_draws_frames,
    },
    Check {
        milestone: "M5",
        name: "doom_takes_keys",
        run: doom_takes_keys,
    },
    Check {
        milestone: "M5",
        name: "doom_quits_on_close",
        run: doom_quits_on_close,
    },
];

/// The `test=timedemo` scenario.
pub const TIMEDEMO: &[Check] = &[Check {
    milestone: "M5",
    name: "doom_timedemo",
    run: doom_timedemo,
}];

/// doom.exe's module name and the WAD it is given.
const DOOM_EXE: &str = "doom.exe";
const IWAD_ARGS: &str = "-iwad freedoom1.wad";
/// The longest a timedemo may take.
const TIMEDEMO_LIMIT_S: u64 = 280;
/// Gametics of freedoom1's DEMO1 (doom.md).
const DEMO1_GAMETICS: u32 = 1531;

/// The engine's start-up lines (d_main.c's `D_DoomMain`), in their order:
/// zone, WAD, machine, refresh, play, sound, net, HUD and status bar.
const START_LINES: &[&str] = &[
    "Z_Init: Init zone memory allocation daemon.",
    "W_Init: Init WADfiles.",
    " adding freedoom1.wad",
    "I_Init: Setting up machine state.",
    "R_Init: Init DOOM refresh daemon",
    "P_Init: Init Playloop state.",
    "S_Init: Setting up sound.",
    "D_CheckNetGame: Checking network game status.",
    "HU_Init: Setting up heads up display.",
    "ST_Init: Init status bar.",
];

/// The doom.exe the DOOM scenario's checks share, from `doom_starts` on.
static RUNNING: crate::sync::SpinLock<Option<(Arc<Thread>, SharedProcess)>> =
    crate::sync::SpinLock::new(None);

use crate::task::{SharedProcess, Thread};
use alloc::string::String;
use alloc::sync::Arc;

fn running() -> Result<(Arc<Thread>, SharedProcess), super::Detail> {
    RUNNING
        .lock()
        .clone()
        .ok_or_else(|| detail!("doom.exe is not running (doom_starts failed)"))
}

fn start(ctx: &Context<'_>, args: &str) -> Result<(Arc<Thread>, SharedProcess), super::Detail> {
    let mut process =
        crate::pe::spawn_program(ctx.info, DOOM_EXE, false).map_err(|e| detail!("{e}"))?;
    process.set_cmdline(args.into());
    // The engine's zone and the WAD's lumps: about 8 MB (doom.md), well
    // within the default commit limit.
    crate::task::spawn(process).map_err(|e| detail!("cannot start doom.exe: {e}"))
}

/// The last `n` bytes of a process's output (on a char boundary), for a
/// failure's detail.
fn tail(output: &str, n: usize) -> String {
    let mut from = output.len().saturating_sub(n);
    while !output.is_char_boundary(from) {
        from += 1;
    }
    output[from..].replace(['\r', '\n'], " | ")
}

/// Where each of `lines` starts in `output`, searched in order: the first
/// one missing, if any.
fn in_order<'a>(output: &str, lines: &[&'a str]) -> Result<(), &'a str> {
    let mut at = 0;
    for line in lines {
        match output[at..].find(line) {
            Some(i) => at += i + line.len(),
            None => return Err(line),
        }
    }
    Ok(())
}

/// Runs doom.exe with `args` until it ends (at most 60 s, then it is
/// terminated): its exit status and output.
fn run_to_end(
    ctx: &Context<'_>,
    args: &str,
) -> Result<(crate::task::ExitStatus, String), super::Detail> {
    let (thread, shared) = start(ctx, args)?;
    let (ended, p, exit) = finish_process(thread, shared, 60)?;
    ensure!(ended, "doom.exe {args} did not end within 60 s");
    let mut output = String::new();
    output
        .try_reserve(p.output().len())
        .map_err(|_| detail!("no memory for the output"))?;
    output.push_str(p.output());
    Ok((exit, output))
}

/// The error line the engine's `I_Error` ends with (the last line of its
/// output that is not empty).
fn last_line(output: &str) -> &str {
    output
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

fn doom_without_its_wad_says_so(ctx: &Context<'_>) -> Outcome {
    let (exit, output) = run_to_end(ctx, "-iwad nosuch.wad")?;
    let said = last_line(&output);
    ensure!(
        exit.code == u32::MAX && exit.fault.is_none(),
        "doom.exe {exit} without its WAD: ... {}",
        tail(&output, 200)
    );
    ensure!(
        said.contains("nosuch.wad") && said.contains("not found"),
        "its last words do not name the missing WAD: '{said}'"
    );
    Ok(detail!("'{said}', then exit(-1)"))
}

fn doom_with_a_corrupt_wad_ends(ctx: &Context<'_>) -> Outcome {
    let (exit, output) = run_to_end(ctx, "-iwad corrupt.wad")?;
    let said = last_line(&output);
    ensure!(
        exit.code == u32::MAX && exit.fault.is_none(),
        "doom.exe {exit} on a corrupt WAD: ... {}",
        tail(&output, 200)
    );
    // The kernel carries on: the same boot goes on to run the real WAD.
    Ok(detail!("the engine's own error: '{said}', then exit(-1)"))
}

/// The WAD on the data disk the host attaches to the DOOM boot
/// (tests/src/doom.rs), as `make qemu`'s disk has it.
const DISK_WAD: &str = "/disk/DATA/freedoom1.wad";

/// doom.exe given [`DISK_WAD`] reads it through the C runtime, the FAT
/// volume and virtio-blk, and gets as far as building its refresh tables
/// from the lumps; then the check ends it.
fn doom_reads_its_wad_from_disk(ctx: &Context<'_>) -> Outcome {
    let (thread, shared) = start(ctx, &alloc::format!("-iwad {DISK_WAD}"))?;
    let t0 = crate::time::now_ns();
    let adding = alloc::format!(" adding {DISK_WAD}");
    let lines = [
        START_LINES[1],
        adding.as_str(),
        START_LINES[4],
        START_LINES[5],
    ];
    let mut missing = lines[0];
    let read = wait_for(120, || {
        let p = shared.lock();
        match in_order(p.output(), &lines) {
            Ok(()) => true,
            Err(line) => {
                missing = line;
                p.exit_status().is_some()
            }
        }
    });
    let ms = (crate::time::now_ns() - t0) / 1_000_000;
    let (output, exit) = {
        let p = shared.lock();
        (tail(p.output(), 300), p.exit_status())
    };
    crate::task::terminate(&shared, 0);
    let (_, _, _) = finish_process(thread, shared, 10)?;
    ensure!(
        read && exit.is_none(),
        "doom.exe -iwad {DISK_WAD}: no '{missing}' ({}): ... {output}",
        exit.map_or_else(|| String::from("still running"), |e| alloc::format!("{e}"))
    );
    Ok(detail!(
        "doom.exe -iwad {DISK_WAD} loaded the WAD from the disk and initialised its renderer and play loop in {ms} ms; ended by the check"
    ))
}

fn doom_starts(ctx: &Context<'_>) -> Outcome {
    let (thread, shared) = start(ctx, IWAD_ARGS)?;
    let t0 = crate::time::now_ns();
    *RUNNING.lock() = Some((thread, shared.clone()));
    let mut missing = START_LINES[0];
    let started = wait_for(120, || {
        let p = shared.lock();
        match in_order(p.output(), START_LINES) {
            Ok(()) => true,
            Err(line) => {
                missing = line;
                p.exit_status().is_some()
            }
        }
    });
    let p = shared.lock();
    if let Some(exit) = p.exit_status() {
        return Err(detail!(
            "doom.exe ended ({exit}) before '{missing}': ... {}",
            tail(p.output(), 300)
        ));
    }
    ensure!(
        started,
        "no '{missing}' after 120 s: ... {}",
        tail(p.output(), 300)
    );
    let images = p.images().len();
    Ok(detail!(
        "doom.exe with runtime.dll ({images} images) read freedoom1.wad and printed its {} start-up lines in order in {} ms",
        START_LINES.len(),
        (crate::time::now_ns() - t0) / 1_000_000
    ))
}

/// Frames the check waits for before it tells the host to look.
const FIRST_FRAMES: u64 = 10;

fn doom_draws_frames(_: &Context<'_>) -> Outcome {
    let (_, shared) = running()?;
    let pid = shared.lock().id();
    let t0 = crate::time::now_ns();
    let f0 = crate::window::activity_of(pid).map_or(0, |a| a.frames);
    let drawn = wait_for(60, || {
        crate::window::activity_of(pid).is_some_and(|a| a.frames >= f0 + FIRST_FRAMES)
            || shared.lock().exit_status().is_some()
    });
    let ms = (crate::time::now_ns() - t0) / 1_000_000;
    let frames = crate::window::activity_of(pid).map_or(0, |a| a.frames);
    if let Some(exit) = shared.lock().exit_status() {
        return Err(detail!("doom.exe ended ({exit}) after {frames} frame(s)"));
    }
    ensure!(
        drawn,
        "{frames} frame(s) in 60 s (a window: {})",
        crate::window::activity_of(pid).is_some()
    );
    // The host takes its title screendump now, then presses Escape.
    super::raw_line(format_args!("STEP doom_title\n"));
    Ok(detail!(
        "doom.exe's window has {frames} frame(s); {FIRST_FRAMES} came in {ms} ms"
    ))
}

fn doom_takes_keys(_: &Context<'_>) -> Outcome {
    let (_, shared) = running()?;
    let pid = shared.lock().id();
    let before = crate::window::activity_of(pid).unwrap_or_default();
    // Escape down and up, both taken off the queue by the engine.
    let taken = wait_for(60, || {
        crate::window::activity_of(pid)
            .is_some_and(|a| a.posted >= before.posted + 2 && a.taken >= a.posted)
            || shared.lock().exit_status().is_some()
    });
    let now = crate::window::activity_of(pid).unwrap_or_default();
    if let Some(exit) = shared.lock().exit_status() {
        return Err(detail!("doom.exe ended ({exit}) waiting for keys"));
    }
    ensure!(
        taken,
        "in 60 s {} message(s) came and the engine took {} of {}",
        now.posted - before.posted,
        now.taken,
        now.posted
    );
    // Room for the engine to draw its menu, then the host looks again.
    let _ = crate::task::sched::sleep_ns(700_000_000);
    super::raw_line(format_args!("STEP doom_menu\n"));
    Ok(detail!(
        "{} key message(s) from the host reached doom.exe's window and the engine took them all ({} frames so far)",
        now.posted - before.posted,
        now.frames
    ))
}

fn doom_quits_on_close(_: &Context<'_>) -> Outcome {
    let (thread, shared) = running()?;
    *RUNNING.lock() = None;
    // The host sends Alt+F4: WM_CLOSE, then the engine's own quit.
    let (ended, p, exit) = finish_process(thread, shared, 60)?;
    ensure!(
        ended,
        "doom.exe did not end within 60 s of Alt+F4 (terminated)"
    );
    ensure!(
        exit.code == 0 && exit.fault.is_none(),
        "doom.exe {exit}: ... {}",
        tail(p.output(), 300)
    );
    ensure!(
        crate::window::activity_of(p.id()).is_none(),
        "its window outlived it"
    );
    Ok(detail!(
        "Alt+F4 ended doom.exe through the engine's quit: {exit}"
    ))
}

/// The engine's `timed N gametics in M realtics (F fps)` line.
fn timed_line(output: &str) -> Option<(u32, u32, &str)> {
    let rest = &output[output.find("timed ")? + 6..];
    let mut words = rest.split_whitespace();
    let gametics = words.next()?.parse().ok()?;
    (words.next()? == "gametics" && words.next()? == "in").then_some(())?;
    let realtics = words.next()?.parse().ok()?;
    (words.next()? == "realtics").then_some(())?;
    let fps = words.next()?.strip_prefix('(')?;
    Some((gametics, realtics, fps))
}

fn doom_timedemo(ctx: &Context<'_>) -> Outcome {
    // At 1x, as the Linux peer copies its frame (docs/benchmarks.md, id 19).
    let args = alloc::format!("{IWAD_ARGS} -timedemo demo1 -nogui -scale 1");
    let (thread, shared) = start(ctx, &args)?;
    let t0 = crate::arch::cpu::rdtsc();
    // Minutes under -icount (make bench ICOUNT=1); the host's time limit
    // is longer.
    let (ended, p, exit) = finish_process(thread, shared, TIMEDEMO_LIMIT_S)?;
    let tsc = crate::arch::cpu::rdtsc() - t0;
    ensure!(
        ended,
        "the timedemo did not end within {TIMEDEMO_LIMIT_S} s"
    );
    let (gametics, realtics, fps) = timed_line(p.output()).ok_or_else(|| {
        detail!(
            "no 'timed N gametics' line ({exit}): ... {}",
            tail(p.output(), 300)
        )
    })?;
    // The engine ends a timedemo with exit(-1) (doom.md).
    ensure!(
        exit.code == u32::MAX && exit.fault.is_none(),
        "doom.exe {exit} after the timedemo, not exit(-1)"
    );
    ensure!(
        gametics == DEMO1_GAMETICS && realtics > 0,
        "timed {gametics} gametics in {realtics} realtics, not {DEMO1_GAMETICS} gametics"
    );
    let fps_value: f64 = fps.parse().unwrap_or(0.0);
    // The engine's own figure (frames per second of its 35 Hz clock), in
    // the form docs/benchmarks.md gives for id 19.
    super::raw_line(format_args!(
        "BENCH name=doom_timedemo gametics={gametics} realtics={realtics} fps={fps_value:.2}\n"
    ));
    let hz = crate::arch::tsc::frequency().max(1) as f64;
    Ok(detail!(
        "freedoom1 demo1: timed {gametics} gametics in {realtics} realtics ({fps} fps); the run took {} ms; {exit}",
        (tsc as f64 * 1000.0 / hz) as u64
    ))
}

/// A boot file's next bytes (a disk file gives none).
fn boot_peek(f: &OpenFile, max: u64) -> (&'static [u8], u64) {
    f.peek(max).unwrap_or((&[], 0))
}
