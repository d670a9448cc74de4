//! Boots the milestone kernel once through our loader and judges each
//! milestone's checks in the serial report.

use ferrite_tests::images::{self, KernelFlavor, Volume};
use ferrite_tests::qemu::{self, Boot, Run};
use ferrite_tests::{expected, transcript};
use std::sync::OnceLock;
use std::time::Duration;

/// The M0 test module: the kernel's `modules` check looks for this string
/// and these contents.
const M0_MODULE: (&str, &str) = ("boot/m0-module.txt", "m0-test-module");
const M0_MODULE_TEXT: &[u8] = b"Ferrite M0 test module\nThe kernel reads this file through the module response.\n";

fn boot_timeout() -> Duration {
    let secs = std::env::var("FERRITE_BOOT_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    Duration::from_secs(secs)
}

fn boot_suite() -> Result<Run, String> {
    let kernel = images::build_kernel(KernelFlavor::Milestones)?;
    let loader = images::build_loader()?;
    let config = images::limine_conf("test=suite", &[M0_MODULE]);
    let image = images::scratch_dir().join("suite.img");
    Volume::new(&loader, &kernel, &config)?
        .with_file(M0_MODULE.0, M0_MODULE_TEXT)
        .write(&image)?;
    qemu::boot(&Boot { image: &image, cdrom: false, timeout: boot_timeout(), stop_on: None, name: "suite" })
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
    if let Err(report) = transcript::judge_milestone(suite(), "M2", expected::M2) {
        panic!("M2 failed:\n{report}");
    }
}

#[test]
fn benchmarks_are_reported() {
    if let Err(report) = transcript::judge_benches(suite(), expected::BENCHES) {
        panic!("benchmarks missing:\n{report}");
    }
}

#[test]
fn suite_passes_and_exits_cleanly() {
    if let Err(report) = transcript::judge_suite(suite()) {
        panic!("milestone suite failed:\n{report}");
    }
}
