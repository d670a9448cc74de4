//! init() against FakeI8042: normal bring-up, missing and broken devices.

use ps2::{init, Event, Limits, MouseEvent, Port, Ps2Error, WaitFor};

use crate::fake::{FakeI8042, FakeKeyboard, FakeMouse, Scripted, Source};

const LIMITS: Limits = Limits { polls: 1000 };

#[test]
fn normal_bring_up_finds_both_devices_and_the_wheel() {
    let mut hw = FakeI8042::qemu();
    let (mut ps2, report) = init(&mut hw, LIMITS).expect("controller works");

    assert!(report.translation);
    assert!(report.dual_channel);
    let kb = report.keyboard.expect("keyboard");
    assert_eq!(kb.self_test, 0xAA);
    let mouse = report.mouse.expect("mouse");
    assert!(mouse.wheel);
    assert_eq!(mouse.id, 3);

    // IRQ 1 and 12 on, both clocks on, translation and system flag kept.
    assert_eq!(hw.config, 0x47);
    assert_eq!(report.config, 0x47);
    assert_eq!(hw.irqs_raised, 0, "init polls with the controller IRQs off");
    let keyboard = hw.keyboard.as_ref().expect("fake keyboard");
    assert_eq!(keyboard.leds, Some(0));
    assert_eq!(keyboard.typematic, Some(0x20));
    assert!(keyboard.scanning);
    let fake_mouse = hw.mouse.as_ref().expect("fake mouse");
    assert!(fake_mouse.reporting);
    assert_eq!(fake_mouse.sample_rate, 100);
    // The controller self-test ran before any device was touched.
    let self_test_at = hw
        .commands
        .iter()
        .position(|&c| c == 0xAA)
        .expect("self-test");
    let first_enable = hw.commands.iter().position(|&c| c == 0xAE).expect("enable");
    assert!(self_test_at < first_enable);

    // The returned decoder expects set 1 and 4-byte packets.
    assert_eq!(
        ps2.on_byte(Port::Keyboard, 0x1E)
            .map(|e| matches!(e, Event::Key(k) if k.ch == Some('a'))),
        Some(true)
    );
    let mut last = None;
    for b in [0x08, 0x01, 0x02, 0xFF] {
        last = ps2.on_byte(Port::Mouse, b);
    }
    assert_eq!(
        last,
        Some(Event::Mouse(MouseEvent {
            dx: 1,
            dy: 2,
            wheel: -1,
            buttons: 0
        }))
    );
}

#[test]
fn bytes_left_in_the_buffer_by_firmware_are_flushed() {
    let mut hw = FakeI8042::qemu();
    hw.inject(&[0x1E, 0x9E, 0x08], Source::Keyboard);
    let (_, report) = init(&mut hw, LIMITS).expect("controller works");
    assert!(report.keyboard.is_ok());
    assert!(report.mouse.is_ok());
    assert_eq!(hw.config, 0x47);
}

#[test]
fn self_test_resetting_the_config_is_undone() {
    for reset_to in [0x00, 0x47] {
        let mut hw = FakeI8042::qemu();
        hw.self_test_resets_config_to = Some(reset_to);
        let (_, report) = init(&mut hw, LIMITS).expect("controller works");
        assert!(report.translation);
        assert!(report.dual_channel);
        assert_eq!(hw.config, 0x47);
        assert_eq!(
            hw.irqs_raised, 0,
            "IRQs stay off after a reset to {reset_to:#x}"
        );
    }
}

#[test]
fn translation_off_gives_a_set_2_decoder() {
    let mut hw = FakeI8042::qemu();
    hw.config = 0x25;
    let (mut ps2, report) = init(&mut hw, LIMITS).expect("controller works");
    assert!(!report.translation);
    assert_eq!(hw.config, 0x07);
    // Set 2 0x1C is A (in set 1 it would be Enter).
    let ev = ps2.on_byte(Port::Keyboard, 0x1C);
    assert!(matches!(ev, Some(Event::Key(k)) if k.scancode == 0x1E && k.ch == Some('a')));
}

