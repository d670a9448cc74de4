//! M5: DOOM. Two boots of the milestone kernel with doom.exe, runtime.dll
//! and freedoom1.wad:
//! - `test=doom`: the engine loads its WAD from a virtio disk (a FAT32
//!   volume the host made), then starts from the boot module (its
//!   start-up lines, in order), draws
//!   the title page (a screendump compared with TITLEPIC rendered from the
//!   WAD), opens its menu on Escape (the menu's patches on the next
//!   screendump) and quits on Alt+F4;
//! - `test=timedemo`: `-timedemo demo1 -nogui` runs to the end, its
//!   `timed 1531 gametics` line is checked and reported as a BENCH line.

use ferrite_tests::qemu::{self, Boot, Medium, Run};
use ferrite_tests::{doom, doom_timing, expected, suite, transcript, wad};
use std::sync::{Mutex, OnceLock};

/// One DOOM boot at a time (each keeps a vCPU busy for its whole run).
static ONE_BOOT_AT_A_TIME: Mutex<()> = Mutex::new(());

fn boot(
    scenario: &'static str,
    script: &'static [ferrite_tests::qmp::script::Step<'static>],
) -> Result<Run, String> {
    let _turn = ONE_BOOT_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let image = doom::build_image(scenario)?;
    // The DOOM boot also loads the WAD from a disk.
    let disk_args = if scenario == "doom" {
        ferrite_tests::disk::virtio_args(&doom::data_disk(scenario)?)
    } else {
        Vec::new()
    };
    let extra: Vec<&str> = disk_args.iter().map(String::as_str).collect();
    qemu::boot(&Boot {
        medium: Medium::Disk(&image),
        timeout: suite::boot_timeout(),
        stop_on: None,
        name: scenario,
        extra_args: &extra,
        script,
    })
}

fn doom_run() -> &'static Run {
    static RUN: OnceLock<Result<Run, String>> = OnceLock::new();
    match RUN.get_or_init(|| boot("doom", doom::DOOM_SCRIPT)) {
        Ok(run) => run,
        Err(e) => panic!("could not boot the DOOM scenario: {e}"),
    }
}

#[test]
fn doom_starts_draws_takes_keys_and_quits() {
    let run = doom_run();
    if let Err(report) = transcript::judge_milestone(run, "M5", expected::M5_DOOM) {
        panic!("M5 (DOOM) failed:\n{report}");
    }
    if let Err(report) = transcript::judge_suite(run) {
        panic!("the DOOM boot did not end cleanly:\n{report}");
    }
}

fn screendump(name: &str) -> std::path::PathBuf {
    ferrite_tests::images::scratch_dir().join(name)
}

#[test]
fn the_screen_shows_doom_s_title_page() {
    let _ = doom_run();
    let wad = wad::wad_path().expect("freedoom1.wad (make deps)");
    match wad::check_title(&screendump(doom::TITLE_PPM), &wad) {
        Ok(summary) => println!("title: {summary}"),
        Err(e) => panic!("the title screendump is not DOOM's title page: {e}"),
    }
}

#[test]
fn escape_opens_doom_s_menu() {
    let _ = doom_run();
    let wad = wad::wad_path().expect("freedoom1.wad (make deps)");
    match wad::check_menu(&screendump(doom::MENU_PPM), &wad) {
        Ok(summary) => println!("menu: {summary}"),
        Err(e) => panic!("the menu screendump does not show DOOM's menu: {e}"),
    }
}

#[test]
fn timedemo_demo1_runs_to_its_end() {
    let run = boot("timedemo", &[]).unwrap_or_else(|e| panic!("could not boot the timedemo: {e}"));
    if let Err(report) = transcript::judge_milestone(&run, "M5", expected::M5_TIMEDEMO) {
        panic!("M5 (timedemo) failed:\n{report}");
    }
    if let Err(report) = transcript::judge_suite(&run) {
        panic!("the timedemo boot did not end cleanly:\n{report}");
    }
    // The kernel's BENCH line carries the engine's figures (id 19 of
    // docs/benchmarks.md), which must be those of its `timed` line.
    let text = transcript::clean(&run.serial);
    let engine = doom_timing::parse_timed_line(&text).expect("no `timed` line");
    let bench: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("BENCH name=doom_timedemo "))
        .collect();
    assert_eq!(
        bench,
        [engine.bench_line().as_str()],
        "the BENCH line does not repeat the engine's figures"
    );
    assert_eq!(engine.gametics, doom_timing::FREEDOOM1_DEMO1_GAMETICS);
    println!("ferrite: {}", engine.bench_line());
}
