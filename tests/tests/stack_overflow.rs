//! A separate boot: the kernel overflows its boot stack on purpose; the
//! double fault must land on its IST stack and print its analysis instead of
//! resetting the machine.

use ferrite_tests::images::{self, KernelFlavor, Volume};
use ferrite_tests::qemu::{self, Boot, Ending, Medium, EXIT_FATAL};
use ferrite_tests::transcript;
use std::time::Duration;

#[test]
fn stack_overflow_is_reported_by_the_double_fault_handler() {
    let run = (|| {
        let kernel = images::build_kernel(KernelFlavor::Milestones)?;
        let loader = images::build_loader()?;
        let config = images::limine_conf("test=stack_overflow", &[]);
        let image = images::scratch_dir().join("stack-overflow.img");
        Volume::new(&loader, &kernel, &config)?.write(&image)?;
        qemu::boot(&Boot {
            medium: Medium::Disk(&image),
            timeout: Duration::from_secs(300),
            stop_on: None,
            name: "stack-overflow",
            extra_args: &[],
        })
    })()
    .unwrap_or_else(|e| panic!("could not boot: {e}"));

    let text = transcript::clean(&run.serial);
    let mut problems = Vec::new();
    if !text.contains("overflowing the boot stack on purpose") {
        problems.push("the scenario never started".to_string());
    }
    if !text.contains("EXCEPTION #DF double fault (vector 8) in kernel mode") {
        problems.push("no double-fault analysis".to_string());
    }
    if !text.contains("diagnosis: kernel stack overflow: the boot stack ran into its guard page") {
        problems.push("the analysis does not name the stack overflow".to_string());
    }
    if !text.contains("  R13 ") || !text.contains(" R15 ") {
        problems.push("the register dump is incomplete".to_string());
    }
    if !text.contains("FATAL: kernel stopped") {
        problems.push("no FATAL line".to_string());
    }
    if run.ending != Ending::Exited(EXIT_FATAL) {
        problems.push(format!(
            "QEMU ending {:?}, expected the fatal exit status {EXIT_FATAL}",
            run.ending
        ));
    }
    if !problems.is_empty() {
        panic!("{}", transcript::failure(&run, &problems));
    }
}
