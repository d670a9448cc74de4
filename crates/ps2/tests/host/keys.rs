//! Keyboard decoding: set 1 and set 2, repeats, Pause, locks, LED replies.

use ps2::{Event, KeyEvent, LockState, Port, Ps2};

/// One key: set-1 make bytes, set-2 make bytes, Win32 VK (from the
/// "Virtual-Key Codes" table, typed in here independently of the crate).
pub struct Key {
    pub set1: &'static [u8],
    pub set2: &'static [u8],
    pub vk: u8,
}

const fn key(set1: &'static [u8], set2: &'static [u8], vk: u8) -> Key {
    Key { set1, set2, vk }
}

/// Keys with their codes from OSDev "PS/2 Keyboard" (sets 1 and 2).
pub const KEYS: &[Key] = &[
    key(&[0x1E], &[0x1C], 0x41),             // A
    key(&[0x2C], &[0x1A], 0x5A),             // Z
    key(&[0x32], &[0x3A], 0x4D),             // M
    key(&[0x02], &[0x16], 0x31),             // 1
    key(&[0x0B], &[0x45], 0x30),             // 0
    key(&[0x2A], &[0x12], 0x10),             // left shift
    key(&[0x36], &[0x59], 0x10),             // right shift
    key(&[0x1D], &[0x14], 0x11),             // left ctrl
    key(&[0x38], &[0x11], 0x12),             // left alt
    key(&[0x1C], &[0x5A], 0x0D),             // enter
    key(&[0x39], &[0x29], 0x20),             // space
    key(&[0x0E], &[0x66], 0x08),             // backspace
    key(&[0x0F], &[0x0D], 0x09),             // tab
    key(&[0x01], &[0x76], 0x1B),             // escape
    key(&[0x3B], &[0x05], 0x70),             // F1
    key(&[0x41], &[0x83], 0x76),             // F7
    key(&[0x58], &[0x07], 0x7B),             // F12
    key(&[0x29], &[0x0E], 0xC0),             // `
    key(&[0x2B], &[0x5D], 0xDC),             // backslash
    key(&[0x35], &[0x4A], 0xBF),             // /
    key(&[0x28], &[0x52], 0xDE),             // '
    key(&[0x37], &[0x7C], 0x6A),             // keypad *
    key(&[0x3A], &[0x58], 0x14),             // caps lock
    key(&[0x45], &[0x77], 0x90),             // num lock
    key(&[0x46], &[0x7E], 0x91),             // scroll lock
    key(&[0x47], &[0x6C], 0x24),             // keypad 7 / home (num lock off)
    key(&[0xE0, 0x48], &[0xE0, 0x75], 0x26), // up
    key(&[0xE0, 0x4B], &[0xE0, 0x6B], 0x25), // left
    key(&[0xE0, 0x4D], &[0xE0, 0x74], 0x27), // right
    key(&[0xE0, 0x50], &[0xE0, 0x72], 0x28), // down
    key(&[0xE0, 0x1D], &[0xE0, 0x14], 0x11), // right ctrl
    key(&[0xE0, 0x38], &[0xE0, 0x11], 0x12), // right alt
    key(&[0xE0, 0x35], &[0xE0, 0x4A], 0x6F), // keypad /
    key(&[0xE0, 0x1C], &[0xE0, 0x5A], 0x0D), // keypad enter
    key(&[0xE0, 0x53], &[0xE0, 0x71], 0x2E), // delete
    key(&[0xE0, 0x47], &[0xE0, 0x6C], 0x24), // home
    key(&[0xE0, 0x51], &[0xE0, 0x7A], 0x22), // page down
    key(&[0xE0, 0x5B], &[0xE0, 0x1F], 0x5B), // left windows
];

impl Key {
    /// The set-1 make code as the crate should report it.
    pub fn scancode(&self) -> u16 {
        self.set1
            .iter()
            .fold(0u16, |acc, &b| (acc << 8) | u16::from(b))
    }

    pub fn bytes(&self, set1: bool, pressed: bool) -> Vec<u8> {
        match (set1, pressed) {
            (true, true) => self.set1.to_vec(),
            (true, false) => {
                let (last, prefix) = self.set1.split_last().expect("non-empty");
                let mut v = prefix.to_vec();
                v.push(last | 0x80);
                v
            }
            (false, true) => self.set2.to_vec(),
            (false, false) => {
                let (last, prefix) = self.set2.split_last().expect("non-empty");
                let mut v = prefix.to_vec();
                v.extend([0xF0, *last]);
                v
            }
        }
    }
}