#[test]
fn no_keyboard_times_out_but_the_mouse_still_works() {
    let mut hw = FakeI8042::qemu();
    hw.keyboard = None;
    let (_, report) = init(&mut hw, LIMITS).expect("controller works");
    assert_eq!(
        report.keyboard,
        Err(Ps2Error::Timeout {
            waiting_for: WaitFor::Device {
                port: Port::Keyboard,
                cmd: 0xFF
            }
        })
    );
    assert!(report.mouse.is_ok());
    // Port 1 clock off and IRQ 1 off; port 2 on with IRQ 12.
    assert_eq!(hw.config & 0x33, 0x12);
}

#[test]
fn keyboard_self_test_failure_is_reported() {
    let mut hw = FakeI8042::qemu();
    let mut kb = FakeKeyboard::new();
    kb.self_test = 0xFC;
    hw.keyboard = Some(kb);
    let (_, report) = init(&mut hw, LIMITS).expect("controller works");
    assert_eq!(report.keyboard, Err(Ps2Error::DeviceSelfTest(0xFC)));
    assert!(report.mouse.is_ok());
    assert_eq!(hw.config & 0x33, 0x12);
}

#[test]
fn a_keyboard_resend_is_retried() {
    let mut hw = FakeI8042::qemu();
    let mut kb = FakeKeyboard::new();
    kb.resend_next = 2;
    hw.keyboard = Some(kb);
    let (_, report) = init(&mut hw, LIMITS).expect("controller works");
    assert!(report.keyboard.is_ok());
    let received = &hw.keyboard.as_ref().expect("fake keyboard").received;
    assert_eq!(&received[..3], &[0xFF, 0xFF, 0xFF]);
}

#[test]
fn a_keyboard_that_only_says_resend_gives_up() {
    let mut hw = FakeI8042::qemu();
    let mut kb = FakeKeyboard::new();
    kb.resend_next = u32::MAX;
    hw.keyboard = Some(kb);
    let (_, report) = init(&mut hw, LIMITS).expect("controller works");
    assert_eq!(
        report.keyboard,
        Err(Ps2Error::NoAck {
            cmd: 0xFF,
            got: 0xFE
        })
    );
    assert_eq!(
        hw.keyboard.as_ref().expect("fake keyboard").received.len(),
        3
    );
    assert!(report.mouse.is_ok());
}

#[test]
fn plain_mouse_has_no_wheel_and_three_byte_packets() {
    let mut hw = FakeI8042::qemu();
    hw.mouse = Some(FakeMouse::new(false));
    let (mut ps2, report) = init(&mut hw, LIMITS).expect("controller works");
    let mouse = report.mouse.expect("mouse");
    assert!(!mouse.wheel);
    assert_eq!(mouse.id, 0);
    // The knock was tried anyway.
    let received = &hw.mouse.as_ref().expect("fake mouse").received;
    assert!(received
        .windows(6)
        .any(|w| w == [0xF3, 200, 0xF3, 100, 0xF3, 80]));
    assert_eq!(ps2.on_byte(Port::Mouse, 0x09), None);
    assert_eq!(ps2.on_byte(Port::Mouse, 0x03), None);
    let ev = ps2.on_byte(Port::Mouse, 0x04);
    assert_eq!(
        ev,
        Some(Event::Mouse(MouseEvent {
            dx: 3,
            dy: 4,
            wheel: 0,
            buttons: 1
        }))
    );
}

#[test]
fn a_mouse_that_never_acks_leaves_the_keyboard_up() {
    let mut hw = FakeI8042::qemu();
    let mut mouse = FakeMouse::new(true);
    mouse.broken_answer = Some(0x00);
    hw.mouse = Some(mouse);
    let (_, report) = init(&mut hw, LIMITS).expect("controller works");
    assert_eq!(
        report.mouse,
        Err(Ps2Error::NoAck {
            cmd: 0xFF,
            got: 0x00
        })
    );
    assert!(report.keyboard.is_ok());
    // Port 2 clock off, IRQ 12 off; port 1 on with IRQ 1.
    assert_eq!(hw.config & 0x33, 0x21);
}

