//! `make iso` builds an ISO that boots to the banner (as a CD on OVMF),
//! runs paint.exe (the demo), which the host draws and types into through
//! QMP, and powers off by itself when it has exited.

use ferrite_tests::qemu::{self, Boot, Ending, GuestStop, Medium};
use ferrite_tests::{transcript, workspace_root};
use std::process::Command;
use std::time::Duration;

#[test]
fn make_iso_boots_to_the_banner() {
    let root = workspace_root();
    let status = Command::new("make")
        .arg("iso")
        .current_dir(&root)
        .status()
        .expect("cannot run make");
    assert!(status.success(), "make iso failed with {status}");
    let iso = root.join("target/ferrite.iso");
    assert!(iso.exists(), "make iso did not produce {}", iso.display());

    let run = qemu::boot(&Boot {
        medium: Medium::Cdrom(&iso),
        timeout: Duration::from_secs(300),
        stop_on: None,
        name: "iso",
        extra_args: &[],
        script: ferrite_tests::paint_script!("iso-paint.ppm"),
    })
    .unwrap_or_else(|e| panic!("could not boot the ISO: {e}"));
    let needles = [
        ("Ferrite ", "no banner"),
        ("loader: ", "no loader log"),
        ("HHDM offset", "no HHDM line in the banner"),
        ("memory map:", "no memory map summary"),
        ("framebuffer: ", "no framebuffer line"),
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
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Exited(0)) {
        panic!("{report}");
    }
    let ppm = ferrite_tests::images::scratch_dir().join("iso-paint.ppm");
    let image = ferrite_tests::qmp::Image::load(&ppm)
        .unwrap_or_else(|e| panic!("no screendump {}: {e}", ppm.display()));
    if let Err(e) = ferrite_tests::paint::strokes_visible(&image, 50) {
        panic!("paint.exe's window does not show the strokes: {e}");
    }
    match qemu::guest_stop(&run) {
        Ok(GuestStop::PowerOff) => {}
        other => panic!(
            "{}",
            transcript::failure(
                &run,
                &[format!("expected an ACPI power-off, got {other:?}")]
            )
        ),
    }
}
