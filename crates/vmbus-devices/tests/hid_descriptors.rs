//! The HID parser on other shapes of descriptors and on hostile ones.

use vmbus_devices::hid::{parse_mouse, HidError, MAX_DEPTH, MAX_DESCRIPTOR_LEN};

#[test]
fn report_ids_and_relative_boot_mouse() {
    // Report 2 is a boot-style relative mouse; report 1 is something else.
    let d = [
        0x05, 0x01, 0x09, 0x02, 0xA1, 0x01, //
        0x85, 0x01, 0x75, 0x08, 0x95, 0x02, 0x81, 0x03, // report 1: 16 bits constant
        0x85, 0x02, 0x05, 0x09, 0x19, 0x01, 0x29, 0x03, 0x15, 0x00, 0x25, 0x01, //
        0x95, 0x03, 0x75, 0x01, 0x81, 0x02, 0x95, 0x01, 0x75, 0x05, 0x81, 0x01, //
        0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x15, 0x81, 0x25, 0x7F, //
        0x75, 0x08, 0x95, 0x02, 0x81, 0x06, 0xC0,
    ];
    let l = parse_mouse(&d).unwrap();
    assert_eq!(l.report_id, Some(2));
    assert_eq!(l.report_len, 3);
    assert!(l.x.relative && l.x.signed);
    let r = l.decode(&[2, 0x05, 0xFE, 0x03]).unwrap().unwrap();
    assert_eq!((r.buttons, r.x, r.y, r.absolute), (0b101, -2, 3, false));
    // Another report id: not ours.
    assert_eq!(l.decode(&[1, 0, 0]).unwrap(), None);
    assert!(l.decode(&[2, 0]).is_err());
    assert!(l.decode(&[]).is_err());
}

#[test]
fn extended_usages_and_push_pop() {
    // X/Y named with 4-byte usages (page in the high half), logical range
    // pushed and popped around a constant field.
    let d = [
        0x15, 0x00, 0x26, 0xFF, 0x0F, 0x75, 0x10, 0x95, 0x01, //
        0xA4, 0x75, 0x08, 0x81, 0x01, 0xB4, // push, 8-bit pad, pop
        0x0B, 0x30, 0x00, 0x01, 0x00, 0x81, 0x02, // X (0x0001_0030)
        0x0B, 0x31, 0x00, 0x01, 0x00, 0x81, 0x02, // Y
    ];
    let l = parse_mouse(&d).unwrap();
    assert_eq!(
        (l.x.bits.offset, l.y.bits.offset, l.x.logical_max),
        (8, 24, 0xFFF)
    );
    let r = l.decode(&[0, 0xFF, 0x0F, 0, 0]).unwrap().unwrap();
    assert_eq!((r.x, r.y), (0x7FFF, 0));
}

#[test]
fn hostile_descriptors() {
    assert_eq!(parse_mouse(&[]), Err(HidError::NoPointer));
    assert_eq!(
        parse_mouse(&[0x26, 0xFF]),
        Err(HidError::Truncated { at: 0 })
    );
    assert_eq!(parse_mouse(&[0xC0]), Err(HidError::CollectionUnderflow));
    assert_eq!(parse_mouse(&[0xB4]), Err(HidError::PopUnderflow));
    assert_eq!(parse_mouse(&[0xA4; 5]), Err(HidError::PushOverflow));
    assert_eq!(parse_mouse(&[0x85, 0x00]), Err(HidError::ZeroReportId));
    assert_eq!(parse_mouse(&[0x0C]), Err(HidError::ReservedItem { at: 0 }));
    let deep = [0xA1, 0x00].repeat(MAX_DEPTH + 1);
    assert_eq!(parse_mouse(&deep), Err(HidError::TooDeep));
    let long = vec![0u8; MAX_DESCRIPTOR_LEN + 1];
    assert_eq!(
        parse_mouse(&long),
        Err(HidError::TooLong(MAX_DESCRIPTOR_LEN + 1))
    );
    // Huge report size × count: overflow refused.
    let huge = [
        0x77, 0xFF, 0xFF, 0xFF, 0xFF, 0x97, 0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x02,
    ];
    assert_eq!(parse_mouse(&huge), Err(HidError::ReportTooLarge));
    // Big but not overflowing: beyond the report cap.
    let big = [0x75, 0x20, 0x96, 0x00, 0x10, 0x81, 0x01];
    assert_eq!(parse_mouse(&big), Err(HidError::ReportTooLarge));
    // Too many usages before one main item.
    let usages = [0x09, 0x30].repeat(40);
    assert_eq!(parse_mouse(&usages), Err(HidError::TooManyUsages));
    // Too many report ids.
    let mut ids = Vec::new();
    for id in 1..=20u8 {
        ids.extend_from_slice(&[0x85, id, 0x75, 0x01, 0x95, 0x01, 0x81, 0x01]);
    }
    assert_eq!(parse_mouse(&ids), Err(HidError::TooManyReports));
    // Absolute X/Y without a logical range.
    let flat = [
        0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x75, 0x08, 0x95, 0x02, 0x81, 0x02,
    ];
    assert_eq!(parse_mouse(&flat), Err(HidError::BadAxis));
    // Long items are skipped; truncated ones refused.
    assert_eq!(
        parse_mouse(&[0xFE, 0x04, 0x00, 1, 2]),
        Err(HidError::Truncated { at: 0 })
    );
}
