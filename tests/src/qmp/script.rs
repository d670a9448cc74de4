//! Scripted input for a boot: steps triggered by what the guest prints.
//!
//! A [`Step`] waits for its pattern in the serial output, after the point
//! where the previous step's pattern matched, then performs its actions in
//! order. Steps run in order, each once. A failed action stops the script;
//! every step that did not run is reported (see [`ScriptError`]).

use super::{Axis, Button, InputEvent, Qmp, QmpError};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How long the first action waits for QEMU's QMP socket.
const CONNECT_PATIENCE: Duration = Duration::from_secs(5);

/// One step: when the serial output shows `when`, perform `actions`.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// Text to wait for (an empty pattern matches at once).
    pub when: &'a str,
    /// What to do then, in order.
    pub actions: &'a [Action<'a>],
}

/// Something to do to the running machine.
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    /// Each entry pressed and released, in order, with QEMU's default hold
    /// (100 ms). An entry is a qcode (`a`, `shift`, `ret`, `esc`) or a
    /// chord joined by `-` (`shift-a`, `ctrl-alt-delete`): held together,
    /// released in reverse.
    Keys(&'a [&'a str]),
    /// Like [`Action::Keys`], holding each entry this long.
    KeysHeld(&'a [&'a str], Duration),
    /// Raw input events, each sent as its own `input-send-event`.
    Events(&'a [Event<'a>]),
    /// A screendump (PPM) to this file; a relative path is taken inside the
    /// runner's scratch directory (`target/test-runs`, see
    /// [`crate::images::scratch_dir`]). A `&str`, so scripts can be consts.
    Screendump(&'a str),
    /// Wait this long (the guest keeps running).
    Pause(Duration),
}

/// A raw input event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A key goes down (qcode).
    KeyDown(&'a str),
    /// A key goes up (qcode).
    KeyUp(&'a str),
    /// Relative mouse motion (right and down are positive).
    Move {
        /// Horizontal distance.
        dx: i32,
        /// Vertical distance.
        dy: i32,
    },
    /// A button goes down.
    Press(Button),
    /// A button goes up.
    Release(Button),
    /// A press, then a release (two commands; a wheel step is a click of
    /// [`Button::WheelUp`] or [`Button::WheelDown`]).
    Click(Button),
}

/// A step that did not run to its end.
#[derive(Debug)]
pub enum ScriptError {
    /// An action failed (the script stopped there).
    Failed {
        /// Index of the step.
        step: usize,
        /// Its pattern.
        when: String,
        /// Index of the action in the step.
        action: usize,
        /// What went wrong.
        error: QmpError,
    },
    /// The pattern never appeared after the previous step.
    NeverSeen {
        /// Index of the step.
        step: usize,
        /// Its pattern.
        when: String,
    },
    /// The pattern appeared only when QEMU had already stopped.
    SeenTooLate {
        /// Index of the step.
        step: usize,
        /// Its pattern.
        when: String,
    },
    /// An earlier step failed or never triggered, so this one never got its
    /// turn.
    NotReached {
        /// Index of the step.
        step: usize,
        /// Its pattern.
        when: String,
    },
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptError::Failed {
                step,
                when,
                action,
                error,
            } => write!(f, "script step {step} ({when:?}): action {action}: {error}"),
            ScriptError::NeverSeen { step, when } => {
                write!(f, "script step {step}: {when:?} never appeared on serial")
            }
            ScriptError::SeenTooLate { step, when } => write!(
                f,
                "script step {step}: {when:?} appeared only after QEMU stopped"
            ),
            ScriptError::NotReached { step, when } => write!(
                f,
                "script step {step} ({when:?}) not run: an earlier step did not complete"
            ),
        }
    }
}

impl std::error::Error for ScriptError {}

/// Performs actions on the machine (QMP, or a fake in tests).
pub trait Driver {
    /// Performs one action.
    fn perform(&mut self, action: &Action<'_>) -> Result<(), QmpError>;
}

/// The real driver: QMP over a socket, connected at the first action.
pub struct QmpDriver {
    socket: PathBuf,
    scratch: PathBuf,
    qmp: Option<Qmp>,
}

impl QmpDriver {
    /// A driver for QEMU's QMP socket at `socket`; relative screendump
    /// paths go into `scratch`.
    pub fn new(socket: PathBuf, scratch: PathBuf) -> Self {
        QmpDriver {
            socket,
            scratch,
            qmp: None,
        }
    }

