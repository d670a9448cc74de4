//! Power off and reset, each its own boot: ACPI S5 must make QEMU exit as a
//! power-off (not a reset, not a time-out), a reboot must reset through the
//! FADT reset register, and the plain kernel must apply `on_init_exit=`
//! once init exits (power off by default and for an unknown value; stay up
//! for `halt`).

use ferrite_tests::images::{self, KernelFlavor, Volume};
use ferrite_tests::qemu::{self, Boot, Ending, GuestStop, Medium, Run};
use ferrite_tests::transcript::{self, clean};
use std::time::Duration;

/// Long enough for a TCG boot on a busy host, well under a minute.
const TIMEOUT: Duration = Duration::from_secs(45);

/// Prefix of the line the kernel logs before each reset method acts.
const RESET_STEP: &str = "power: reset via ";

fn boot(flavor: KernelFlavor, cmdline: &str, user: bool, name: &str) -> Run {
    boot_until(flavor, cmdline, user, name, None)
}

fn boot_until(
    flavor: KernelFlavor,
    cmdline: &str,
    user: bool,
    name: &str,
    stop_on: Option<&str>,
) -> Run {
    (|| {
        let kernel = images::build_kernel(flavor)?;
        let loader = images::build_loader()?;
        let mut modules = Vec::new();
        let mut files = Vec::new();
        if user {
            let u = images::build_user()?;
            for (file, path) in [("runtime.dll", u.runtime_dll), ("hello.exe", u.hello)] {
                let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                files.push((format!("boot/{file}"), data));
                modules.push((format!("boot/{file}"), file));
            }
        }
        let refs: Vec<(&str, &str)> = modules.iter().map(|(p, n)| (p.as_str(), *n)).collect();
        let config = images::limine_conf(cmdline, &refs);
        let mut volume = Volume::new(&loader, &kernel, &config)?;
        for (path, data) in files {
            volume = volume.with_file(&path, data);
        }
        let image = images::scratch_dir().join(format!("{name}.img"));
        volume.write(&image)?;
        qemu::boot(&Boot {
            medium: Medium::Disk(&image),
            timeout: TIMEOUT,
            stop_on,
            name,
            extra_args: &[],
            script: &[],
        })
    })()
    .unwrap_or_else(|e| panic!("could not boot: {e}"))
}

/// Fails the test with `problem` and the transcript.
fn fail(run: &Run, problem: String) -> ! {
    panic!("{}", transcript::failure(run, &[problem]))
}

/// Fails unless QEMU's log says the guest stopped the machine as `want`.
fn expect_stop(run: &Run, want: GuestStop) {
    match qemu::guest_stop(run) {
        Ok(got) if got == want => {}
        Ok(got) => fail(
            run,
            format!("the guest ended by {got:?}, expected {want:?}"),
        ),
        Err(e) => fail(run, e),
    }
}

#[test]
fn shutdown_powers_off_through_acpi_s5() {
    let run = boot(KernelFlavor::Milestones, "test=shutdown", false, "shutdown");
    let needles = [
        ("scenario 'shutdown'", "the scenario never started"),
        ("power: S5: SLP_TYPa=", "no S5 request was logged"),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Exited(0)) {
        panic!("{report}");
    }
    expect_stop(&run, GuestStop::PowerOff);
}

#[test]
fn reboot_resets_through_the_fadt_reset_register() {
    let run = boot(KernelFlavor::Milestones, "test=reboot", false, "reboot");
    let needles = [
        ("scenario 'reboot'", "the scenario never started"),
        ("power: reset requested", "no reset request was logged"),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Exited(0)) {
        panic!("{report}");
    }
    expect_stop(
        &run,
        GuestStop::Reset {
            triple_fault: false,
        },
    );
    // The kernel logs each method before it acts: the last one logged is
    // the one that reset the machine.
    let text = clean(&run.serial);
    let last = text.lines().rfind(|l| l.contains(RESET_STEP));
    let want = "power: reset via FADT reset register: writing ";
    if !last.is_some_and(|l| l.contains(want)) {
        fail(
            &run,
            format!("the last reset step logged is {last:?}, expected one with '{want}'"),
        );
    }
}

#[test]
fn plain_kernel_powers_off_when_init_exits() {
    let run = boot(KernelFlavor::Plain, "init=hello.exe", true, "init-exit");
    let needles = [
        (
            "'hello.exe' exited with code 0",
            "hello.exe did not run to its end",
        ),
        (
            "power: init exited; powering off (on_init_exit=poweroff)",
            "the default policy was not applied",
        ),
        ("power: S5: SLP_TYPa=", "no S5 request was logged"),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Exited(0)) {
        panic!("{report}");
    }
    expect_stop(&run, GuestStop::PowerOff);
}

#[test]
fn unknown_on_init_exit_value_warns_and_powers_off() {
    let run = boot(
        KernelFlavor::Plain,
        "init=hello.exe on_init_exit=sleep",
        true,
        "init-exit-unknown",
    );
    let needles = [
        (
            "'hello.exe' exited with code 0",
            "hello.exe did not run to its end",
        ),
        (
            "power: unknown on_init_exit=sleep; using poweroff",
            "no warning about the unknown value",
        ),
        ("power: S5: SLP_TYPa=", "no S5 request was logged"),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Exited(0)) {
        panic!("{report}");
    }
    expect_stop(&run, GuestStop::PowerOff);
}

#[test]
fn on_init_exit_halt_stays_up() {
    let idle = "boot complete; idle";
    let run = boot_until(
        KernelFlavor::Plain,
        "init=hello.exe on_init_exit=halt",
        true,
        "init-exit-halt",
        Some(idle),
    );
    let needles = [
        (
            "'hello.exe' exited with code 0",
            "hello.exe did not run to its end",
        ),
        (
            "power: init exited; staying up (on_init_exit=halt)",
            "the halt policy was not applied",
        ),
        (idle, "the kernel did not idle"),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Stopped) {
        panic!("{report}");
    }
    if clean(&run.serial).contains("power: S5") {
        fail(&run, "on_init_exit=halt tried to power off".into());
    }
}
