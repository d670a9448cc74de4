//! The bounded system-call fuzz as its own boot (`test=fuzz`): fuzz.exe
//! makes 200000 calls with random and hostile arguments from four
//! threads; the kernel must not panic, hang or leak.

use ferrite_tests::{expected, suite, transcript};

#[test]
fn syscall_fuzz_survives_and_leaks_nothing() {
    let run = suite::boot_scenario("fuzz")
        .unwrap_or_else(|e| panic!("could not boot the fuzz scenario: {e}"));
    if let Err(report) = transcript::judge_milestone(&run, "FUZZ", expected::FUZZ) {
        panic!("fuzz scenario failed:\n{report}");
    }
}
