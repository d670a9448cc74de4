//! What a hostile netvsc host might send (§6.5): ranges outside the buffer,
//! malformed RNDIS and NVSP, broken completions, packed replies. Each is an
//! error value; none panics, and none leaves the bring-up waiting forever.

mod common;

use common::net_fake::{
    comp, config, feed, frame, init_cmplt, pump, query_cmplt, ready, rx_packet, Host, MAC,
    SEND_LEN, SUB,
};
use common::{hex, xfer_packet, Bytes};
use vmbus_devices::netvsc::{NetBuffers, Netvsc, NetvscError, NetvscEvent, NetvscState};
use vmbus_devices::{Incoming, Output};

#[test]
fn hostile_receives_are_refused_but_completed() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let good = rx_packet(&frame(60), None);
    host.recv[..good.len()].copy_from_slice(&good);
    let nvsp = Bytes::new().u32(107).u32(0).u32(0).u32(0).done();
    type Check = fn(&NetvscError) -> bool;
    let cases: Vec<(Vec<u8>, Check)> = vec![
        // Range past the section end / past the buffer.
        (xfer_packet(1, 0xCAFE, &[(SUB, 64 * SUB)], &nvsp), |e| {
            matches!(e, NetvscError::RangeOutOfBuffer { .. })
        }),
        (xfer_packet(2, 0xCAFE, &[(u32::MAX, 0)], &nvsp), |e| {
            matches!(e, NetvscError::RangeOutOfBuffer { .. })
        }),
        // Another page set.
        (xfer_packet(3, 0xBEEF, &[(SUB, 0)], &nvsp), |e| {
            *e == NetvscError::BadPageset(0xBEEF)
        }),
        // message_length beyond the range.
        (xfer_packet(4, 0xCAFE, &[(100, 0)], &nvsp), |e| {
            matches!(e, NetvscError::RndisBadLength(_))
        }),
        // Payload that is not SEND_RNDIS_PACKET.
        (
            xfer_packet(5, 0xCAFE, &[(SUB, 0)], &Bytes::new().u32(108).u32(1).done()),
            |e| *e == NetvscError::UnexpectedNvsp(108),
        ),
        // No ranges at all.
        (xfer_packet(6, 0xCAFE, &[], &nvsp), |e| {
            matches!(e, NetvscError::Wire(_))
        }),
    ];
    for (pkt, check) in cases {
        let mut out = Output::new();
        let e = feed(&mut nic, &mut host, &pkt, &mut out).unwrap_err();
        assert!(check(&e), "{e:?}");
        assert!(out.events.is_empty());
        // Completed anyway, with FAILURE.
        assert_eq!(out.sends.len(), 1);
        assert_eq!(out.sends[0].payload, hex("6c 00 00 00 02 00 00 00"));
    }
    assert_eq!(nic.state(), NetvscState::Ready);
}

#[test]
fn hostile_packet_messages() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let mut try_msg = |msg: Vec<u8>| {
        let pkt = host.deliver(0, &msg);
        let mut out = Output::new();
        let r = feed(&mut nic, &mut host, &pkt, &mut out);
        assert!(out.events.is_empty());
        r.unwrap_err()
    };
    let mut m = rx_packet(&frame(60), None);
    m[8..12].copy_from_slice(&20u32.to_le_bytes()); // data inside the body
    assert_eq!(try_msg(m), NetvscError::RndisBadOffset);
    let mut m = rx_packet(&frame(60), None);
    m[12..16].copy_from_slice(&5000u32.to_le_bytes()); // data past the message
    assert_eq!(try_msg(m), NetvscError::RndisBadOffset);
    let mut m = rx_packet(&frame(60), None);
    m[44..48].copy_from_slice(&4u32.to_le_bytes()); // PPI record size 4
    assert_eq!(try_msg(m), NetvscError::BadPpi);
    let mut m = rx_packet(&frame(60), None);
    m[52..56].copy_from_slice(&40u32.to_le_bytes()); // PPI offset past record
    assert_eq!(try_msg(m), NetvscError::BadPpi);
    let m = rx_packet(&frame(1600), None); // beyond MTU + header + tag
    assert_eq!(try_msg(m), NetvscError::BadFrameLength(1600));
    let mut m = rx_packet(&frame(60), None);
    m[4..8].copy_from_slice(&4u32.to_le_bytes()); // message_length < 8
    assert_eq!(try_msg(m), NetvscError::RndisBadLength(4));
    // An RNDIS completion nobody asked for.
    let m = Bytes::new().u32(0x8000_0005).u32(16).u32(77).u32(0).done();
    assert_eq!(try_msg(m), NetvscError::RndisUnexpected(0x8000_0005));
}

