//! A scripted host takes the keyboard driver through §6.1: protocol
//! request/response, keystrokes, and what a hostile host might try.

mod common;

use common::{comp_packet, hex, inband_packet, parse};
use vmbus_devices::budget::MAX_STRIKES;
use vmbus_devices::keyboard::{Keyboard, KeyboardError, KeyboardEvent, KeyboardState, Leds};
use vmbus_devices::{Incoming, OutgoingKind, Output};

fn ready_keyboard() -> (Keyboard, u64) {
    let mut kbd = Keyboard::new();
    let mut out = Output::new();
    kbd.start(&mut out).unwrap();
    assert_eq!(out.sends.len(), 1);
    let req = &out.sends[0];
    assert_eq!(req.kind, OutgoingKind::InBand);
    assert!(req.completion_requested);
    assert_ne!(req.trans_id, 0);
    assert_eq!(req.payload, hex("01 00 00 00 00 00 01 00"));
    let id = req.trans_id;
    out.clear();
    // The host may complete the request; that is not an error.
    kbd.handle(&parse(&comp_packet(id, &[])), &mut out).unwrap();
    let resp = inband_packet(0, false, &hex("02 00 00 00 01 00 00 00"));
    kbd.handle(&parse(&resp), &mut out).unwrap();
    assert_eq!(out.events, [KeyboardEvent::Ready]);
    assert!(out.sends.is_empty());
    assert_eq!(kbd.state(), KeyboardState::Ready);
    (kbd, id)
}

fn key(kbd: &mut Keyboard, bytes: &str) -> Result<Vec<u8>, KeyboardError> {
    let mut out = Output::new();
    kbd.handle(&parse(&inband_packet(0, false, &hex(bytes))), &mut out)?;
    let mut stream = Vec::new();
    for e in &out.events {
        let KeyboardEvent::Key(k) = e else {
            panic!("not a key: {e:?}")
        };
        stream.extend_from_slice(k.to_set1().as_slice());
    }
    Ok(stream)
}

#[test]
fn init_and_key_presses() {
    let (mut kbd, _) = ready_keyboard();
    assert_eq!(
        key(&mut kbd, "03 00 00 00 1e 00 00 00 00 00 00 00"),
        Ok(vec![0x1E])
    );
    assert_eq!(
        key(&mut kbd, "03 00 00 00 1e 00 00 00 02 00 00 00"),
        Ok(vec![0x9E])
    );
    assert_eq!(
        key(&mut kbd, "03 00 00 00 1d 00 00 00 04 00 00 00"),
        Ok(vec![0xE0, 0x1D])
    );
    assert_eq!(
        key(&mut kbd, "03 00 00 00 1d 00 00 00 06 00 00 00"),
        Ok(vec![0xE0, 0x9D])
    );
    let leds = kbd
        .set_leds(Leds {
            caps: true,
            ..Leds::default()
        })
        .unwrap();
    assert_eq!(leds.payload, hex("04 00 00 00 04 00 00 00"));
    assert!(!leds.completion_requested);
}

#[test]
fn event_fields_reach_the_input_layer() {
    let (mut kbd, _) = ready_keyboard();
    let mut out = Output::new();
    let p = inband_packet(0, false, &hex("03 00 00 00 4b 00 00 00 06 00 00 00"));
    kbd.handle(&parse(&p), &mut out).unwrap();
    let KeyboardEvent::Key(k) = out.events[0] else {
        panic!()
    };
    assert!(!k.pressed && k.e0 && !k.e1 && !k.unicode);
    assert_eq!(k.scancode(), Some(0xE04B));
}

#[test]
fn hostile_host() {
    // Keystroke before the protocol was accepted.
    let mut kbd = Keyboard::new();
    let mut out = Output::new();
    kbd.start(&mut out).unwrap();
    let id = out.sends[0].trans_id;
    let ev = inband_packet(0, false, &hex("03 00 00 00 1e 00 00 00 00 00 00 00"));
    assert!(matches!(
        kbd.handle(&parse(&ev), &mut out),
        Err(KeyboardError::Unexpected { .. })
    ));
    // Completions for ids never sent, or twice.
    assert_eq!(
        kbd.handle(&Incoming::completion(id + 1, &[]), &mut out),
        Err(KeyboardError::UnknownCompletion(id + 1))
    );
    kbd.handle(&Incoming::completion(id, &[]), &mut out)
        .unwrap();
    assert_eq!(
        kbd.handle(&Incoming::completion(id, &[]), &mut out),
        Err(KeyboardError::UnknownCompletion(id))
    );
    // Truncated, unknown, oversized, guest-only messages.
    let bad: [&[u8]; 4] = [
        &[3, 0, 0, 0, 0x1e],
        &[9, 0, 0, 0, 0, 0, 0, 0],
        &[1; 300],
        &[4, 0, 0, 0, 4, 0, 0, 0],
    ];
    for b in bad {
        assert!(kbd.handle(&Incoming::in_band(0, b), &mut out).is_err());
    }
    assert_eq!(kbd.state(), KeyboardState::AwaitingResponse);
    assert!(out.events.is_empty());
}

#[test]
fn impossible_keys_refused() {
    let (mut kbd, _) = ready_keyboard();
    assert!(matches!(
        key(&mut kbd, "03 00 00 00 9e 00 00 00 00 00 00 00"),
        Err(KeyboardError::BadKey { .. })
    ));
    assert!(matches!(
        key(&mut kbd, "03 00 00 00 1d 00 00 00 0c 00 00 00"),
        Err(KeyboardError::BadKey { .. })
    ));
}

#[test]
fn rejection_stops_the_driver() {
    let mut kbd = Keyboard::new();
    let mut out = Output::new();
    kbd.start(&mut out).unwrap();
    let resp = inband_packet(0, false, &hex("02 00 00 00 00 00 00 00"));
    assert_eq!(
        kbd.handle(&parse(&resp), &mut out),
        Err(KeyboardError::Rejected { status: 0 })
    );
    assert_eq!(kbd.state(), KeyboardState::Failed);
    assert_eq!(
        kbd.handle(&parse(&resp), &mut out),
        Err(KeyboardError::Failed)
    );
}

#[test]
fn flood_of_garbage_fails_the_driver() {
    let (mut kbd, _) = ready_keyboard();
    let mut out = Output::new();
    for _ in 0..=MAX_STRIKES {
        assert!(kbd
            .handle(&Incoming::in_band(0, &[0xFF; 8]), &mut out)
            .is_err());
    }
    assert_eq!(kbd.state(), KeyboardState::Failed);
    let ok = inband_packet(0, false, &hex("03 00 00 00 1e 00 00 00 00 00 00 00"));
    assert_eq!(
        kbd.handle(&parse(&ok), &mut out),
        Err(KeyboardError::Failed)
    );
}

#[test]
fn other_packet_kinds_refused() {
    let (mut kbd, _) = ready_keyboard();
    let mut out = Output::new();
    let gpa = hex("09 00 03 00 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    assert_eq!(
        kbd.handle(&parse(&gpa), &mut out),
        Err(KeyboardError::WrongPacketKind)
    );
}