    fn qmp(&mut self) -> Result<&mut Qmp, QmpError> {
        if self.qmp.is_none() {
            self.qmp = Some(Qmp::connect(&self.socket, CONNECT_PATIENCE)?);
        }
        self.qmp.as_mut().ok_or(QmpError::Closed)
    }
}

/// Sends `entry` (a qcode or a `-` chord) with `send-key`.
fn send_entry(qmp: &mut Qmp, entry: &str, hold: Option<Duration>) -> Result<(), QmpError> {
    let chord: Vec<&str> = entry.split('-').collect();
    qmp.send_key(&chord, hold)
}

fn send_event(qmp: &mut Qmp, event: &Event<'_>) -> Result<(), QmpError> {
    let key = |qcode, down| [InputEvent::Key { qcode, down }];
    let btn = |button, down| [InputEvent::Btn { button, down }];
    match *event {
        Event::KeyDown(q) => qmp.input_send_event(&key(q, true)),
        Event::KeyUp(q) => qmp.input_send_event(&key(q, false)),
        Event::Move { dx, dy } => qmp.input_send_event(&[
            InputEvent::Rel {
                axis: Axis::X,
                value: dx.into(),
            },
            InputEvent::Rel {
                axis: Axis::Y,
                value: dy.into(),
            },
        ]),
        Event::Press(b) => qmp.input_send_event(&btn(b, true)),
        Event::Release(b) => qmp.input_send_event(&btn(b, false)),
        Event::Click(b) => {
            qmp.input_send_event(&btn(b, true))?;
            qmp.input_send_event(&btn(b, false))
        }
    }
}

impl Driver for QmpDriver {
    fn perform(&mut self, action: &Action<'_>) -> Result<(), QmpError> {
        match *action {
            Action::Pause(d) => {
                std::thread::sleep(d);
                Ok(())
            }
            Action::Keys(entries) => entries
                .iter()
                .try_for_each(|e| send_entry(self.qmp()?, e, None)),
            Action::KeysHeld(entries, hold) => entries
                .iter()
                .try_for_each(|e| send_entry(self.qmp()?, e, Some(hold))),
            Action::Events(events) => events.iter().try_for_each(|e| send_event(self.qmp()?, e)),
            Action::Screendump(path) => {
                let path = self.scratch.join(path);
                self.qmp()?.screendump(&path)
            }
        }
    }
}

/// Where `needle` ends in `hay[from..]`, as an offset into `hay`.
fn find_end(hay: &[u8], from: usize, needle: &str) -> Option<usize> {
    let rest = hay.get(from..)?;
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return Some(from);
    }
    let at = rest.windows(needle.len()).position(|w| w == needle)?;
    Some(from + at + needle.len())
}

/// A script in progress.
pub struct ScriptRun<'s, D> {
    steps: &'s [Step<'s>],
    driver: D,
    next: usize,
    offset: usize,
    failed: bool,
    errors: Vec<ScriptError>,
}

impl<'s, D: Driver> ScriptRun<'s, D> {
    /// A script that has not started.
    pub fn new(steps: &'s [Step<'s>], driver: D) -> Self {
        ScriptRun {
            steps,
            driver,
            next: 0,
            offset: 0,
            failed: false,
            errors: Vec::new(),
        }
    }

    /// Runs every step whose pattern `serial` (all output so far) now
    /// shows, in order.
    pub fn poll(&mut self, serial: &[u8]) {
        while !self.failed {
            let Some(step) = self.steps.get(self.next) else {
                return;
            };
            let Some(end) = find_end(serial, self.offset, step.when) else {
                return;
            };
            self.offset = end;
            for (action, a) in step.actions.iter().enumerate() {
                if let Err(error) = self.driver.perform(a) {
                    self.errors.push(ScriptError::Failed {
                        step: self.next,
                        when: step.when.to_string(),
                        action,
                        error,
                    });
                    self.failed = true;
                    break;
                }
            }
            self.next += 1;
        }
    }

    /// True when every step has run (successfully or not).
    pub fn done(&self) -> bool {
        self.failed || self.next >= self.steps.len()
    }

    /// Ends the script once QEMU has stopped (`serial`: the whole output)
    /// and returns every problem, in step order.
    pub fn finish(mut self, serial: &[u8]) -> Vec<ScriptError> {
        let mut blocked = self.failed;
        for (step, s) in self.steps.iter().enumerate().skip(self.next) {
            let when = s.when.to_string();
            self.errors.push(if blocked {
                ScriptError::NotReached { step, when }
            } else if find_end(serial, self.offset, s.when).is_some() {
                ScriptError::SeenTooLate { step, when }
            } else {
                ScriptError::NeverSeen { step, when }
            });
            blocked = true;
        }
        self.errors
    }
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
