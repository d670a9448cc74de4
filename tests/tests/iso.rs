//! `make iso` builds an ISO that boots (as a CD on OVMF) to the banner and
//! into its init program, and powers off by itself when that has exited:
//! - by default DOOM: the host looks at its title page, opens its menu
//!   with Escape and quits it with Alt+F4 through QMP;
//! - with `INIT=paint.exe`: the host draws and types into paint.exe.

use ferrite_tests::qemu::{self, Boot, Ending, GuestStop, Medium, Run};
use ferrite_tests::qmp::{Action, Step};
use ferrite_tests::{transcript, wad, workspace_root};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// `make iso` writes one staging folder and one ISO: one build at a time.
static ONE_ISO_AT_A_TIME: Mutex<()> = Mutex::new(());

fn make_iso_and_boot(make_args: &[&str], name: &str, script: &[Step<'_>]) -> Run {
    let _turn = ONE_ISO_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let root = workspace_root();
    let status = Command::new("make")
        .arg("iso")
        .args(make_args)
        .current_dir(&root)
        .status()
        .expect("cannot run make");
    assert!(
        status.success(),
        "make iso {make_args:?} failed with {status}"
    );
    let iso = root.join("target/ferrite.iso");
    assert!(iso.exists(), "make iso did not produce {}", iso.display());
    qemu::boot(&Boot {
        medium: Medium::Cdrom(&iso),
        timeout: Duration::from_secs(300),
        stop_on: None,
        name,
        extra_args: &[],
        script,
    })
    .unwrap_or_else(|e| panic!("could not boot the ISO: {e}"))
}

fn expect_power_off(run: &Run) {
    match qemu::guest_stop(run) {
        Ok(GuestStop::PowerOff) => {}
        other => panic!(
            "{}",
            transcript::failure(run, &[format!("expected an ACPI power-off, got {other:?}")])
        ),
    }
}

const BOOT_NEEDLES: [(&str, &str); 5] = [
    ("Ferrite ", "no banner"),
    ("loader: ", "no loader log"),
    ("HHDM offset", "no HHDM line in the banner"),
    ("memory map:", "no memory map summary"),
    ("framebuffer: ", "no framebuffer line"),
];

/// What the host does to DOOM: once it has its window, a second and a half
/// for the title page, a look, Escape, a second for the menu, a look,
/// Alt+F4.
const DOOM_SCRIPT: &[Step<'static>] = &[Step {
    when: "doom: window title",
    actions: &[
        Action::Pause(Duration::from_millis(1500)),
        Action::Screendump("iso-doom-title.ppm"),
        Action::Keys(&["esc"]),
        Action::Pause(Duration::from_millis(1000)),
        Action::Screendump("iso-doom-menu.ppm"),
        Action::Keys(&["alt-f4"]),
    ],
}];

#[test]
fn make_iso_boots_into_doom() {
    let run = make_iso_and_boot(&[], "iso", DOOM_SCRIPT);
    let mut needles = BOOT_NEEDLES.to_vec();
    needles.extend([
        (
            "init: starting doom.exe -iwad freedoom1.wad",
            "init is not doom.exe with its WAD",
        ),
        (" adding freedoom1.wad", "DOOM did not read its WAD"),
        ("doom: window title", "DOOM has no window"),
        (
            "'doom.exe' exited with code 0",
            "Alt+F4 did not end doom.exe with 0",
        ),
        (
            "power: init exited; powering off (on_init_exit=poweroff)",
            "the kernel did not power off after DOOM",
        ),
    ]);
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Exited(0)) {
        panic!("{report}");
    }
    let wad = wad::wad_path().expect("freedoom1.wad (make deps)");
    let dir = ferrite_tests::images::scratch_dir();
    if let Err(e) = wad::check_title(&dir.join("iso-doom-title.ppm"), &wad) {
        panic!("the ISO's DOOM does not show its title page: {e}");
    }
    if let Err(e) = wad::check_menu(&dir.join("iso-doom-menu.ppm"), &wad) {
        panic!("Escape did not open DOOM's menu on the ISO: {e}");
    }
    expect_power_off(&run);
}

#[test]
fn make_iso_with_init_paint_boots_into_paint() {
    let run = make_iso_and_boot(
        &["INIT=paint.exe"],
        "iso-paint",
        ferrite_tests::paint_script!("iso-paint.ppm"),
    );
    let mut needles = BOOT_NEEDLES.to_vec();
    needles.extend([
        ("paint: ready", "paint.exe did not start"),
        ("paint: typed 'h'", "paint.exe did not get the h"),
        ("paint: typed 'i'", "paint.exe did not get the i"),
        ("paint: bye", "Alt+F4 (WM_CLOSE) did not end paint.exe"),
        (
            "'paint.exe' exited with code 0",
            "paint.exe did not exit with 0",
        ),
        (
            "power: init exited; powering off (on_init_exit=poweroff)",
            "the kernel did not power off after init",
        ),
    ]);
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Exited(0)) {
        panic!("{report}");
    }
    let ppm = ferrite_tests::images::scratch_dir().join("iso-paint.ppm");
    let image = ferrite_tests::qmp::Image::load(&ppm)
        .unwrap_or_else(|e| panic!("no screendump {}: {e}", ppm.display()));
    if let Err(e) = ferrite_tests::paint::strokes_visible(&image, 50) {
        panic!("paint.exe's window does not show the strokes: {e}");
    }
    expect_power_off(&run);
}
