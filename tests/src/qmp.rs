//! A QMP client: drives a running QEMU (keys, mouse, screendumps).
//!
//! QMP (QEMU's docs/interop/qmp-spec.rst) is line-oriented JSON over a
//! socket: the server greets with `{"QMP": {...}}`, the client leaves
//! negotiation mode with `qmp_capabilities`, then each `{"execute": ...}`
//! gets one `{"return": ...}` or `{"error": {"class", "desc"}}` carrying
//! the command's `id`; asynchronous `{"event": ...}` messages can arrive in
//! between. Command arguments follow QEMU's qapi/ui.json (`send-key`,
//! `input-send-event`, `screendump`).

pub mod json;
pub mod ppm;
pub mod script;

pub use ppm::{Image, PpmError};
pub use script::{Action, Event, ScriptError, Step};

use json::{JsonError, Value};
use std::fmt;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest message accepted from QEMU (our commands' replies are tiny).
const MAX_MESSAGE: usize = 1 << 20;
/// Asynchronous events kept for [`Qmp::events`] (the oldest are dropped).
const MAX_EVENTS: usize = 256;
/// How long a reply may take by default (a screendump under TCG on a busy
/// machine takes well under a second).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// A QMP failure.
#[derive(Debug)]
pub enum QmpError {
    /// The socket could not be connected to.
    Connect(PathBuf, std::io::Error),
    /// Reading or writing the socket failed.
    Io(std::io::Error),
    /// No complete reply within the time-out.
    Timeout,
    /// QEMU closed the connection.
    Closed,
    /// A message longer than the client accepts.
    TooLong,
    /// A message that is not UTF-8.
    NotUtf8,
    /// A message that is not JSON.
    Json(JsonError),
    /// A message of the wrong shape (the text is kept).
    Unexpected(String),
    /// QEMU refused a command.
    Command {
        /// The command.
        command: String,
        /// QMP error class, e.g. `GenericError`.
        class: String,
        /// QEMU's message.
        desc: String,
    },
    /// A path QMP cannot carry (not UTF-8).
    BadPath(PathBuf),
    /// `screendump` succeeded but wrote no file.
    NoScreendump(PathBuf),
}

impl fmt::Display for QmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QmpError::Connect(path, e) => {
                write!(f, "QMP: cannot connect to {}: {e}", path.display())
            }
            QmpError::Io(e) => write!(f, "QMP: socket: {e}"),
            QmpError::Timeout => write!(f, "QMP: no reply in time"),
            QmpError::Closed => write!(f, "QMP: QEMU closed the connection"),
            QmpError::TooLong => write!(f, "QMP: message longer than {MAX_MESSAGE} bytes"),
            QmpError::NotUtf8 => write!(f, "QMP: message is not UTF-8"),
            QmpError::Json(e) => write!(f, "QMP: {e}"),
            QmpError::Unexpected(text) => write!(f, "QMP: unexpected message {text}"),
            QmpError::Command {
                command,
                class,
                desc,
            } => write!(f, "QMP: {command} failed: {desc} ({class})"),
            QmpError::BadPath(p) => write!(f, "QMP: path {} is not UTF-8", p.display()),
            QmpError::NoScreendump(p) => {
                write!(f, "QMP: screendump wrote no file at {}", p.display())
            }
        }
    }
}

impl std::error::Error for QmpError {}

impl From<std::io::Error> for QmpError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => QmpError::Timeout,
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => QmpError::Closed,
            _ => QmpError::Io(e),
        }
    }
}

/// A mouse button (QMP `InputButton`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    /// `left`.
    Left,
    /// `middle`.
    Middle,
    /// `right`.
    Right,
    /// `wheel-up`: one wheel step per press.
    WheelUp,
    /// `wheel-down`: one wheel step per press.
    WheelDown,
    /// `side` (back).
    Side,
    /// `extra` (forward).
    Extra,
}

impl Button {
    /// The QMP name.
    pub fn name(self) -> &'static str {
        match self {
            Button::Left => "left",
            Button::Middle => "middle",
            Button::Right => "right",
            Button::WheelUp => "wheel-up",
            Button::WheelDown => "wheel-down",
            Button::Side => "side",
            Button::Extra => "extra",
        }
    }
}

/// A relative pointer axis (QMP `InputAxis`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// `x`: positive is right.
    X,
    /// `y`: positive is down.
    Y,
}

/// One event of `input-send-event` (QMP `InputEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputEvent<'a> {
    /// A key by QEMU `QKeyCode` name (`a`, `shift`, `ret`, `esc`, ...).
    Key {
        /// The qcode.
        qcode: &'a str,
        /// Pressed (true) or released.
        down: bool,
    },
    /// Relative pointer motion.
    Rel {
        /// The axis.
        axis: Axis,
        /// Distance.
        value: i64,
    },
    /// A mouse button.
    Btn {
        /// The button.
        button: Button,
        /// Pressed (true) or released.
        down: bool,
    },
}

impl InputEvent<'_> {
    fn to_json(self) -> Value {
        let (kind, data) = match self {
            InputEvent::Key { qcode, down } => (
                "key",
                Value::object([("down", Value::Bool(down)), ("key", qcode_json(qcode))]),
            ),
            InputEvent::Rel { axis, value } => {
                let axis = match axis {
                    Axis::X => "x",
                    Axis::Y => "y",
                };
                (
                    "rel",
                    Value::object([("axis", Value::str(axis)), ("value", Value::Int(value))]),
                )
            }
            InputEvent::Btn { button, down } => (
                "btn",
                Value::object([
                    ("down", Value::Bool(down)),
                    ("button", Value::str(button.name())),
                ]),
            ),
        };
        Value::object([("type", Value::str(kind)), ("data", data)])
    }
}

