//! Offers, GPADLs, open / close / teardown and rescind, the happy paths.

use super::*;

#[test]
fn offers_gpadl_open_close_teardown_unload() {
    let mut c = connected();
    let a = c.on_message(&offer(8, guid::KEYBOARD, 0x2008));
    let [Event::Offer(o)] = &events(&a)[..] else {
        panic!("expected an offer event, got {a:?}");
    };
    assert_eq!((o.child_relid, o.connection_id), (8, 0x2008));
    assert_eq!(o.class(), crate::DeviceClass::Keyboard);
    let _ = c.on_message(&offer(9, guid::SCSI, 0x2009));
    assert_eq!(
        events(&c.on_message(&Bytes::msg(4).0)),
        [Event::AllOffersDelivered]
    );
    assert_eq!(c.relids().collect::<Vec<_>>(), [8, 9]);

    // GPADL over 4 pages: the §9.3 header, posted to msg_conn_id.
    let pfns = [0x200, 0x201, 0x202, 0x203];
    let (gpadl, a) = c.create_gpadl(8, PageRange::pages(&pfns).unwrap()).unwrap();
    assert_eq!(gpadl, FIRST_GPADL);
    let p = posts(&a);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, 1);
    assert_eq!(
        &p[0].1[..0x14],
        &{
            let mut h = vec![8, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0x10, 0x1e, 0x0e, 0];
            h.extend_from_slice(&[0x28, 0, 1, 0]);
            h
        }[..]
    );
    // Opening before the host confirmed the GPADL is refused.
    assert_eq!(
        c.open_channel(8, gpadl, 2, 0, &[]),
        Err(RequestError::GpadlNotReady(gpadl))
    );
    assert_eq!(
        events(&c.on_message(&gpadl_created(8, gpadl, 0))),
        [Event::GpadlCreated { relid: 8, gpadl }]
    );

    let a = c.open_channel(8, gpadl, 2, 0, &[]).unwrap();
    let p = posts(&a);
    assert_eq!(p[0].1.len(), 148);
    assert_eq!(
        &p[0].1[..0x1C],
        &[
            5, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 0x10, 0x1e, 0x0e, 0, 0, 0, 0, 0, 2, 0,
            0, 0
        ]
    );
    assert_eq!(c.channel(8).map(|c| c.state), Some(ChannelState::Opening));
    assert_eq!(
        c.open_channel(8, gpadl, 2, 0, &[]),
        Err(RequestError::ChannelBusy(8))
    );
    assert_eq!(
        events(&c.on_message(&open_result(8, 8, 0))),
        [Event::Opened {
            relid: 8,
            status: 0
        }]
    );
    assert_eq!(c.channel(8).map(|c| c.state), Some(ChannelState::Open));

    // The ring GPADL cannot go while the channel is open.
    assert_eq!(
        c.teardown_gpadl(gpadl),
        Err(RequestError::GpadlInUse(gpadl))
    );
    let a = c.close_channel(8).unwrap();
    assert_eq!(posts(&a), [(1, vec![7, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0])]);
    let a = c.teardown_gpadl(gpadl).unwrap();
    assert_eq!(
        posts(&a),
        [(
            1,
            vec![11, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0x10, 0x1e, 0x0e, 0]
        )]
    );
    assert_eq!(
        events(&c.on_message(&Bytes::msg(12).u32(gpadl).0)),
        [Event::GpadlTornDown { gpadl }]
    );

    let a = c.unload().unwrap();
    assert_eq!(posts(&a), [(1, vec![16, 0, 0, 0, 0, 0, 0, 0])]);
    assert_eq!(c.state(), ConnectionState::Unloading);
    // Stragglers during unload are ignored.
    assert!(c.on_message(&offer(10, guid::MOUSE, 0x200A)).is_empty());
    assert_eq!(events(&c.on_message(&Bytes::msg(17).0)), [Event::Unloaded]);
    assert_eq!(c.state(), ConnectionState::Disconnected);
    assert_eq!(c.relids().count(), 0);
}

