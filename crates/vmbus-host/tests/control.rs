//! The control plane driven by hand-written guest bytes (§3, §8.1, §8.2).

mod common;

use common::*;
use vmbus_host::device::keyboard::Keyboard;
use vmbus_host::{HostConfig, Note, SintInterrupt};

#[test]
fn contact_on_id_4_answers_the_sheet_vector() {
    let mut h = host(HostConfig::default());
    synic_up(&mut h);
    assert_eq!(post(&mut h, 4, &CONTACT_50), 0);
    // §9.1: success VERSION_RESPONSE, msg_conn_id 1, 16 bytes.
    assert_eq!(
        recv(&mut h).unwrap(),
        [0x0f, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    );
    assert_eq!(
        h.platform().interrupts(),
        [SintInterrupt {
            vp: 0,
            sint: 2,
            vector: VECTOR,
            auto_eoi: true
        }]
    );
}

#[test]
fn contact_60_like_uefi_on_id_1_gets_20_bytes() {
    let mut h = host(HostConfig::default());
    synic_up(&mut h);
    assert_eq!(post(&mut h, 1, &CONTACT_60_UEFI), 0);
    assert_eq!(
        recv(&mut h).unwrap(),
        [0x0f, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0]
    );
    let c = h.connection().unwrap();
    assert_eq!((c.version, c.features, c.contacted_on), (0x0006_0000, 8, 1));
    assert!(c.client_id.is_some());
}

#[test]
fn unknown_versions_get_an_all_zero_response() {
    let mut h = host(HostConfig::default());
    synic_up(&mut h);
    for v in [0x0007_0000u32, 0x0001_0001, 0x0000_000D, 0x0005_0004] {
        assert_eq!(post(&mut h, 1, &contact(v)), 0);
        assert_eq!(
            recv(&mut h).unwrap(),
            [0x0f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }
    assert!(h.connection().is_none());
}

#[test]
fn refusing_60_makes_the_guest_fall_back() {
    let mut h = host(HostConfig::refusing_v6());
    synic_up(&mut h);
    assert_eq!(post(&mut h, 1, &CONTACT_60_UEFI), 0);
    assert_eq!(
        recv(&mut h).unwrap(),
        [0x0f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(post(&mut h, 1, &contact(0x0005_0003)), 0);
    assert_eq!(recv(&mut h).unwrap()[8], 1);
    assert_eq!(h.connection().unwrap().version, 0x0005_0003);
}

#[test]
fn a_pre_50_host_does_not_know_connection_id_4() {
    let mut h = host(HostConfig {
        highest_version: 0x0004_0000,
        ..HostConfig::default()
    });
    synic_up(&mut h);
    // INVALID_CONNECTION_ID (0x12): the guest steps down (§1.5).
    assert_eq!(post(&mut h, 4, &CONTACT_50), 0x12);
    assert_eq!(post(&mut h, 7, &CONTACT_50), 0x12);
    assert_eq!(post(&mut h, 1, &contact(0x0004_0000)), 0);
    // Below 5.0 OpenVMM puts the version at +0x0C (§3.4).
    assert_eq!(
        recv(&mut h).unwrap(),
        [0x0f, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0]
    );
}

#[test]
fn one_monitor_page_is_refused_with_state_2() {
    let mut h = host(HostConfig::default());
    synic_up(&mut h);
    let mut m = CONTACT_50;
    m[0x20..0x28].fill(0);
    assert_eq!(post(&mut h, 4, &m), 0);
    assert_eq!(
        recv(&mut h).unwrap(),
        [0x0f, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 1, 0, 0, 0]
    );
    assert!(h.connection().is_none());
}

#[test]
fn messages_before_contact_vanish() {
    let mut h = host(HostConfig::default());
    synic_up(&mut h);
    assert_eq!(post(&mut h, 1, &REQUEST_OFFERS), 0);
    assert_eq!(post(&mut h, 1, &UNLOAD), 0);
    assert!(recv(&mut h).is_none());
    assert!(h
        .notes()
        .any(|n| matches!(n, Note::BeforeContact { msgtype: 16 })));
}

#[test]
fn offers_then_alloffers_delivered() {
    let mut h = host(HostConfig::default());
    let kb = h.add_device(Box::new(Keyboard::new()));
    let offers = connect(&mut h);
    assert_eq!(offers.len(), 1);
    let o = &offers[0];
    assert_eq!(o.len(), 196);
    assert_eq!(&o[8..24], &KEYBOARD_GUID);
    assert_eq!(le32(o, 0xB8), 1);
    assert_eq!((o[0xBC], o[0xBD], le16(o, 0xBE)), (0xFF, 0, 1));
    assert_eq!(le32(o, 0xC0), 0x2001);
    assert_eq!(h.relid(kb), Some(1));
    // A second REQUESTOFFERS is ignored.
    assert_eq!(post(&mut h, 1, &REQUEST_OFFERS), 0);
    assert!(recv(&mut h).is_none());
}

fn created(relid: u32, gpadl: u32, status: u32) -> Vec<u8> {
    let mut v = vec![10, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut v, relid);
    push32(&mut v, gpadl);
    push32(&mut v, status);
    v
}

#[test]
fn gpadl_errors_are_answered_at_once() {
    let mut h = host(HostConfig::default());
    h.add_device(Box::new(Keyboard::new()));
    connect(&mut h);
    // Unknown relid.
    let m = &gpadl_messages(9, 0x10, &[0x100, 0x101])[0];
    assert_eq!(post(&mut h, 1, m), 0);
    assert_eq!(recv(&mut h).unwrap(), created(9, 0x10, 0x8000_FFFF));
    // Good one, then the same handle again.
    let m = &gpadl_messages(1, 0x10, &[0x100, 0x101])[0];
    post(&mut h, 1, m);
    assert_eq!(recv(&mut h).unwrap(), created(1, 0x10, 0));
    post(&mut h, 1, m);
    assert_eq!(recv(&mut h).unwrap(), created(1, 0x10, 0x8000_FFFF));
    // range_buflen inconsistent with the range (PFN count mismatch).
    let mut bad = gpadl_messages(1, 0x11, &[0x100, 0x101])[0].clone();
    bad[0x14..0x18].copy_from_slice(&(3 * 4096u32).to_le_bytes());
    post(&mut h, 1, &bad);
    assert_eq!(recv(&mut h).unwrap(), created(1, 0x11, 0x8000_FFFF));
    // A BODY for a handle nobody is building is dropped silently.
    post(&mut h, 1, &gpadl_messages(1, 0x12, &[7; 30])[1]);
    assert!(recv(&mut h).is_none());
    assert!(h
        .notes()
        .any(|n| matches!(n, Note::GpadlBodyUnknown { gpadl: 0x12 })));
}

#[test]
fn openchannel_validation() {
    let mut h = host(HostConfig::default());
    h.add_device(Box::new(Keyboard::new()));
    connect(&mut h);
    let result = |status: u32| {
        let mut v = vec![6, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
        push32(&mut v, status);
        v
    };
    // Unknown GPADL.
    post(&mut h, 1, &open_channel(1, 0x55, 0, 2));
    assert_eq!(recv(&mut h).unwrap(), result(0x8000_FFFF));
    let pfns: Vec<u64> = (0x100..0x104).collect();
    post(&mut h, 1, &gpadl_messages(1, 0x55, &pfns)[0]);
    recv(&mut h).unwrap();
    // Split leaving a ring without a data page, and split 0.
    for split in [0, 1, 3, 4] {
        post(&mut h, 1, &open_channel(1, 0x55, 0, split));
        assert_eq!(recv(&mut h).unwrap(), result(0x8000_FFFF), "split {split}");
    }
    // Bad ring header: read_index of the guest → host ring unaligned.
    write(&mut h, 0x10_0004, &[4, 0, 0, 0]);
    post(&mut h, 1, &open_channel(1, 0x55, 0, 2));
    assert_eq!(recv(&mut h).unwrap(), result(0x8000_FFFF));
    write(&mut h, 0x10_0004, &[0, 0, 0, 0]);
    post(&mut h, 1, &open_channel(1, 0x55, 0, 2));
    assert_eq!(recv(&mut h).unwrap(), result(0));
    // Already open: noted, no reply.
    post(&mut h, 1, &open_channel(1, 0x55, 0, 2));
    assert!(recv(&mut h).is_none());
    // Tearing down the ring GPADL of an open channel waits for close.
    let mut td = vec![11, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
    push32(&mut td, 0x55);
    post(&mut h, 1, &td);
    assert!(recv(&mut h).is_none());
    post(&mut h, 1, &[7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        recv(&mut h).unwrap(),
        [12, 0, 0, 0, 0, 0, 0, 0, 0x55, 0, 0, 0]
    );
}

#[test]
fn rescind_with_a_gpadl_pending_fails_it_first() {
    let mut h = host(HostConfig::default());
    let kb = h.add_device(Box::new(Keyboard::new()));
    connect(&mut h);
    let pfns: Vec<u64> = (0x100..0x100 + 40).collect();
    let msgs = gpadl_messages(1, 0x66, &pfns);
    post(&mut h, 1, &msgs[0]); // header only; the BODY never comes
    assert!(recv(&mut h).is_none());
    assert!(h.rescind(kb));
    assert_eq!(recv(&mut h).unwrap(), created(1, 0x66, 0x8000_FFFF));
    assert_eq!(recv(&mut h).unwrap(), [2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    // The late BODY is dropped.
    post(&mut h, 1, &msgs[1]);
    assert!(recv(&mut h).is_none());
}

#[test]
fn control_messages_go_to_target_vcpu() {
    let mut h = host(HostConfig {
        vp_count: 2,
        ..HostConfig::default()
    });
    synic_up(&mut h);
    // VP 1 gets its own SIMP at 0x8000.
    h.wrmsr(1, 0x4000_0083, 0x8000 | 1).unwrap();
    h.wrmsr(1, 0x4000_0092, 0x60).unwrap();
    h.wrmsr(1, 0x4000_0080, 1).unwrap();
    assert_eq!(h.rdmsr(1, 0x4000_0002), Ok(1));
    let mut m = contact(0x0005_0000);
    m[0x0C] = 1;
    post(&mut h, 4, &m);
    assert!(recv(&mut h).is_none());
    assert_eq!(read(&h, 0x8200, 4), [1, 0, 0, 0]);
    assert_eq!(h.platform().interrupts()[0].vp, 1);
    assert_eq!(h.platform().interrupts()[0].vector, 0x60);
}

#[test]
fn msr_rules() {
    let mut h = host(HostConfig::default());
    // Hypercall page stays off without a guest OS id (TLFS).
    h.wrmsr(0, 0x4000_0001, HC_PAGE | 1).unwrap();
    assert_eq!(h.rdmsr(0, 0x4000_0001), Ok(HC_PAGE));
    assert_eq!(h.hypercall(0, 0x5C, INPUT, 0), 2);
    h.wrmsr(0, 0x4000_0000, 1).unwrap();
    h.wrmsr(0, 0x4000_0001, HC_PAGE | 1).unwrap();
    assert_eq!(read(&h, HC_PAGE, 4), [0x0F, 0x01, 0xC1, 0xC3]);
    assert!(h.wrmsr(0, 0x4000_0001, HC_PAGE | 1 | 1 << 5).is_err());
    assert!(h.wrmsr(0, 0x4000_0002, 5).is_err());
    assert!(
        h.wrmsr(0, 0x4000_0092, 0x05).is_err(),
        "vector < 16 unmasked"
    );
    assert!(h.rdmsr(0, 0x4000_00B0).is_err());
    assert_eq!(h.rdmsr(0, 0x4000_0081), Ok(1));
    assert_eq!(h.rdmsr(0, 0x4000_0095), Ok(1 << 16), "SINTs reset masked");
    h.advance_time(1234);
    assert_eq!(h.rdmsr(0, 0x4000_0020), Ok(1234));
    let l = h.cpuid(0x4000_0000).unwrap();
    assert_eq!(
        (l.ebx, l.ecx, l.edx),
        (0x7263_694D, 0x666F_736F, 0x7648_2074)
    );
    assert_eq!(h.cpuid(0x4000_0001).unwrap().eax, 0x3123_7648);
    assert_eq!(h.cpuid(0x4000_0003).unwrap().eax & 0x24, 0x24);
    assert!(h.cpuid(0x4000_0006).is_none());
}

#[test]
fn hypercall_input_errors() {
    let mut h = host(HostConfig::default());
    synic_up(&mut h);
    assert_eq!(h.hypercall(0, 0x5C, INPUT + 4, 0), 4, "unaligned");
    assert_eq!(h.hypercall(0, 0x5C, 0x1F80, 0), 4, "crosses a page");
    assert_eq!(h.hypercall(0, 0x1_005C, INPUT, 0), 3, "fast PostMessage");
    assert_eq!(h.hypercall(0, 0x5C | 1 << 32, INPUT, 0), 3, "rep count");
    assert_eq!(h.hypercall(0, 0x99, INPUT, 0), 2, "unknown call code");
    let mut b = vec![0u8; 256];
    b[0] = 1;
    b[8] = 1;
    b[12] = 241;
    write(&mut h, INPUT, &b);
    assert_eq!(h.hypercall(0, 0x5C, INPUT, 0), 5, "payload too big");
    assert_eq!(
        h.hypercall(0, 0x5C, 0x4000_0000_0000, 0),
        5,
        "no memory there"
    );
    // Memory-form HvSignalEvent on an unknown connection id.
    write(&mut h, INPUT, &[0x08, 0x20, 0, 0, 0, 0, 0, 0]);
    assert_eq!(h.hypercall(0, 0x5D, INPUT, 0), 0x12);
}