/// Feeds keyboard bytes and collects the key events.
pub fn keys(ps2: &mut Ps2, bytes: &[u8]) -> Vec<KeyEvent> {
    bytes
        .iter()
        .filter_map(|&b| match ps2.on_byte(Port::Keyboard, b) {
            Some(Event::Key(k)) => Some(k),
            Some(Event::Mouse(_)) => panic!("mouse event from keyboard byte {b:#x}"),
            None => None,
        })
        .collect()
}

fn chars(events: &[KeyEvent]) -> String {
    events.iter().filter_map(|k| k.ch).collect()
}

#[test]
fn set_1_shift_letters_and_release() {
    let mut ps2 = Ps2::new(true, 0);
    let ev = keys(&mut ps2, &[0x2A, 0x1E, 0x9E, 0xAA, 0x1E, 0x9E]);
    assert_eq!(ev.len(), 6);
    assert_eq!(
        (ev[0].scancode, ev[0].vk, ev[0].pressed, ev[0].ch),
        (0x2A, 0x10, true, None)
    );
    assert_eq!(
        (ev[1].scancode, ev[1].vk, ev[1].ch),
        (0x1E, 0x41, Some('A'))
    );
    assert_eq!((ev[2].pressed, ev[2].ch), (false, None));
    assert_eq!((ev[3].scancode, ev[3].pressed), (0x2A, false));
    assert_eq!(ev[4].ch, Some('a'));
    assert_eq!(chars(&ev), "Aa");
}

#[test]
fn set_2_shift_letters_and_release() {
    let mut ps2 = Ps2::new(false, 0);
    let ev = keys(&mut ps2, &[0x12, 0x1C, 0xF0, 0x1C, 0xF0, 0x12, 0x1C, 0x16]);
    assert_eq!(chars(&ev), "Aa1");
    assert_eq!(ev[1].scancode, 0x1E, "normalised to set 1");
    assert_eq!((ev[2].scancode, ev[2].pressed), (0x1E, false));
    assert_eq!((ev[3].scancode, ev[3].pressed), (0x2A, false));
}

#[test]
fn both_sets_give_the_same_events_for_every_table_key() {
    for k in KEYS {
        let mut one = Ps2::new(true, 0);
        let mut two = Ps2::new(false, 0);
        let mut a = keys(&mut one, &k.bytes(true, true));
        a.extend(keys(&mut one, &k.bytes(true, false)));
        let mut b = keys(&mut two, &k.bytes(false, true));
        b.extend(keys(&mut two, &k.bytes(false, false)));
        assert_eq!(a, b, "key {:#x}", k.scancode());
        assert_eq!(a.len(), 2, "key {:#x}", k.scancode());
        assert_eq!(a[0].scancode, k.scancode());
        assert_eq!(a[0].vk, k.vk, "vk of {:#x}", k.scancode());
        assert!(a[0].pressed && !a[1].pressed);
    }
}

#[test]
fn every_set_1_code_reports_itself_as_scancode() {
    let mut decoded = 0;
    for b in 0x01..=0x7Fu8 {
        let mut ps2 = Ps2::new(true, 0);
        if let Some(k) = keys(&mut ps2, &[b]).first() {
            assert_eq!(k.scancode, u16::from(b));
            assert_ne!(k.vk, 0, "code {b:#x} has a VK");
            decoded += 1;
        }
    }
    // 0x01..=0x58 less the unused 0x55.
    assert_eq!(decoded, 87);
    for b in 0x01..=0x7Fu8 {
        // 0x2A is the fake shift of Print Screen; pc-keyboard also accepts
        // the JIS keys (really unprefixed) after E0 and we report their
        // real codes.
        if matches!(b, 0x2A | 0x70 | 0x73 | 0x79 | 0x7B | 0x7D) {
            continue;
        }
        let mut ps2 = Ps2::new(true, 0);
        if let Some(k) = keys(&mut ps2, &[0xE0, b]).first() {
            assert_eq!(k.scancode, 0xE000 | u16::from(b));
        }
    }
}

#[test]
fn extended_arrows() {
    let mut ps2 = Ps2::new(true, 0);
    let ev = keys(&mut ps2, &[0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0x4B]);
    assert_eq!(ev.len(), 3);
    assert_eq!(
        (ev[0].scancode, ev[0].vk, ev[0].pressed, ev[0].ch),
        (0xE048, 0x26, true, None)
    );
    assert_eq!((ev[1].scancode, ev[1].pressed), (0xE048, false));
    assert_eq!((ev[2].scancode, ev[2].vk), (0xE04B, 0x25));
}

