//! Bugchecks, each its own boot: the kernel stops on purpose and its
//! serial log must show the call stack — function names from the kernel's
//! DWARF, in order, at lines that lie inside those functions in the
//! source — then the registers, then the fatal exit.
//!
//! The scenarios are in kernel/src/milestones/bugcheck.rs.

use ferrite_tests::call_stack::{self, expect_in_order};
use ferrite_tests::qemu::{Ending, Run, EXIT_FATAL};
use ferrite_tests::suite;
use ferrite_tests::transcript;

const SCENARIOS: &str = "kernel/src/milestones/bugcheck.rs";
const MODULE: &str = "ferrite_kernel::milestones::bugcheck";

fn boot(kind: &str) -> Run {
    suite::boot_scenario(&format!("bugcheck_{kind}"))
        .unwrap_or_else(|e| panic!("could not boot: {e}"))
}

/// The panic line of every scenario (its message follows on the next).
const PANIC_LINE: &str = "KERNEL PANIC: panicked at kernel/src/milestones/bugcheck.rs";

/// The run stopped as a bugcheck does: a panic in the scenarios' file
/// with `message`, the needles, the arena line, and the fatal exit.
fn expect_stop(run: &Run, needles: &[(&str, &str)], message: &str) {
    let mut all = vec![
        (message, "not the scenario's panic"),
        ("call stack (innermost first):", "no call stack"),
        (
            "bugcheck: symbol lookups used",
            "the bugcheck did not finish",
        ),
    ];
    all.extend_from_slice(needles);
    if let Err(report) = transcript::expect_lines_allowing_fatal(
        run,
        &all,
        &[PANIC_LINE],
        Ending::Exited(EXIT_FATAL),
    ) {
        panic!("{report}");
    }
}

fn path(function: &str) -> String {
    format!("{MODULE}::{function}")
}

#[test]
fn a_panic_three_calls_deep_names_the_three_functions() {
    let run = boot("panic");
    expect_stop(
        &run,
        &[("registers at the panic:", "no registers")],
        "deliberate panic three calls deep",
    );
    let frames = call_stack::frames(&run.serial);
    let expected = [path("depth_three"), path("depth_two"), path("depth_one")];
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    if let Err(e) = expect_in_order(&frames, SCENARIOS, &expected) {
        panic!("{e}\n{}", call_stack::block(&run.serial).join("\n"));
    }
    // The walk goes on below the scenario, to the milestone runner, and
    // ends in the assembly entry, which has no DWARF: the ELF symbol
    // table names it.
    let block = call_stack::block(&run.serial);
    assert!(
        frames
            .iter()
            .any(|f| f.function == "ferrite_kernel::milestones::run"),
        "the walk stopped early:\n{}",
        block.join("\n")
    );
    assert!(
        block.last().is_some_and(|l| l.contains(" kernel_entry+0x")),
        "the outermost frame is not named from the symbol table:\n{}",
        block.join("\n")
    );
}

#[test]
fn a_panic_in_an_interrupt_handler_shows_the_interrupted_code() {
    let run = boot("irq");
    expect_stop(
        &run,
        &[],
        "deliberate panic in the handler of interrupt vector",
    );
    let frames = call_stack::frames(&run.serial);
    let handler = path("interrupt_handler");
    let interrupted = path("panic_in_interrupt");
    if let Err(e) = expect_in_order(&frames, SCENARIOS, &[&handler, &interrupted]) {
        panic!("{e}\n{}", call_stack::block(&run.serial).join("\n"));
    }
    let block = call_stack::block(&run.serial);
    let marker = block
        .iter()
        .position(|l| l.contains("-- interrupt, vector"));
    let below = block.iter().position(|l| l.contains("panic_in_interrupt"));
    assert!(
        matches!((marker, below), (Some(m), Some(b)) if m < b),
        "no interrupt marker between the handler and the interrupted code:\n{}",
        block.join("\n")
    );
}

#[test]
fn a_panic_in_a_system_call_ends_at_the_user_rip() {
    let run = boot("syscall");
    expect_stop(
        &run,
        &[],
        "deliberate panic inside the DEBUG_WRITE system call",
    );
    let frames = call_stack::frames(&run.serial);
    let hook = path("panic_in_debug_write");
    if let Err(e) = expect_in_order(&frames, SCENARIOS, &[&hook]) {
        panic!("{e}\n{}", call_stack::block(&run.serial).join("\n"));
    }
    let block = call_stack::block(&run.serial);
    let dispatcher = block
        .iter()
        .position(|l| l.contains("ferrite_kernel::syscall::dispatch"));
    let entry = block.iter().position(|l| l.contains("-- system call "));
    let user = block
        .iter()
        .position(|l| l.contains("user mode: RIP 0x0000000"));
    assert!(
        matches!((dispatcher, entry, user), (Some(d), Some(e), Some(u)) if d < e && e < u),
        "the stack should go from the dispatcher to the SYSCALL entry to a user RIP:\n{}",
        block.join("\n")
    );
}

#[test]
fn a_panic_inside_the_bugcheck_stops_the_machine() {
    let run = boot("nested");
    let needles = [
        (
            "BUGCHECK: a panic (at kernel/src/milestones/bugcheck.rs:",
            "the second panic was not caught",
        ),
        (
            "inside the bugcheck; stopping",
            "the second panic was not caught",
        ),
    ];
    if let Err(report) = transcript::expect_lines_allowing_fatal(
        &run,
        &needles,
        &[PANIC_LINE],
        Ending::Exited(EXIT_FATAL),
    ) {
        panic!("{report}");
    }
}
