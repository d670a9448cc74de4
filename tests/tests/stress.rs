//! The stress scenario as its own boot: many processes and threads at
//! random under preemption for a bounded time; no panic, no hang, no leak.

use ferrite_tests::{suite, transcript};

#[test]
fn stress_survives_and_leaks_nothing() {
    let run = suite::boot_scenario("stress")
        .unwrap_or_else(|e| panic!("could not boot the stress scenario: {e}"));
    if let Err(report) =
        transcript::judge_milestone(&run, "M3", &["stress_survives_and_leaks_nothing"])
    {
        panic!("stress scenario failed:\n{report}");
    }
}