#[test]
fn hostile_nvsp() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let mut out = Output::new();
    let done = comp(12345, &Bytes::new().u32(108).u32(1).done());
    assert_eq!(
        feed(&mut nic, &mut host, &done, &mut out),
        Err(NetvscError::UnknownCompletion(12345))
    );
    // Unsolicited indirection table (134): ignored; junk type: refused.
    let ind = common::inband_packet(0, false, &Bytes::new().u32(134).zeros(36).done());
    feed(&mut nic, &mut host, &ind, &mut out).unwrap();
    let junk = common::inband_packet(0, false, &Bytes::new().u32(999).zeros(36).done());
    assert_eq!(
        feed(&mut nic, &mut host, &junk, &mut out),
        Err(NetvscError::UnknownNvsp(999))
    );
    assert_eq!(nic.state(), NetvscState::Ready);
}

#[test]
fn bad_buffers_from_host_are_fatal() {
    for (section, send_section, mac) in [
        ([4, SUB, 64, 64 * SUB], 6144, MAC), // section not at offset 0
        ([0, SUB, 65, 65 * SUB], 6144, MAC), // beyond the buffer
        ([0, 0, 64, 64 * SUB], 6144, MAC),   // zero sub-allocation
        ([0, SUB, 64, 64 * SUB], 32, MAC),   // send sections too small
        ([0, SUB, 64, 64 * SUB], SEND_LEN as u32, MAC), // only one send section
        ([0, SUB, 64, 64 * SUB], 6144, [1, 2, 3, 4, 5, 6]), // multicast MAC
    ] {
        let mut host = Host::new();
        host.section = section;
        host.send_section = send_section;
        host.mac = mac;
        let mut nic = Netvsc::new(config());
        let mut out = Output::new();
        nic.start(&mut out).unwrap();
        let e = pump(&mut nic, &mut host, &mut out).unwrap_err();
        assert!(e.is_fatal(), "{e:?}");
        assert_eq!(nic.state(), NetvscState::Failed);
    }
}

#[test]
fn short_buffer_slices_refused() {
    let mut nic = Netvsc::new(config());
    let mut out = Output::new();
    nic.start(&mut out).unwrap();
    let recv = vec![0u8; 16];
    let mut send = vec![0u8; SEND_LEN];
    let mut bufs = NetBuffers {
        recv: &recv,
        send: &mut send,
    };
    assert_eq!(
        nic.handle(&Incoming::completion(1, &[2, 0, 0, 0]), &mut bufs, &mut out),
        Err(NetvscError::BufferTooSmall)
    );
}

#[test]
fn ranges_must_stay_in_the_described_section() {
    // The host describes a section smaller than the buffer; a range after
    // its end is refused even though it is inside guest memory.
    let mut host = Host::new();
    host.section = [0, SUB, 60, 60 * SUB];
    let (mut nic, _) = ready(&mut host);
    let good = common::net_fake::rx_packet_bytes(60);
    let at = 62 * SUB as usize;
    host.recv[at..at + good.len()].copy_from_slice(&good);
    let nvsp = Bytes::new().u32(107).u32(0).u32(0).u32(0).done();
    let mut out = Output::new();
    let pkt = xfer_packet(9, 0xCAFE, &[(SUB, 62 * SUB)], &nvsp);
    assert_eq!(
        feed(&mut nic, &mut host, &pkt, &mut out),
        Err(NetvscError::RangeOutOfBuffer {
            offset: 62 * SUB,
            count: SUB
        })
    );
    assert!(out.events.is_empty());
    // The same message inside the section is accepted.
    host.recv[..good.len()].copy_from_slice(&good);
    out.clear();
    feed(
        &mut nic,
        &mut host,
        &xfer_packet(9, 0xCAFE, &[(SUB, 0)], &nvsp),
        &mut out,
    )
    .unwrap();
    assert_eq!(out.events.len(), 1);
}

/// Runs the bring-up until RNDIS INITIALIZE_MSG has been sent, leaving it
/// unanswered in `out.sends`.
fn up_to_rndis_init(host: &mut Host, out: &mut Output<NetvscEvent>) -> Netvsc {
    let mut nic = Netvsc::new(config());
    nic.start(out).unwrap();
    while nic.state() != NetvscState::RndisInit {
        let sends = std::mem::take(&mut out.sends);
        assert!(!sends.is_empty(), "stuck in {:?}", nic.state());
        for s in &sends {
            for r in host.answer(s) {
                feed(&mut nic, host, &r, out).unwrap();
            }
        }
    }
    nic
}