/// A `KeyValue` naming a key by qcode.
fn qcode_json(qcode: &str) -> Value {
    Value::object([("type", Value::str("qcode")), ("data", Value::str(qcode))])
}

/// A connection to QEMU's QMP socket, out of negotiation mode.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: i64,
    greeting: Value,
    events: Vec<Value>,
}

impl Qmp {
    /// Connects to a `-qmp unix:<path>,server=on,wait=off` socket, trying
    /// again until `patience` has passed (QEMU creates it as it starts).
    pub fn connect(path: &Path, patience: Duration) -> Result<Qmp, QmpError> {
        let start = Instant::now();
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(stream) => break stream,
                Err(_) if start.elapsed() < patience => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(QmpError::Connect(path.to_path_buf(), e)),
            }
        };
        Qmp::handshake(stream, REPLY_TIMEOUT)
    }

    /// Reads the greeting on a connected stream and sends
    /// `qmp_capabilities`; every reply must come within `timeout`.
    pub fn handshake(stream: UnixStream, timeout: Duration) -> Result<Qmp, QmpError> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let writer = stream.try_clone()?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
            greeting: Value::Null,
            events: Vec::new(),
        };
        let greeting = qmp.read_message()?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::Unexpected(greeting.to_string()));
        }
        qmp.greeting = greeting;
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    /// The greeting's `QMP` member (version and capabilities).
    pub fn greeting(&self) -> Option<&Value> {
        self.greeting.get("QMP")
    }

    /// The asynchronous events seen so far (the last [`MAX_EVENTS`]).
    pub fn events(&self) -> &[Value] {
        &self.events
    }

    /// Runs a command and returns its `return` value.
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, QmpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut members = vec![("execute".to_string(), Value::str(command))];
        if let Some(arguments) = arguments {
            members.push(("arguments".to_string(), arguments));
        }
        members.push(("id".to_string(), Value::Int(id)));
        let mut line = Value::Object(members).to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        loop {
            let reply = self.read_message()?;
            if reply.get("event").is_some() {
                if self.events.len() >= MAX_EVENTS {
                    self.events.remove(0);
                }
                self.events.push(reply);
                continue;
            }
            if reply.get("id") != Some(&Value::Int(id)) {
                return Err(QmpError::Unexpected(reply.to_string()));
            }
            if let Some(value) = reply.get("return") {
                return Ok(value.clone());
            }
            let error = reply.get("error");
            let text = |key| {
                error
                    .and_then(|e| e.get(key))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            return match (text("class"), text("desc")) {
                (Some(class), Some(desc)) => Err(QmpError::Command {
                    command: command.to_string(),
                    class,
                    desc,
                }),
                _ => Err(QmpError::Unexpected(reply.to_string())),
            };
        }
    }

    /// `send-key`: presses the keys in order, holds them (`hold`, or QEMU's
    /// default of 100 ms), releases them in reverse order.
    pub fn send_key(&mut self, qcodes: &[&str], hold: Option<Duration>) -> Result<(), QmpError> {
        let keys = Value::Array(qcodes.iter().map(|q| qcode_json(q)).collect());
        let mut args = vec![("keys".to_string(), keys)];
        if let Some(hold) = hold {
            let ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
            args.push(("hold-time".to_string(), Value::Int(ms)));
        }
        self.execute("send-key", Some(Value::Object(args)))
            .map(drop)
    }

    /// `input-send-event`: the events in one batch (QEMU syncs the device
    /// after the batch, so a press and release of one button belong in two
    /// calls).
    pub fn input_send_event(&mut self, events: &[InputEvent<'_>]) -> Result<(), QmpError> {
        let events = Value::Array(events.iter().map(|e| e.to_json()).collect());
        self.execute(
            "input-send-event",
            Some(Value::object([("events", events)])),
        )
        .map(drop)
    }

    /// `screendump` to `path` (PPM); removes an older file first and checks
    /// that QEMU wrote one.
    pub fn screendump(&mut self, path: &Path) -> Result<(), QmpError> {
        let name = path
            .to_str()
            .ok_or_else(|| QmpError::BadPath(path.to_path_buf()))?;
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(QmpError::Io(e)),
            _ => {}
        }
        self.execute(
            "screendump",
            Some(Value::object([("filename", Value::str(name))])),
        )?;
        match std::fs::metadata(path) {
            Ok(m) if m.len() > 0 => Ok(()),
            _ => Err(QmpError::NoScreendump(path.to_path_buf())),
        }
    }

    /// Reads one newline-terminated message.
    fn read_message(&mut self) -> Result<Value, QmpError> {
        let mut line = Vec::new();
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Err(QmpError::Closed);
            }
            let (taken, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            line.extend_from_slice(buf.get(..taken).unwrap_or_default());
            self.reader.consume(taken);
            if line.len() > MAX_MESSAGE {
                return Err(QmpError::TooLong);
            }
            if done {
                let text = std::str::from_utf8(&line).map_err(|_| QmpError::NotUtf8)?;
                if text.trim().is_empty() {
                    line.clear();
                    continue;
                }
                return json::parse(text).map_err(QmpError::Json);
            }
        }
    }
}

#[cfg(test)]
#[path = "qmp/client_tests.rs"]
mod client_tests;