#[test]
fn single_channel_controller_has_no_mouse() {
    for firmware in [0x45, 0x65] {
        let mut hw = FakeI8042::qemu();
        hw.dual = false;
        hw.config = firmware;
        let (_, report) = init(&mut hw, LIMITS).expect("controller works");
        assert!(!report.dual_channel, "firmware config {firmware:#x}");
        assert_eq!(report.mouse, Err(Ps2Error::NoSecondChannel));
        assert!(report.keyboard.is_ok());
        assert_eq!(hw.config & 0x03, 0x01);
        assert!(
            !hw.commands.contains(&0xA9),
            "no port-2 test on a single channel"
        );
    }
}

#[test]
fn failed_port_tests_are_reported_per_port() {
    let mut hw = FakeI8042::qemu();
    hw.port_test = [0x00, 0x01];
    let (_, report) = init(&mut hw, LIMITS).expect("controller works");
    assert_eq!(
        report.mouse,
        Err(Ps2Error::PortTest {
            port: Port::Mouse,
            code: 0x01
        })
    );
    assert!(report.keyboard.is_ok());

    let mut hw = FakeI8042::qemu();
    hw.port_test = [0x03, 0x00];
    let (_, report) = init(&mut hw, LIMITS).expect("controller works");
    assert_eq!(
        report.keyboard,
        Err(Ps2Error::PortTest {
            port: Port::Keyboard,
            code: 0x03
        })
    );
    assert!(report.mouse.is_ok());
    assert_eq!(hw.config & 0x33, 0x12);
}

#[test]
fn controller_self_test_failure_is_an_error() {
    let mut hw = FakeI8042::qemu();
    hw.self_test_answer = 0xFC;
    assert_eq!(
        init(&mut hw, LIMITS).map(|(_, r)| r),
        Err(Ps2Error::SelfTest(0xFC))
    );
}

#[test]
fn slow_devices_within_the_poll_limit_work() {
    let mut hw = FakeI8042::qemu();
    hw.latency = 50;
    let (_, report) = init(&mut hw, Limits { polls: 60 }).expect("controller works");
    assert!(report.keyboard.is_ok());
    assert!(report.mouse.is_ok());

    let mut hw = FakeI8042::qemu();
    hw.latency = 50;
    let result = init(&mut hw, Limits { polls: 40 }).map(|(_, r)| r);
    assert_eq!(
        result,
        Err(Ps2Error::Timeout {
            waiting_for: WaitFor::Controller { cmd: 0x20 }
        })
    );
}

#[test]
fn a_controller_that_never_sets_status_bits_fails_within_the_poll_limit() {
    let polls = 500;
    let mut hw = Scripted::new(vec![0x00], vec![0x55]);
    let result = init(&mut hw, Limits { polls }).map(|(_, r)| r);
    assert_eq!(
        result,
        Err(Ps2Error::Timeout {
            waiting_for: WaitFor::Controller { cmd: 0x20 }
        })
    );
    // Two disables, one flush poll, the 0x20 write, then `polls` reads.
    assert_eq!(hw.status_reads, u64::from(polls) + 4);
}

#[test]
fn a_controller_stuck_busy_fails_within_the_poll_limit() {
    let polls = 300;
    let mut hw = Scripted::new(vec![0xFF], vec![0xFA]);
    let result = init(&mut hw, Limits { polls }).map(|(_, r)| r);
    assert_eq!(
        result,
        Err(Ps2Error::Timeout {
            waiting_for: WaitFor::InputBuffer
        })
    );
    assert_eq!(hw.status_reads, u64::from(polls));
}

#[test]
fn errors_display_what_went_wrong() {
    let e = Ps2Error::Timeout {
        waiting_for: WaitFor::Device {
            port: Port::Mouse,
            cmd: 0xF2,
        },
    };
    assert_eq!(
        e.to_string(),
        "timed out waiting for the Mouse answer to 0xf2"
    );
    let e = Ps2Error::PortTest {
        port: Port::Keyboard,
        code: 2,
    };
    assert_eq!(
        e.to_string(),
        "Keyboard port test failed: 0x02 (clock line stuck high)"
    );
}
