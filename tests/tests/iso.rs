//! `make iso` builds an ISO that boots to the banner (as a CD on OVMF),
//! runs hello.exe and powers off by itself when it has exited.

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
        script: &[],
    })
    .unwrap_or_else(|e| panic!("could not boot the ISO: {e}"));
    let needles = [
        ("Ferrite ", "no banner"),
        ("loader: ", "no loader log"),
        ("HHDM offset", "no HHDM line in the banner"),
        ("memory map:", "no memory map summary"),
        ("framebuffer: ", "no framebuffer line"),
        ("Hello from hello.exe", "hello.exe printed nothing"),
        (
            "'hello.exe' exited with code 0",
            "hello.exe did not exit with 0",
        ),
        (
            "power: init exited; powering off (on_init_exit=poweroff)",
            "the kernel did not power off after init",
        ),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Exited(0)) {
        panic!("{report}");
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