#[test]
fn fake_shifts_around_an_arrow_are_not_keys() {
    let mut ps2 = Ps2::new(true, 0);
    // Shift held, then Left: the keyboard wraps it in E0 AA / E0 2A.
    let ev = keys(
        &mut ps2,
        &[
            0x2A, 0xE0, 0xAA, 0xE0, 0x4B, 0xE0, 0xCB, 0xE0, 0x2A, 0x1E, 0xAA,
        ],
    );
    let codes: Vec<(u16, bool)> = ev.iter().map(|k| (k.scancode, k.pressed)).collect();
    assert_eq!(
        codes,
        [
            (0x2A, true),
            (0xE04B, true),
            (0xE04B, false),
            (0x1E, true),
            (0x2A, false)
        ]
    );
    assert_eq!(ev[3].ch, Some('A'), "shift is still held");
}

#[test]
fn typematic_repeat_is_flagged() {
    let mut ps2 = Ps2::new(true, 0);
    let ev = keys(&mut ps2, &[0x1E, 0x1E, 0x1E, 0x9E, 0x1E]);
    let flags: Vec<(bool, bool)> = ev.iter().map(|k| (k.pressed, k.repeat)).collect();
    assert_eq!(
        flags,
        [
            (true, false),
            (true, true),
            (true, true),
            (false, false),
            (true, false)
        ]
    );
    assert_eq!(chars(&ev), "aaaa");
}

#[test]
fn pause_is_one_key_in_both_sets() {
    for (set1, bytes) in [
        (true, &[0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5][..]),
        (false, &[0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77][..]),
    ] {
        let mut ps2 = Ps2::new(set1, 0);
        let ev = keys(&mut ps2, bytes);
        let seen: Vec<(u16, u8, bool, Option<char>)> = ev
            .iter()
            .map(|k| (k.scancode, k.vk, k.pressed, k.ch))
            .collect();
        assert_eq!(
            seen,
            [(0xE11D, 0x13, true, None), (0xE11D, 0x13, false, None)]
        );
        assert_eq!(ps2.locks(), LockState::default(), "Num Lock untouched");
        assert_eq!(ps2.take_output(), None);
        // The stream is back in step.
        assert_eq!(
            chars(&keys(&mut ps2, &Key::bytes(&KEYS[0], set1, true))),
            "a"
        );
    }
}

#[test]
fn print_screen_is_one_key() {
    let mut ps2 = Ps2::new(true, 0);
    let ev = keys(&mut ps2, &[0xE0, 0x2A, 0xE0, 0x37, 0xE0, 0xB7, 0xE0, 0xAA]);
    let seen: Vec<(u16, u8, bool)> = ev.iter().map(|k| (k.scancode, k.vk, k.pressed)).collect();
    assert_eq!(seen, [(0xE037, 0x2C, true), (0xE037, 0x2C, false)]);
}

#[test]
fn caps_lock_toggles_and_asks_for_an_led_update() {
    let mut ps2 = Ps2::new(true, 0);
    let ev = keys(&mut ps2, &[0x3A]);
    assert_eq!((ev[0].vk, ev[0].ch), (0x14, None));
    assert!(ps2.locks().caps);
    assert_eq!(ps2.take_output(), Some(0xED));
    assert_eq!(ps2.take_output(), None, "mask waits for the ACK");
    assert_eq!(ps2.on_byte(Port::Keyboard, 0xFA), None);
    assert_eq!(ps2.take_output(), Some(0x04));
    assert_eq!(ps2.on_byte(Port::Keyboard, 0xFA), None);
    assert_eq!(ps2.take_output(), None);

    assert_eq!(
        chars(&keys(&mut ps2, &[0xBA, 0x1E, 0x9E, 0x2A, 0x1E, 0x9E, 0xAA])),
        "Aa"
    );

    // Held: the repeat does not toggle again.
    let ev = keys(&mut ps2, &[0x3A, 0x3A]);
    assert!(ev[1].repeat);
    assert!(!ps2.locks().caps);
    assert_eq!(ps2.take_output(), Some(0xED));
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), Some(0x00));
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), None);
}

