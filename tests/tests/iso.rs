//! `make iso` builds an ISO that boots to the banner (as a CD on OVMF).

use ferrite_tests::qemu::{self, Boot, Ending, Medium};
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
        stop_on: Some("boot complete; idle"),
        name: "iso",
        extra_args: &[],
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
        ("boot complete; idle", "the kernel did not reach idle"),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Stopped) {
        panic!("{report}");
    }
}
