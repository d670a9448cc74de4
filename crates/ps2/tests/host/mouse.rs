//! Mouse packets: signs, 9-bit range, overflow drop, resync, wheel.

use ps2::{Event, MouseEvent, Port, Ps2};

fn packets(ps2: &mut Ps2, bytes: &[u8]) -> Vec<MouseEvent> {
    bytes
        .iter()
        .filter_map(|&b| match ps2.on_byte(Port::Mouse, b) {
            Some(Event::Mouse(m)) => Some(m),
            Some(Event::Key(_)) => panic!("key event from mouse byte {b:#x}"),
            None => None,
        })
        .collect()
}

fn ev(dx: i16, dy: i16, wheel: i8, buttons: u8) -> MouseEvent {
    MouseEvent {
        dx,
        dy,
        wheel,
        buttons,
    }
}

#[test]
fn positive_and_negative_movement() {
    let mut ps2 = Ps2::new(true, 0);
    let got = packets(&mut ps2, &[0x08, 10, 20, 0x38, 0xF6, 0xEC]);
    assert_eq!(got, [ev(10, 20, 0, 0), ev(-10, -20, 0, 0)]);
}

#[test]
fn sign_bits_make_nine_bit_values() {
    let mut ps2 = Ps2::new(true, 0);
    let got = packets(&mut ps2, &[0x18, 0x00, 0xFF, 0x28, 0xFF, 0x00]);
    assert_eq!(got, [ev(-256, 255, 0, 0), ev(255, -256, 0, 0)]);
}

#[test]
fn buttons_come_from_the_low_bits() {
    let mut ps2 = Ps2::new(true, 0);
    let got = packets(&mut ps2, &[0x09, 0, 0, 0x0A, 0, 0, 0x0C, 0, 0, 0x0F, 0, 0]);
    let buttons: Vec<u8> = got.iter().map(|m| m.buttons).collect();
    assert_eq!(buttons, [1, 2, 4, 7]);
}

#[test]
fn overflowed_packets_are_dropped_whole() {
    let mut ps2 = Ps2::new(true, 0);
    // X overflow, then Y overflow (both with bit 3 set), then a good one.
    let got = packets(&mut ps2, &[0x48, 0x08, 0x08, 0x88, 0x08, 0x08, 0x08, 1, 2]);
    assert_eq!(got, [ev(1, 2, 0, 0)]);
}

#[test]
fn bytes_without_bit_3_are_skipped_until_a_first_byte() {
    let mut ps2 = Ps2::new(true, 0);
    let got = packets(&mut ps2, &[0x00, 0x07, 0xF0, 0x09, 2, 3]);
    assert_eq!(got, [ev(2, 3, 0, 1)]);
}

#[test]
fn intellimouse_packets_carry_the_wheel() {
    let mut ps2 = Ps2::new(true, 3);
    let got = packets(
        &mut ps2,
        &[0x08, 0, 0, 0x01, 0x08, 0, 0, 0xFF, 0x09, 5, 6, 0x00],
    );
    assert_eq!(got, [ev(0, 0, 1, 0), ev(0, 0, -1, 0), ev(5, 6, 0, 1)]);
}

#[test]
fn five_button_mouse_splits_the_fourth_byte() {
    let mut ps2 = Ps2::new(true, 4);
    let got = packets(&mut ps2, &[0x08, 0, 0, 0x3F, 0x08, 0, 0, 0x01]);
    assert_eq!(got, [ev(0, 0, -1, 0x18), ev(0, 0, 1, 0)]);
}

#[test]
fn a_three_byte_mouse_takes_no_fourth_byte() {
    let mut ps2 = Ps2::new(true, 0);
    let got = packets(&mut ps2, &[0x08, 1, 1, 0x08, 2, 2]);
    assert_eq!(got, [ev(1, 1, 0, 0), ev(2, 2, 0, 0)]);
}
