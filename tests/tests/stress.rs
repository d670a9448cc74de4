//! The stress scenario as its own boot: many processes and threads at
//! random under preemption for a bounded time; no panic, no hang, no leak.

use ferrite_tests::qemu::{self, Boot, Medium};
use ferrite_tests::{suite, transcript};

#[test]
fn stress_survives_and_leaks_nothing() {
    let run = suite::build_image_for("stress")
        .and_then(|image| {
            qemu::boot(&Boot {
                medium: Medium::Disk(&image),
                timeout: suite::boot_timeout(),
                stop_on: None,
                name: "stress",
                extra_args: &[],
                script: &[],
            })
        })
        .unwrap_or_else(|e| panic!("could not boot the stress scenario: {e}"));
    if let Err(report) =
        transcript::judge_milestone(&run, "M3", &["stress_survives_and_leaks_nothing"])
    {
        panic!("stress scenario failed:\n{report}");
    }
}
