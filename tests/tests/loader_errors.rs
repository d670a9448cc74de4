//! Our loader meets bad input with a clear message on serial (and screen),
//! never a hang or a silent reset: missing kernel, bad config line, missing
//! module, malformed ELF.

use ferrite_tests::images::{self, KernelFlavor, Volume};
use ferrite_tests::qemu::{self, Boot, Medium};
use ferrite_tests::transcript;
use std::path::PathBuf;
use std::time::Duration;

const ERROR_PREFIX: &str = "loader: error: ";

fn parts() -> (PathBuf, PathBuf) {
    let kernel = images::build_kernel(KernelFlavor::Milestones).unwrap_or_else(|e| panic!("{e}"));
    let loader = images::build_loader().unwrap_or_else(|e| panic!("{e}"));
    (loader, kernel)
}

/// Boots `volume` until the loader reports an error, and checks that the
/// error line mentions every one of `needles`.
fn expect_error(name: &str, volume: Volume, needles: &[&str]) {
    let image = images::scratch_dir().join(format!("{name}.img"));
    volume.write(&image).unwrap_or_else(|e| panic!("{e}"));
    let run = qemu::boot(&Boot {
        medium: Medium::Disk(&image),
        timeout: Duration::from_secs(240),
        stop_on: Some(ERROR_PREFIX),
        name,
        extra_args: &[],
        script: &[],
    })
    .unwrap_or_else(|e| panic!("could not boot: {e}"));
    let text = transcript::clean(&run.serial);
    let line = text.lines().find(|l| l.contains(ERROR_PREFIX));
    let mut problems = Vec::new();
    match line {
        None => problems.push(format!("no `{ERROR_PREFIX}` line")),
        Some(line) => {
            for needle in needles {
                if !line.contains(needle) {
                    problems.push(format!("error line does not mention '{needle}': {line}"));
                }
            }
        }
    }
    if text.contains("jumping to kernel") {
        problems.push("the loader jumped to the kernel anyway".into());
    }
    if !problems.is_empty() {
        panic!("{}", transcript::failure(&run, &problems));
    }
}

#[test]
fn missing_kernel_is_reported() {
    let (loader, kernel) = parts();
    let volume = Volume::new(&loader, &kernel, &images::limine_conf("", &[]))
        .unwrap()
        .without_file("boot/kernel.elf");
    expect_error("loader-missing-kernel", volume, &["/boot/kernel.elf"]);
}

#[test]
fn bad_config_line_is_reported_with_its_number() {
    let (loader, kernel) = parts();
    let config = images::limine_conf("", &[]).replace(
        "    protocol: limine\n",
        "    protocol: limine\nthis line has no colon\n",
    );
    let volume = Volume::new(&loader, &kernel, &config).unwrap();
    expect_error("loader-bad-config", volume, &["line 6"]);
}

#[test]
fn missing_module_is_reported() {
    let (loader, kernel) = parts();
    let config = images::limine_conf("", &[("boot/not-there.bin", "ghost")]);
    let volume = Volume::new(&loader, &kernel, &config).unwrap();
    expect_error("loader-missing-module", volume, &["/boot/not-there.bin"]);
}

#[test]
fn malformed_kernel_elf_is_reported() {
    let (loader, kernel) = parts();
    let mut elf = std::fs::read(&kernel).unwrap();
    elf.truncate(100); // cut inside the program header table
    let volume = Volume::new(&loader, &kernel, &images::limine_conf("", &[]))
        .unwrap()
        .with_file("boot/kernel.elf", elf);
    expect_error("loader-bad-elf", volume, &["ELF"]);
}
