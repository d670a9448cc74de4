//! A separate boot: the kernel overflows its boot stack on purpose; the
//! double fault must land on its IST stack and print its analysis instead of
//! resetting the machine, with the call stack of the overflowed stack: the
//! recursing function, its repeats counted, and the scenario below it.

use ferrite_tests::call_stack::{self, expect_in_order};
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
            script: &[],
        })
    })()
    .unwrap_or_else(|e| panic!("could not boot: {e}"));

    let needles = [
        (
            "overflowing the boot stack on purpose",
            "the scenario never started",
        ),
        (
            "EXCEPTION #DF double fault (vector 8) in kernel mode",
            "no double-fault analysis",
        ),
        (
            "diagnosis: kernel stack overflow: the boot stack ran into its guard page",
            "the analysis does not name the stack overflow",
        ),
        ("call stack (innermost first):", "no call stack"),
        (
            "the frame above repeated",
            "the recursion is not summarised",
        ),
        ("  R13 ", "the register dump is incomplete"),
        (" R15 ", "the register dump is incomplete"),
        ("FATAL: kernel stopped", "no FATAL line"),
    ];
    let expected_fatal = ["FATAL: kernel stopped after an unrecoverable exception"];
    let result = transcript::expect_lines_allowing_fatal(
        &run,
        &needles,
        &expected_fatal,
        Ending::Exited(EXIT_FATAL),
    );
    if let Err(report) = result {
        panic!("{report}");
    }
    let frames = call_stack::frames(&run.serial);
    let expected = [
        "ferrite_kernel::milestones::m0::recurse",
        "ferrite_kernel::milestones::m0::overflow_the_stack",
    ];
    if let Err(e) = expect_in_order(&frames, "kernel/src/milestones/m0.rs", &expected) {
        panic!("{e}\n{}", call_stack::block(&run.serial).join("\n"));
    }
}
