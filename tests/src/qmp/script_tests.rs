//! Tests of the step logic against a fake driver that records actions.

use super::{find_end, Action, Driver, ScriptError, ScriptRun, Step};
use crate::qmp::QmpError;
use std::time::Duration;

/// Records each action's debug text; fails the action numbered `fail_at`.
#[derive(Default)]
struct Fake {
    log: Vec<String>,
    fail_at: Option<usize>,
}

impl Driver for Fake {
    fn perform(&mut self, action: &Action<'_>) -> Result<(), QmpError> {
        let n = self.log.len();
        self.log.push(format!("{action:?}"));
        if self.fail_at == Some(n) {
            return Err(QmpError::Command {
                command: "send-key".into(),
                class: "GenericError".into(),
                desc: "bad key".into(),
            });
        }
        Ok(())
    }
}

const A: &[Action<'static>] = &[Action::Keys(&["a"])];
const B: &[Action<'static>] = &[Action::Pause(Duration::from_millis(1))];
const SHOT: &[Action<'static>] = &[Action::Keys(&["shift-x"]), Action::Screendump("x.ppm")];

fn summary(errors: &[ScriptError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| match e {
            ScriptError::Failed { step, action, .. } => format!("failed {step}.{action}"),
            ScriptError::NeverSeen { step, .. } => format!("never {step}"),
            ScriptError::SeenTooLate { step, .. } => format!("late {step}"),
            ScriptError::NotReached { step, .. } => format!("unreached {step}"),
        })
        .collect()
}

#[test]
fn find_end_searches_after_the_offset() {
    assert_eq!(find_end(b"xxABxxAB", 0, "AB"), Some(4));
    assert_eq!(find_end(b"xxABxxAB", 4, "AB"), Some(8));
    assert_eq!(find_end(b"xxABxxAB", 7, "AB"), None);
    assert_eq!(find_end(b"xx", 5, "AB"), None);
    assert_eq!(find_end(b"xx", 1, ""), Some(1));
}

#[test]
fn steps_run_in_order_each_once_after_the_previous_match() {
    let steps = [
        Step {
            when: "INPUT ready",
            actions: A,
        },
        Step {
            when: "SCREEN ready",
            actions: SHOT,
        },
    ];
    let mut run = ScriptRun::new(&steps, Fake::default());
    // The second pattern before the first does not count.
    let mut serial = b"SCREEN ready\n".to_vec();
    run.poll(&serial);
    assert!(run.driver.log.is_empty());
    serial.extend_from_slice(b"INPUT ready\n");
    run.poll(&serial);
    run.poll(&serial);
    assert_eq!(run.driver.log, ["Keys([\"a\"])"]);
    assert!(!run.done());
    serial.extend_from_slice(b"SCREEN rea");
    run.poll(&serial);
    assert_eq!(run.driver.log.len(), 1, "a partial line is not a match");
    serial.extend_from_slice(b"dy\nSCREEN ready\nINPUT ready\n");
    run.poll(&serial);
    run.poll(&serial);
    assert_eq!(
        run.driver.log,
        [
            "Keys([\"a\"])",
            "Keys([\"shift-x\"])",
            "Screendump(\"x.ppm\")"
        ]
    );
    assert!(run.done());
    assert!(run.finish(&serial).is_empty());
}

#[test]
fn several_steps_can_fire_in_one_poll() {
    let steps = [
        Step {
            when: "one",
            actions: A,
        },
        Step {
            when: "two",
            actions: B,
        },
        Step {
            when: "",
            actions: A,
        },
    ];
    let mut run = ScriptRun::new(&steps, Fake::default());
    run.poll(b"one two");
    assert_eq!(run.driver.log.len(), 3);
    assert!(run.finish(b"one two").is_empty());
}

#[test]
fn a_failed_action_stops_the_script_and_is_reported() {
    let steps = [
        Step {
            when: "go",
            actions: SHOT,
        },
        Step {
            when: "go",
            actions: A,
        },
    ];
    let fake = Fake {
        fail_at: Some(0),
        ..Fake::default()
    };
    let mut run = ScriptRun::new(&steps, fake);
    run.poll(b"go go go");
    assert_eq!(
        run.driver.log.len(),
        1,
        "the step's later actions are skipped"
    );
    assert!(run.done());
    let errors = run.finish(b"go go go");
    assert_eq!(summary(&errors), ["failed 0.0", "unreached 1"]);
    assert!(errors[0].to_string().contains("bad key"), "{}", errors[0]);
}

#[test]
fn missing_patterns_are_reported() {
    let steps = [
        Step {
            when: "first",
            actions: A,
        },
        Step {
            when: "second",
            actions: A,
        },
        Step {
            when: "third",
            actions: A,
        },
    ];
    let mut run = ScriptRun::new(&steps, Fake::default());
    run.poll(b"first");
    let errors = run.finish(b"first");
    assert_eq!(summary(&errors), ["never 1", "unreached 2"]);

    let mut run = ScriptRun::new(&steps, Fake::default());
    run.poll(b"first");
    // "second" arrived after QEMU stopped: no more polls.
    let errors = run.finish(b"first second third");
    assert_eq!(summary(&errors), ["late 1", "unreached 2"]);
}
