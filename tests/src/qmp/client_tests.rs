//! Tests of the QMP client against a scripted fake QEMU on a socket pair.

use super::json::{self, Value};
use super::{Axis, Button, InputEvent, Qmp, QmpError};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;
use std::time::Duration;

const GREETING: &str = r#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}"#;

/// What the fake server answers to one command (`{id}` is replaced by the
/// command's id); `None` closes the connection instead.
type Answer = Option<&'static str>;

/// Plays QEMU: greets (unless `greeting` is `None`), then reads one
/// command per answer and writes the answer. Returns the commands seen,
/// with their ids removed.
fn fake_qemu(
    greeting: Option<&'static str>,
    answers: Vec<Answer>,
) -> (UnixStream, JoinHandle<Vec<String>>) {
    let (client, server) = UnixStream::pair().expect("socket pair");
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut writer = server.try_clone().expect("clone");
        let mut reader = BufReader::new(server);
        if let Some(g) = greeting {
            let _ = writer.write_all(format!("{g}\r\n").as_bytes());
        }
        for answer in answers {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let cmd = json::parse(&line).expect("the client sends JSON");
            let id = cmd.get("id").cloned().unwrap_or(Value::Null);
            let Value::Object(members) = cmd else {
                panic!("command is not an object: {line}")
            };
            let without_id: Vec<_> = members.into_iter().filter(|(k, _)| k != "id").collect();
            seen.push(Value::Object(without_id).to_string());
            match answer {
                Some(a) => {
                    let _ = writer.write_all(
                        format!("{}\r\n", a.replace("{id}", &id.to_string())).as_bytes(),
                    );
                }
                None => break,
            }
        }
        seen
    });
    (client, handle)
}

const OK: Answer = Some(r#"{"return": {}, "id": {id}}"#);

fn connect(answers: Vec<Answer>) -> (Result<Qmp, QmpError>, JoinHandle<Vec<String>>) {
    let (client, server) = fake_qemu(Some(GREETING), answers);
    (Qmp::handshake(client, Duration::from_secs(5)), server)
}

#[test]
fn handshake_then_commands_in_qemus_wire_format() {
    let (qmp, server) = connect(vec![OK, OK, OK, OK]);
    let mut qmp = qmp.expect("handshake");
    let version = qmp.greeting().and_then(|g| g.get("version"));
    assert!(version.is_some());
    qmp.send_key(&["shift", "a"], Some(Duration::from_millis(50)))
        .expect("send-key");
    qmp.input_send_event(&[
        InputEvent::Key {
            qcode: "esc",
            down: true,
        },
        InputEvent::Rel {
            axis: Axis::Y,
            value: -3,
        },
        InputEvent::Btn {
            button: Button::WheelDown,
            down: false,
        },
    ])
    .expect("input-send-event");
    qmp.send_key(&["ret"], None).expect("send-key");
    drop(qmp);
    let seen = server.join().expect("server");
    assert_eq!(
        seen,
        [
            r#"{"execute":"qmp_capabilities"}"#,
            r#"{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"shift"},{"type":"qcode","data":"a"}],"hold-time":50}}"#,
            r#"{"execute":"input-send-event","arguments":{"events":[{"type":"key","data":{"down":true,"key":{"type":"qcode","data":"esc"}}},{"type":"rel","data":{"axis":"y","value":-3}},{"type":"btn","data":{"down":false,"button":"wheel-down"}}]}}"#,
            r#"{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"ret"}]}}"#,
        ]
    );
}

#[test]
fn events_are_skipped_and_kept() {
    let reply = Some(
        "{\"event\": \"RESET\", \"data\": {}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n\r\n\
         {\"return\": {\"running\": true}, \"id\": {id}}",
    );
    let (qmp, _server) = connect(vec![OK, reply]);
    let mut qmp = qmp.expect("handshake");
    let value = qmp.execute("query-status", None).expect("query-status");
    assert_eq!(value.get("running"), Some(&Value::Bool(true)));
    assert_eq!(qmp.events().len(), 1);
    assert_eq!(qmp.events()[0].get("event"), Some(&Value::str("RESET")));
}

#[test]
fn errors_carry_qemus_message() {
    let refusal = Some(
        r#"{"id": {id}, "error": {"class": "GenericError", "desc": "Parameter 'keys[0].data' does not accept value 'nosuchkey'"}}"#,
    );
    let (qmp, _server) = connect(vec![OK, refusal]);
    let mut qmp = qmp.expect("handshake");
    match qmp.send_key(&["nosuchkey"], None) {
        Err(e @ QmpError::Command { .. }) => {
            let text = e.to_string();
            assert!(text.contains("send-key failed"), "{text}");
            assert!(text.contains("does not accept value 'nosuchkey'"), "{text}");
            assert!(text.contains("GenericError"), "{text}");
        }
        other => panic!("expected a command error, got {other:?}"),
    }
}

#[test]
fn protocol_breaks_are_errors() {
    // No greeting: the first message is something else.
    let (client, _s) = fake_qemu(Some(r#"{"return": {}}"#), vec![]);
    assert!(matches!(
        Qmp::handshake(client, Duration::from_secs(5)),
        Err(QmpError::Unexpected(_))
    ));
    // A reply to someone else's command.
    let (qmp, _s) = connect(vec![OK, Some(r#"{"return": {}, "id": 999}"#)]);
    let mut qmp = qmp.expect("handshake");
    assert!(matches!(
        qmp.execute("stop", None),
        Err(QmpError::Unexpected(_))
    ));
    // Neither return nor a well-formed error.
    let (qmp, _s) = connect(vec![OK, Some(r#"{"error": {"class": 1}, "id": {id}}"#)]);
    let mut qmp = qmp.expect("handshake");
    assert!(matches!(
        qmp.execute("stop", None),
        Err(QmpError::Unexpected(_))
    ));
    // Not JSON.
    let (qmp, _s) = connect(vec![OK, Some("{\"return\": {}, \"id\": {id}")]);
    let mut qmp = qmp.expect("handshake");
    assert!(matches!(qmp.execute("stop", None), Err(QmpError::Json(_))));
    // QEMU goes away.
    let (qmp, _s) = connect(vec![OK, None]);
    let mut qmp = qmp.expect("handshake");
    assert!(matches!(qmp.execute("stop", None), Err(QmpError::Closed)));
}

#[test]
fn a_silent_server_times_out() {
    let (client, server) = UnixStream::pair().expect("socket pair");
    let start = std::time::Instant::now();
    let r = Qmp::handshake(client, Duration::from_millis(200));
    assert!(matches!(r, Err(QmpError::Timeout)), "{:?}", r.err());
    assert!(start.elapsed() < Duration::from_secs(3));
    drop(server);
}

#[test]
fn an_endless_line_is_refused() {
    let (client, mut server) = UnixStream::pair().expect("socket pair");
    let writer = std::thread::spawn(move || {
        let chunk = [b'x'; 65536];
        // Stops when the client hangs up.
        while server.write_all(&chunk).is_ok() {}
    });
    let r = Qmp::handshake(client, Duration::from_secs(5));
    assert!(matches!(r, Err(QmpError::TooLong)), "{:?}", r.err());
    let _ = writer.join();
}

#[test]
fn connect_gives_up_after_its_patience() {
    let path = std::env::temp_dir().join(format!("ferrite-qmp-none-{}.sock", std::process::id()));
    let start = std::time::Instant::now();
    let r = Qmp::connect(&path, Duration::from_millis(200));
    assert!(matches!(r, Err(QmpError::Connect(..))));
    assert!(start.elapsed() >= Duration::from_millis(200));
}
