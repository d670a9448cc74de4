//! The keyboard end to end, plus the SynIC rules it exercises (§2, §4, §6.1).

mod common;

use common::*;
use vmbus_host::device::keyboard::{Keyboard, KeyboardState};
use vmbus_host::{ChannelFailure, ChannelPhase, DeviceError, HostConfig};

/// §9.5 PROTOCOL_REQUEST v1.0.
const PROTOCOL_REQUEST: [u8; 8] = [1, 0, 0, 0, 0, 0, 1, 0];

fn keyboard_up(pages: u64) -> (TestHost, vmbus_host::DeviceId, Chan) {
    let mut h = host(HostConfig::default());
    let kb = h.add_device(Box::new(Keyboard::new()));
    let offers = connect(&mut h);
    let offer = find_offer(&offers, &KEYBOARD_GUID).to_vec();
    let mut c = open(&mut h, &offer, 0x10_0000, pages, 0xE1E10);
    c.send_inband(&mut h, &PROTOCOL_REQUEST, true);
    h.run_until_idle(10);
    assert!(take_event(&mut h, c.relid));
    let got = c.recv(&mut h);
    assert_eq!(got.len(), 1, "only the response, no COMP");
    assert_eq!(got[0].0, 6);
    assert_eq!(&got[0].3[16..24], &[2, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        h.device::<Keyboard>(kb).unwrap().state(),
        KeyboardState::Ready
    );
    (h, kb, c)
}

#[test]
fn gpadl_over_several_body_messages_and_a_key_event() {
    // 40 + 40 pages: 80 PFNs = header 26 + bodies 28 + 26.
    assert_eq!(gpadl_messages(1, 2, &[0; 80]).len(), 3);
    let (mut h, kb, c) = keyboard_up(40);
    let before = h.platform().interrupts().len();
    assert!(h
        .device_mut::<Keyboard>(kb)
        .unwrap()
        .press(0x1E, false, false));
    h.run_until_idle(10);
    assert!(take_event(&mut h, c.relid));
    assert_eq!(h.platform().interrupts().len(), before + 1);
    // §9.5 EVENT 'A' down.
    assert_eq!(
        c.recv_payloads(&mut h),
        [vec![3, 0, 0, 0, 0x1e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
    );
}

#[test]
fn no_signal_while_the_ring_is_not_empty_or_masked() {
    let (mut h, kb, c) = keyboard_up(2);
    let n0 = h.platform().interrupts().len();
    let k = h.device_mut::<Keyboard>(kb).unwrap();
    k.press(0x1E, false, false);
    h.step();
    assert_eq!(h.platform().interrupts().len(), n0 + 1);
    // Not read yet and the event bit still set: no new interrupt.
    h.device_mut::<Keyboard>(kb)
        .unwrap()
        .press(0x1E, true, false);
    h.step();
    assert_eq!(h.platform().interrupts().len(), n0 + 1);
    assert_eq!(c.recv(&mut h).len(), 2);
    // Guest masks interrupts (interrupt_mask = 1): written, not signalled.
    assert!(take_event(&mut h, c.relid));
    write(&mut h, c.in_hdr() + 8, &[1, 0, 0, 0]);
    h.device_mut::<Keyboard>(kb)
        .unwrap()
        .press(0x1D, false, true);
    h.step();
    assert_eq!(h.platform().interrupts().len(), n0 + 1);
    assert!(!take_event(&mut h, c.relid));
    assert_eq!(
        c.recv_payloads(&mut h),
        [vec![3, 0, 0, 0, 0x1d, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]]
    );
}

#[test]
fn no_signal_when_the_ring_was_already_non_empty() {
    let (mut h, kb, c) = keyboard_up(2);
    let n0 = h.platform().interrupts().len();
    h.device_mut::<Keyboard>(kb)
        .unwrap()
        .press(0x1E, false, false);
    h.step();
    assert_eq!(h.platform().interrupts().len(), n0 + 1);
    // The guest clears the event bit but has not drained the ring yet:
    // the next packet must not signal (§4.4 step 4).
    assert!(take_event(&mut h, c.relid));
    h.device_mut::<Keyboard>(kb)
        .unwrap()
        .press(0x1E, true, false);
    h.step();
    assert!(!take_event(&mut h, c.relid));
    assert_eq!(h.platform().interrupts().len(), n0 + 1);
    assert_eq!(c.recv(&mut h).len(), 2);
}

#[test]
fn event_flag_interrupts_only_on_0_to_1() {
    let (mut h, kb, c) = keyboard_up(2);
    let n0 = h.platform().interrupts().len();
    h.device_mut::<Keyboard>(kb)
        .unwrap()
        .press(0x10, false, false);
    h.step();
    c.recv(&mut h); // ring drained but the event bit left set
    h.device_mut::<Keyboard>(kb)
        .unwrap()
        .press(0x10, true, false);
    h.step();
    assert_eq!(h.platform().interrupts().len(), n0 + 1, "bit was still 1");
    c.recv(&mut h);
    assert!(take_event(&mut h, c.relid));
    h.device_mut::<Keyboard>(kb)
        .unwrap()
        .press(0x11, false, false);
    h.step();
    assert_eq!(h.platform().interrupts().len(), n0 + 2);
}

#[test]
fn wrong_version_gets_status_0_and_a_retry_works() {
    let mut h = host(HostConfig::default());
    let kb = h.add_device(Box::new(Keyboard::new()));
    let offers = connect(&mut h);
    let mut c = open(&mut h, &offers[0], 0x10_0000, 2, 7);
    c.send_inband(&mut h, &[1, 0, 0, 0, 0, 0, 2, 0], true);
    h.step();
    assert_eq!(c.recv_payloads(&mut h), [vec![2, 0, 0, 0, 0, 0, 0, 0]]);
    assert!(!h
        .device_mut::<Keyboard>(kb)
        .unwrap()
        .press(0x1E, false, false));
    c.send_inband(&mut h, &PROTOCOL_REQUEST, true);
    h.step();
    assert_eq!(c.recv_payloads(&mut h), [vec![2, 0, 0, 0, 1, 0, 0, 0]]);
    // §9.5 SET_LED_INDICATORS caps lock.
    c.send_inband(&mut h, &[4, 0, 0, 0, 4, 0, 0, 0], false);
    h.step();
    assert_eq!(h.device::<Keyboard>(kb).unwrap().leds(), Some(4));
}

#[test]
fn a_gpa_direct_packet_stops_the_keyboard() {
    let (mut h, kb, c) = keyboard_up(2);
    let mut p = Vec::new();
    push16(&mut p, 9);
    push16(&mut p, 5);
    push16(&mut p, 6);
    push16(&mut p, 1);
    push64(&mut p, 9);
    push32(&mut p, 0);
    push32(&mut p, 1);
    push32(&mut p, 8);
    push32(&mut p, 0);
    push64(&mut p, 0x300);
    p.extend_from_slice(&PROTOCOL_REQUEST);
    assert!(c.send_raw(&mut h, &p));
    h.step();
    assert_eq!(
        h.channel_failure(kb),
        Some(ChannelFailure::Device(DeviceError::UnexpectedPacket(9)))
    );
}

#[test]
fn simp_busy_slot_sets_pending_and_eom_delivers_the_next() {
    let mut h = host(HostConfig::default());
    for _ in 0..3 {
        h.add_device(Box::new(Keyboard::new()));
    }
    synic_up(&mut h);
    assert_eq!(post(&mut h, 1, &contact(0x0005_0000)), 0);
    recv(&mut h).unwrap();
    let n0 = h.platform().interrupts().len();
    assert_eq!(post(&mut h, 1, &REQUEST_OFFERS), 0);
    // Three offers + ALLOFFERS queued; one in the slot, pending flag set.
    let slot = read(&h, SIMP + 0x200, 256);
    assert_eq!((le32(&slot, 0), slot[4], slot[5]), (1, 196, 1));
    assert_eq!(h.queued_messages(0), 3);
    assert_eq!(h.platform().interrupts().len(), n0 + 1);
    // Clearing the slot without EOM delivers nothing.
    write(&mut h, SIMP + 0x200, &[0, 0, 0, 0]);
    h.run_until_idle(5);
    assert_eq!(le32(&read(&h, SIMP + 0x200, 4), 0), 0);
    h.eom(0);
    assert_eq!(le32(&read(&h, SIMP + 0x200, 4), 0), 1);
    assert_eq!(h.platform().interrupts().len(), n0 + 2);
    let rest = recv_all(&mut h);
    assert_eq!(rest.len(), 3);
    assert_eq!(rest[2], [4, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn nothing_is_delivered_while_masked_or_disabled() {
    let mut h = host(HostConfig::default());
    synic_up(&mut h);
    let s2 = h.rdmsr(0, 0x4000_0092).unwrap();
    h.wrmsr(0, 0x4000_0092, s2 | 1 << 16).unwrap();
    assert_eq!(post(&mut h, 1, &contact(0x0005_0000)), 0);
    assert!(recv(&mut h).is_none());
    assert!(h.platform().interrupts().is_empty());
    h.wrmsr(0, 0x4000_0092, s2).unwrap();
    assert_eq!(recv(&mut h).unwrap()[8], 1);
    assert_eq!(h.platform().interrupts().len(), 1);
}

#[test]
fn signal_before_open_and_after_close_is_refused() {
    let (mut h, kb, c) = keyboard_up(2);
    // Both rings' pages, from 0x10_0000 on, are the host's until the
    // teardown.
    assert_eq!(h.gpadl_pfns(), [0x100, 0x101, 0x102, 0x103]);
    assert_eq!(signal(&mut h, c.conn), 0);
    assert_eq!(signal(&mut h, 0x2055), 0x12);
    // Flag number 1 on a channel whose flag is 0.
    assert_eq!(
        h.hypercall(0, 0x1_005D, u64::from(c.conn) | 1 << 32, 0) & 0xFFFF,
        5
    );
    let mut close = vec![7, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut close, c.relid);
    assert_eq!(post(&mut h, 1, &close), 0);
    assert_eq!(h.phase(kb), Some(ChannelPhase::Offered));
    assert_eq!(signal(&mut h, c.conn), 0x12);
    // Teardown after close is answered with GPADL_TORNDOWN.
    let mut td = vec![11, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut td, c.relid);
    push32(&mut td, c.gpadl);
    assert_eq!(post(&mut h, 1, &td), 0);
    let mut want = vec![12, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut want, c.gpadl);
    assert_eq!(recv(&mut h).unwrap(), want);
    assert_eq!(h.gpadl_count(), 0);
    assert!(h.gpadl_pfns().is_empty());
}

#[test]
fn rescind_then_relid_released() {
    let (mut h, kb, c) = keyboard_up(2);
    assert!(h.rescind(kb));
    let mut want = vec![2, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut want, c.relid);
    assert_eq!(recv(&mut h).unwrap(), want);
    assert_eq!(h.phase(kb), Some(ChannelPhase::Revoked));
    assert_eq!(signal(&mut h, c.conn), 0x12);
    let mut rel = vec![13, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut rel, c.relid);
    assert_eq!(post(&mut h, 1, &rel), 0);
    assert_eq!(h.phase(kb), Some(ChannelPhase::Removed));
    assert!(!h.rescind(kb));
}

#[test]
fn unload_and_recontact_start_clean() {
    let (mut h, kb, _c) = keyboard_up(2);
    assert_eq!(post(&mut h, 1, &UNLOAD), 0);
    assert_eq!(recv(&mut h).unwrap(), [17, 0, 0, 0, 0, 0, 0, 0]);
    assert!(h.connection().is_none());
    assert_eq!(h.phase(kb), Some(ChannelPhase::Unoffered));
    assert_eq!(h.gpadl_count(), 0);
    // Re-contact on id 4 this time; the keyboard is offered again.
    assert_eq!(post(&mut h, 4, &CONTACT_50), 0);
    assert_eq!(recv(&mut h).unwrap()[8], 1);
    assert_eq!(post(&mut h, 1, &REQUEST_OFFERS), 0);
    let msgs = recv_all(&mut h);
    assert_eq!(msgs.len(), 2);
    assert_eq!(le32(&msgs[0], 0xB8), 1);
    let c = open(&mut h, &msgs[0], 0x20_0000, 2, 0x99);
    assert_eq!(c.relid, 1);
}

#[test]
fn modifychannel_gets_a_response_from_5_3() {
    let mut h = host(HostConfig::default());
    h.add_device(Box::new(Keyboard::new()));
    synic_up(&mut h);
    assert_eq!(post(&mut h, 1, &contact(0x0005_0003)), 0);
    recv(&mut h).unwrap();
    post(&mut h, 1, &REQUEST_OFFERS);
    let offers = recv_all(&mut h);
    let c = open(&mut h, &offers[0], 0x10_0000, 2, 3);
    let mut m = vec![22, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut m, c.relid);
    push32(&mut m, 0);
    assert_eq!(post(&mut h, 1, &m), 0);
    let mut want = vec![24, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut want, c.relid);
    push32(&mut want, 0);
    assert_eq!(recv(&mut h).unwrap(), want);
}
