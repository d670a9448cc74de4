//! QMP against real QEMU: keys, mouse and a screendump during an early
//! boot of the plain kernel, and a refused action reported, not ignored.

use ferrite_tests::images::{self, KernelFlavor, Volume};
use ferrite_tests::qemu::{self, Boot, Ending, Medium};
use ferrite_tests::qmp::{Action, Button, Event, Image, Step};
use ferrite_tests::transcript;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// One boot at a time (two cores; QEMU under TCG wants one of them).
static ONE_BOOT_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The kernel logs this once its screen console is up (it draws the log
/// on the framebuffer from then on).
const CONSOLE_UP: &str = "kernel: console: ";
/// A line soon after the banner's framebuffer line: the run stops here.
const STOP: &str = "serial: COM1";
const SHOT: &str = "qmp-smoke.ppm";

fn plain_image(name: &str) -> Result<PathBuf, String> {
    let kernel = images::build_kernel(KernelFlavor::Plain)?;
    let loader = images::build_loader()?;
    let image = images::scratch_dir().join(format!("{name}.img"));
    Volume::new(&loader, &kernel, &images::limine_conf("", &[]))?.write(&image)?;
    Ok(image)
}

/// The size in the banner's `framebuffer: <w>x<h> ...` line.
fn framebuffer_size(serial: &str) -> Option<(u32, u32)> {
    let text = transcript::clean(serial);
    let line = text
        .lines()
        .find_map(|l| l.split_once("banner: framebuffer: "))?;
    let size = line.1.split_whitespace().next()?;
    let (w, h) = size.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

#[test]
fn keys_mouse_and_screendump_over_qmp() {
    const EVENTS: &[Event<'static>] = &[
        Event::KeyDown("shift"),
        Event::KeyDown("a"),
        Event::KeyUp("a"),
        Event::KeyUp("shift"),
        Event::Move { dx: 12, dy: -7 },
        Event::Click(Button::Left),
        Event::Press(Button::Right),
        Event::Release(Button::Right),
        Event::Click(Button::WheelUp),
        Event::Click(Button::WheelDown),
    ];
    const ACTIONS: &[Action<'static>] = &[
        Action::Keys(&["a", "shift-b", "ret", "esc"]),
        Action::KeysHeld(&["spc"], Duration::from_millis(20)),
        Action::Events(EVENTS),
        Action::Screendump(SHOT),
    ];
    let steps = [Step {
        when: CONSOLE_UP,
        actions: ACTIONS,
    }];
    let _turn = ONE_BOOT_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let run = plain_image("qmp-smoke")
        .and_then(|image| {
            qemu::boot(&Boot {
                medium: Medium::Disk(&image),
                timeout: Duration::from_secs(300),
                stop_on: Some(STOP),
                name: "qmp-smoke",
                extra_args: &[],
                script: &steps,
            })
        })
        .unwrap_or_else(|e| panic!("could not boot: {e}"));
    if run.ending != Ending::Stopped {
        panic!(
            "{}",
            transcript::failure(&run, &[format!("ended {:?}", run.ending)])
        );
    }
    let Some((width, height)) = framebuffer_size(&run.serial) else {
        panic!(
            "{}",
            transcript::failure(&run, &["no framebuffer size in the banner".into()])
        );
    };
    let path = images::scratch_dir().join(SHOT);
    let image = Image::load(&path).unwrap_or_else(|e| panic!("screendump: {e}"));
    assert_eq!(
        (image.width, image.height),
        (width, height),
        "screendump size differs from the framebuffer's"
    );
    assert!(
        !image.is_one_colour(),
        "the screendump is all one colour: the console drew nothing?"
    );
}

#[test]
fn a_refused_action_and_the_steps_after_it_are_reported() {
    const BAD: &[Action<'static>] = &[Action::Keys(&["nosuchkey"])];
    const GOOD: &[Action<'static>] = &[Action::Keys(&["a"])];
    let steps = [
        Step {
            when: CONSOLE_UP,
            actions: GOOD,
        },
        Step {
            when: "cpu: SYSCALL on",
            actions: BAD,
        },
        Step {
            when: "banner: ",
            actions: GOOD,
        },
    ];
    let _turn = ONE_BOOT_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let image = plain_image("qmp-refused").unwrap_or_else(|e| panic!("no image: {e}"));
    let boot = Boot {
        medium: Medium::Disk(&image),
        timeout: Duration::from_secs(300),
        stop_on: Some(STOP),
        name: "qmp-refused",
        extra_args: &[],
        script: &steps,
    };
    // `boot` turns the script's problems into its error, each named.
    let report = match qemu::boot(&boot) {
        Ok(run) => panic!(
            "{}",
            transcript::failure(&run, &["the refused key went unreported".into()])
        ),
        Err(report) => report,
    };
    for needle in [
        "'qmp-refused': the script did not complete (Stopped;",
        "script step 1 (\"cpu: SYSCALL on\"): action 0: QMP: send-key failed: ",
        "'nosuchkey'",
        "script step 2 (\"banner: \") not run: an earlier step did not complete",
    ] {
        assert!(report.contains(needle), "no {needle:?} in:\n{report}");
    }
    assert!(
        !report.contains("script step 0"),
        "step 0 failed:\n{report}"
    );
}