#[test]
fn broken_bring_up_completions_stop_the_driver() {
    // Each NVSP step answered with garbage or the wrong message: the
    // request is consumed, so the driver must fail rather than wait.
    for (step, reply) in [
        (0, Bytes::new().u32(999).zeros(12).done()),
        (0, Bytes::new().u32(105).u32(1).u32(6144).done()),
        (1, Bytes::new().u32(2).done()),
        (2, Bytes::new().u32(102).u32(1).done()),
    ] {
        let mut host = Host::new();
        let mut nic = Netvsc::new(config());
        let mut out = Output::new();
        nic.start(&mut out).unwrap();
        for _ in 0..step {
            let sends = std::mem::take(&mut out.sends);
            let req = sends.iter().find(|s| s.completion_requested).unwrap();
            for r in host.answer(req) {
                feed(&mut nic, &mut host, &r, &mut out).unwrap();
            }
        }
        let req = out.sends.iter().find(|s| s.completion_requested).unwrap();
        let id = req.trans_id;
        assert!(nic.awaiting_host());
        let e = feed(&mut nic, &mut host, &comp(id, &reply), &mut out).unwrap_err();
        assert_eq!(nic.state(), NetvscState::Failed, "step {step}: {e:?}");
    }
    // The completion of the RNDIS INITIALIZE_MSG itself, broken.
    let mut host = Host::new();
    let mut out = Output::new();
    let mut nic = up_to_rndis_init(&mut host, &mut out);
    let id = out.sends[0].trans_id;
    let junk = comp(id, &Bytes::new().u32(999).u32(1).done());
    assert!(feed(&mut nic, &mut host, &junk, &mut out).is_err());
    assert_eq!(nic.state(), NetvscState::Failed);
}

#[test]
fn broken_frame_completion_is_a_failed_send() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let pkt = nic.send_frame(&frame(60), &mut host.send).unwrap();
    let mut out = Output::new();
    // (The ring pads payloads to 8 bytes, so a bare 108 would read as
    // status 0: a refusal, not junk.)
    for junk in [
        Bytes::new().u32(999).u32(1).done(),
        Bytes::new().u32(2).zeros(12).done(),
    ] {
        let e = feed(&mut nic, &mut host, &comp(pkt.trans_id, &junk), &mut out);
        assert!(e.is_err());
        // Only the first completion matched an outstanding frame.
        if out.events.len() == 1 {
            assert_eq!(
                out.events,
                [NetvscEvent::SendComplete {
                    id: pkt.trans_id,
                    ok: false
                }]
            );
        }
    }
    assert_eq!(out.events.len(), 1);
    assert_eq!(nic.sections_in_use(), 0);
    assert_eq!(nic.state(), NetvscState::Ready);
    // A refused frame (status FAILURE) is no protocol error.
    let pkt = nic.send_frame(&frame(60), &mut host.send).unwrap();
    out.clear();
    let refused = comp(pkt.trans_id, &Bytes::new().u32(108).u32(2).done());
    feed(&mut nic, &mut host, &refused, &mut out).unwrap();
    assert_eq!(
        out.events,
        [NetvscEvent::SendComplete {
            id: pkt.trans_id,
            ok: false
        }]
    );
}

#[test]
fn replies_packed_past_the_sections_stop_the_driver() {
    // Two send sections. INITIALIZE_MSG holds one until its completion;
    // a host that packs the INITIALIZE and MAC replies into one packet
    // makes the driver send two more queries at once: the second finds
    // no section, and the driver stops instead of waiting forever.
    let mut host = Host::new();
    host.send_section = SEND_LEN as u32 / 2;
    let mut out = Output::new();
    let mut nic = up_to_rndis_init(&mut host, &mut out);
    out.clear();
    let replies = [
        init_cmplt(1),
        query_cmplt(2, 0, &MAC),
        query_cmplt(3, 0, &1500u32.to_le_bytes()),
    ];
    let mut ranges = Vec::new();
    for (k, r) in replies.iter().enumerate() {
        let at = k * SUB as usize;
        host.recv[at..at + r.len()].copy_from_slice(r);
        ranges.push((r.len() as u32, at as u32));
    }
    let nvsp = Bytes::new().u32(107).u32(1).u32(0xFFFF_FFFF).u32(0).done();
    let pkt = xfer_packet(0, 0xCAFE, &ranges, &nvsp);
    assert_eq!(
        feed(&mut nic, &mut host, &pkt, &mut out),
        Err(NetvscError::Busy)
    );
    assert_eq!(nic.state(), NetvscState::Failed);
    // The receive is still completed, with FAILURE.
    let last = out.sends.last().unwrap();
    assert_eq!(last.payload, hex("6c 00 00 00 02 00 00 00"));
}

#[test]
fn runt_frames_are_refused() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let pkt = host.deliver(0, &rx_packet(&frame(13), None));
    let mut out = Output::new();
    assert_eq!(
        feed(&mut nic, &mut host, &pkt, &mut out),
        Err(NetvscError::BadFrameLength(13))
    );
    assert!(out.events.is_empty());
    let pkt = host.deliver(0, &rx_packet(&frame(14), None));
    feed(&mut nic, &mut host, &pkt, &mut out).unwrap();
    assert_eq!(out.events.len(), 1);
}
