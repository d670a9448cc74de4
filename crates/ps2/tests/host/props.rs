//! Property tests: hostile byte streams and hostile controllers.

use proptest::prelude::*;
use ps2::{init, Event, KeyEvent, Limits, Port, Ps2};

use crate::fake::{FakeI8042, FakeKeyboard, FakeMouse, Scripted};
use crate::keys::{keys, KEYS};

proptest! {
    #[test]
    fn arbitrary_bytes_on_both_ports_never_panic(
        translation in any::<bool>(),
        mouse_id in prop_oneof![Just(0u8), Just(3), Just(4), any::<u8>()],
        stream in prop::collection::vec((any::<bool>(), any::<u8>(), any::<bool>()), 0..600),
    ) {
        let mut ps2 = Ps2::new(translation, mouse_id);
        for (mouse, byte, take) in stream {
            let port = if mouse { Port::Mouse } else { Port::Keyboard };
            match ps2.on_byte(port, byte) {
                Some(Event::Key(k)) => {
                    prop_assert!(!mouse);
                    prop_assert_ne!(k.scancode, 0);
                    prop_assert!(k.ch.is_none() || k.pressed);
                    prop_assert!(!k.repeat || k.pressed);
                }
                Some(Event::Mouse(m)) => {
                    prop_assert!(mouse);
                    prop_assert!((-256..=255).contains(&m.dx) && (-256..=255).contains(&m.dy));
                    prop_assert!(m.buttons <= 0x1F);
                }
                None => {}
            }
            if take {
                if let Some(out) = ps2.take_output() {
                    prop_assert!(out == 0xED || out <= 0x07, "odd output {:#x}", out);
                }
            }
        }
    }

    #[test]
    fn replies_never_change_the_key_events(
        translation in any::<bool>(),
        stream in prop::collection::vec(any::<u8>(), 0..300),
        inserts in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![Just(0xFAu8), Just(0xFE)]), 0..40),
    ) {
        let mut plain = Ps2::new(translation, 0);
        let expected: Vec<KeyEvent> = keys(&mut plain, &stream);
        let mut with_replies = stream.clone();
        for (at, reply) in inserts {
            let at = at.index(with_replies.len() + 1);
            with_replies.insert(at, reply);
        }
        let mut noisy = Ps2::new(translation, 0);
        prop_assert_eq!(keys(&mut noisy, &with_replies), expected);
    }

    #[test]
    fn set_1_and_set_2_streams_decode_alike(
        strokes in prop::collection::vec((0..KEYS.len(), any::<bool>()), 0..200),
    ) {
        let mut one = Ps2::new(true, 0);
        let mut two = Ps2::new(false, 0);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, pressed) in strokes {
            let k = &KEYS[i];
            a.extend(keys(&mut one, &k.bytes(true, pressed)));
            b.extend(keys(&mut two, &k.bytes(false, pressed)));
            prop_assert_eq!(one.take_output(), two.take_output());
        }
        prop_assert_eq!(a, b);
        prop_assert_eq!(one.locks(), two.locks());
    }

    #[test]
    fn a_scripted_controller_never_breaks_init(
        statuses in prop::collection::vec(any::<u8>(), 1..64),
        data in prop::collection::vec(any::<u8>(), 0..64),
        polls in 0u32..200,
    ) {
        let mut hw = Scripted::new(statuses, data);
        let limits = Limits { polls };
        let _ = init(&mut hw, limits);
        prop_assert!(hw.status_reads <= limits.max_status_reads());
    }

    #[test]
    fn a_perturbed_fake_never_breaks_init(
        config in any::<u8>(),
        dual in any::<bool>(),
        self_test_ok in any::<bool>(),
        port_test in any::<[u8; 2]>(),
        latency in 0u32..6,
        keyboard in prop::option::of((prop_oneof![Just(0xAAu8), any::<u8>()], 0u32..5)),
        mouse in prop::option::of((any::<bool>(), prop::option::of(any::<u8>()))),
        polls in 1u32..40,
    ) {
        let mut hw = FakeI8042::qemu();
        hw.config = config;
        hw.dual = dual;
        hw.self_test_answer = if self_test_ok { 0x55 } else { 0xFC };
        hw.port_test = port_test;
        hw.latency = latency;
        hw.keyboard = keyboard.map(|(self_test, resend_next)| {
            let mut k = FakeKeyboard::new();
            k.self_test = self_test;
            k.resend_next = resend_next;
            k
        });
        hw.mouse = mouse.map(|(intelli, broken)| {
            let mut m = FakeMouse::new(intelli);
            m.broken_answer = broken;
            m
        });
        let limits = Limits { polls };
        let result = init(&mut hw, limits);
        prop_assert!(hw.status_reads <= limits.max_status_reads());
        if let Ok((_, report)) = result {
            prop_assert!(self_test_ok);
            // A port is on with its IRQ exactly when its device came up.
            prop_assert_eq!(report.keyboard.is_ok(), hw.config & 0x11 == 0x01);
            prop_assert_eq!(report.mouse.is_ok(), hw.config & 0x22 == 0x02);
            prop_assert_eq!(report.translation, config & 0x40 != 0);
        } else if polls > latency + 1 {
            prop_assert!(!self_test_ok, "{:?}", result.map(|(_, r)| r));
        }
    }
}