#[test]
fn large_gpadl_goes_out_as_header_and_bodies() {
    let mut c = connected();
    let _ = c.on_message(&offer(3, guid::NETWORK, 0x2003));
    let pfns: Vec<u64> = (0..100).map(|i| 0x5000 + i).collect();
    let (gpadl, a) = c.create_gpadl(3, PageRange::pages(&pfns).unwrap()).unwrap();
    let p = posts(&a);
    // 26 in the header, then 28 + 28 + 18.
    assert_eq!(
        p.iter().map(|m| m.1.len()).collect::<Vec<_>>(),
        [236, 240, 240, 160]
    );
    assert!(p.iter().all(|m| m.0 == 1));
    assert!(p[1..]
        .iter()
        .all(|m| m.1[0] == 9 && m.1[12..16] == gpadl.to_le_bytes()));
    // Handles are unique.
    let (second, _) = c
        .create_gpadl(3, PageRange::pages(&pfns[..1]).unwrap())
        .unwrap();
    assert_ne!(second, gpadl);
}

#[test]
fn rescind_of_an_open_channel() {
    let mut c = connected();
    let _ = c.on_message(&offer(8, guid::KEYBOARD, 0x2008));
    let pfns = [1, 2, 3, 4];
    let (ring, _) = c.create_gpadl(8, PageRange::pages(&pfns).unwrap()).unwrap();
    let _ = c.on_message(&gpadl_created(8, ring, 0));
    let (extra, _) = c
        .create_gpadl(8, PageRange::pages(&pfns[..1]).unwrap())
        .unwrap();
    let _ = c.open_channel(8, ring, 2, 0, &[]).unwrap();
    let _ = c.on_message(&open_result(8, 8, 0));

    assert_eq!(c.release_channel(8), Err(RequestError::NotRescinded(8)));
    assert_eq!(
        events(&c.on_message(&relid_msg(2, 8))),
        [Event::Rescinded { relid: 8 }]
    );
    assert_eq!(
        one_error(&c.on_message(&relid_msg(2, 8))),
        ProtocolError::AlreadyRescinded(8)
    );
    // No new work on a rescinded channel.
    assert_eq!(
        c.create_gpadl(8, PageRange::pages(&pfns).unwrap()).err(),
        Some(RequestError::Rescinded(8))
    );
    // Host fails the pending GPADL before (or after) rescinding.
    assert_eq!(
        events(&c.on_message(&gpadl_created(8, extra, 0x8000_FFFF))),
        [Event::GpadlFailed {
            relid: 8,
            gpadl: extra,
            status: 0x8000_FFFF
        }]
    );
    // Close and teardown are local: the host has closed everything.
    assert!(posts(&c.close_channel(8).unwrap()).is_empty());
    assert_eq!(
        c.teardown_gpadl(ring).unwrap(),
        [Action::Event(Event::GpadlTornDown { gpadl: ring })]
    );
    let a = c.release_channel(8).unwrap();
    assert_eq!(posts(&a), [(1, vec![13, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0])]);
    assert!(c.channel(8).is_none());
    // The relid may be offered again.
    assert!(matches!(
        events(&c.on_message(&offer(8, guid::KEYBOARD, 0x2008)))[..],
        [Event::Offer(_)]
    ));
}

#[test]
fn rescind_while_opening_and_failed_open() {
    let mut c = connected();
    let _ = c.on_message(&offer(5, guid::MOUSE, 0x2005));
    let pfns = [1, 2, 3, 4, 5, 6];
    let (g, _) = c.create_gpadl(5, PageRange::pages(&pfns).unwrap()).unwrap();
    let _ = c.on_message(&gpadl_created(5, g, 0));
    let _ = c.open_channel(5, g, 3, 0, &[1, 2, 3]).unwrap();
    assert_eq!(
        events(&c.on_message(&open_result(5, 5, 0x8000_FFFF))),
        [Event::Opened {
            relid: 5,
            status: 0x8000_FFFF
        }]
    );
    assert_eq!(c.channel(5).map(|c| c.state), Some(ChannelState::Closed));
    let _ = c.open_channel(5, g, 3, 0, &[]).unwrap();
    let _ = c.on_message(&relid_msg(2, 5));
    assert_eq!(
        c.channel(5).map(|c| (c.state, c.rescinded)),
        Some((ChannelState::Closed, true))
    );
    // A late result for the abandoned open is refused.
    assert_eq!(
        one_error(&c.on_message(&open_result(5, 5, 0))),
        ProtocolError::UnexpectedOpenResult(5)
    );
    let _ = c.release_channel(5).unwrap();
    // Its GPADLs went with it.
    assert_eq!(c.teardown_gpadl(g), Err(RequestError::UnknownGpadl(g)));
}