#[test]
fn num_and_scroll_lock_set_their_led_bits() {
    let mut ps2 = Ps2::new(true, 0);
    keys(&mut ps2, &[0x45, 0xC5]);
    assert_eq!(ps2.take_output(), Some(0xED));
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), Some(0x02));
    keys(&mut ps2, &[0xFA, 0x46, 0xC6]);
    assert_eq!(ps2.take_output(), Some(0xED));
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), Some(0x03));
    keys(&mut ps2, &[0xFA]);
    assert_eq!(
        ps2.locks(),
        LockState {
            caps: false,
            num: true,
            scroll: true
        }
    );
}

#[test]
fn numpad_follows_num_lock() {
    let mut ps2 = Ps2::new(true, 0);
    let off = keys(&mut ps2, &[0x47, 0xC7]);
    assert_eq!((off[0].vk, off[0].ch), (0x24, None));
    let on = keys(&mut ps2, &[0x45, 0xC5, 0xFA, 0xFA, 0x47]);
    assert_eq!((on[2].vk, on[2].ch), (0x67, Some('7')));
}

#[test]
fn ctrl_letters_are_control_characters() {
    let mut ps2 = Ps2::new(true, 0);
    let ev = keys(&mut ps2, &[0x1D, 0x2E, 0xAE, 0x9D, 0x2E]);
    assert_eq!(chars(&ev), "\u{3}c");
}

#[test]
fn acks_are_swallowed_even_mid_sequence() {
    let mut ps2 = Ps2::new(true, 0);
    let ev = keys(&mut ps2, &[0xFA, 0xE0, 0xFA, 0x48, 0xFE, 0x1E]);
    let codes: Vec<u16> = ev.iter().map(|k| k.scancode).collect();
    assert_eq!(codes, [0xE048, 0x1E]);
    assert_eq!(ps2.take_output(), None, "no command was in flight");
}

#[test]
fn a_resend_repeats_the_byte_once() {
    let mut ps2 = Ps2::new(true, 0);
    keys(&mut ps2, &[0x3A]);
    assert_eq!(ps2.take_output(), Some(0xED));
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), Some(0x04));
    keys(&mut ps2, &[0xFE]);
    assert_eq!(ps2.take_output(), Some(0x04), "resent");
    keys(&mut ps2, &[0xFE]);
    assert_eq!(ps2.take_output(), None, "given up after one resend");
    // The link is free again: the next lock key starts a new command.
    keys(&mut ps2, &[0xBA, 0x45]);
    assert_eq!(ps2.take_output(), Some(0xED));
}

#[test]
fn a_lock_change_during_a_command_sends_the_latest_mask() {
    let mut ps2 = Ps2::new(true, 0);
    keys(&mut ps2, &[0x3A]);
    assert_eq!(ps2.take_output(), Some(0xED));
    keys(&mut ps2, &[0x45]);
    assert_eq!(ps2.take_output(), None, "one command at a time");
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), Some(0x06));
    // A change while the mask itself awaits its ACK: a second command.
    keys(&mut ps2, &[0x46]);
    assert_eq!(ps2.take_output(), None, "one command at a time");
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), Some(0xED));
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), Some(0x07));
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), None);
}

#[test]
fn a_lost_reply_frees_the_link() {
    let mut ps2 = Ps2::new(true, 0);
    keys(&mut ps2, &[0x3A, 0xBA]);
    assert_eq!(ps2.take_output(), Some(0xED));
    keys(&mut ps2, &[0x45]);
    // No ACK ever comes; the keyboard goes on sending keys.
    let ev = keys(&mut ps2, &[0xC5, 0x1E, 0x9E, 0x1E, 0x9E, 0x1E]);
    assert_eq!(ev.len(), 6, "keys still decode");
    assert_eq!(ps2.take_output(), Some(0xED), "pending update restarted");
    keys(&mut ps2, &[0xFA]);
    assert_eq!(ps2.take_output(), Some(0x06));
}

#[test]
fn device_special_bytes_are_not_keys() {
    for set1 in [true, false] {
        let mut ps2 = Ps2::new(set1, 0);
        assert!(keys(&mut ps2, &[0x00, 0xFF, 0xEE, 0xFC, 0xFD, 0xFA, 0xFE]).is_empty());
    }
    // Set 2 also reports its self-test pass (hot plug) 0xAA: not a key.
    let mut ps2 = Ps2::new(false, 0);
    assert!(keys(&mut ps2, &[0xAA]).is_empty());
}
