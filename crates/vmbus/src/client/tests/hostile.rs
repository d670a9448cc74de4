//! Host messages and requests the client must refuse.

use super::*;

#[test]
fn hostile_host_messages() {
    let mut c = Client::new(ClientConfig::default());
    // Before contact.
    assert_eq!(
        one_error(&c.on_message(&offer(1, guid::KEYBOARD, 1))),
        ProtocolError::NotConnected(MessageType::OfferChannel)
    );
    assert_eq!(
        one_error(&c.on_message(&version_response(1, 0, 1))),
        ProtocolError::NotConnected(MessageType::VersionResponse)
    );
    let _ = c.connect().unwrap();
    assert_eq!(
        one_error(&c.on_message(&offer(1, guid::KEYBOARD, 1))),
        ProtocolError::Unexpected(MessageType::OfferChannel)
    );
    let _ = c.on_message(&version_response(1, 0, 1));
    assert_eq!(
        one_error(&c.on_message(&version_response(1, 0, 1))),
        ProtocolError::UnexpectedVersionResponse
    );
    // Garbage and wrong direction.
    assert!(matches!(
        one_error(&c.on_message(&[1, 2, 3])),
        ProtocolError::Decode(_)
    ));
    assert!(matches!(
        one_error(&c.on_message(&offer(1, guid::KEYBOARD, 1)[..195])),
        ProtocolError::Decode(_)
    ));
    assert_eq!(
        one_error(&c.on_message(&Bytes::msg(3).0)),
        ProtocolError::WrongDirection(MessageType::RequestOffers)
    );
    assert_eq!(
        one_error(&c.on_message(&relid_msg(7, 1))),
        ProtocolError::WrongDirection(MessageType::CloseChannel)
    );
    // Bad offers.
    assert_eq!(
        one_error(&c.on_message(&offer(0, guid::KEYBOARD, 1))),
        ProtocolError::InvalidRelid(0)
    );
    assert_eq!(
        one_error(&c.on_message(&offer(2048, guid::KEYBOARD, 1))),
        ProtocolError::InvalidRelid(2048)
    );
    assert_eq!(
        one_error(&c.on_message(&offer(4, guid::KEYBOARD, 0))),
        ProtocolError::BadOfferConnectionId {
            relid: 4,
            connection_id: 0
        }
    );
    let _ = c.on_message(&offer(4, guid::KEYBOARD, 0x2004));
    assert_eq!(
        one_error(&c.on_message(&offer(4, guid::MOUSE, 0x2005))),
        ProtocolError::DuplicateRelid(4)
    );
    assert_eq!(
        c.channel(4).unwrap().offer.if_type,
        guid::KEYBOARD,
        "first kept"
    );
    let _ = c.on_message(&Bytes::msg(4).0);
    assert_eq!(
        one_error(&c.on_message(&Bytes::msg(4).0)),
        ProtocolError::DuplicateAllOffersDelivered
    );
    // Answers to requests never made.
    assert_eq!(
        one_error(&c.on_message(&gpadl_created(4, 0xE1E10, 0))),
        ProtocolError::UnexpectedGpadlCreated {
            gpadl: 0xE1E10,
            relid: 4
        }
    );
    assert_eq!(
        one_error(&c.on_message(&open_result(4, 4, 0))),
        ProtocolError::UnexpectedOpenResult(4)
    );
    assert_eq!(
        one_error(&c.on_message(&open_result(77, 77, 0))),
        ProtocolError::UnexpectedOpenResult(77)
    );
    assert_eq!(
        one_error(&c.on_message(&Bytes::msg(12).u32(5).0)),
        ProtocolError::UnexpectedTorndown(5)
    );
    assert_eq!(
        one_error(&c.on_message(&Bytes::msg(17).0)),
        ProtocolError::UnexpectedUnloadResponse
    );
    assert_eq!(
        one_error(&c.on_message(&relid_msg(2, 99))),
        ProtocolError::UnknownChannel(99)
    );
    // GPADL_CREATED naming the wrong channel, then a duplicate.
    let (g, _) = c
        .create_gpadl(4, PageRange::pages(&[1, 2, 3, 4]).unwrap())
        .unwrap();
    assert_eq!(
        one_error(&c.on_message(&gpadl_created(5, g, 0))),
        ProtocolError::UnexpectedGpadlCreated { gpadl: g, relid: 5 }
    );
    let _ = c.on_message(&gpadl_created(4, g, 0));
    assert!(matches!(
        one_error(&c.on_message(&gpadl_created(4, g, 0))),
        ProtocolError::UnexpectedGpadlCreated { .. }
    ));
    // An open result with the wrong openid leaves the open pending.
    let _ = c.open_channel(4, g, 2, 0, &[]).unwrap();
    assert_eq!(
        one_error(&c.on_message(&open_result(4, 9, 0))),
        ProtocolError::OpenIdMismatch {
            relid: 4,
            openid: 9
        }
    );
    assert_eq!(c.channel(4).map(|c| c.state), Some(ChannelState::Opening));
}

#[test]
fn channel_limit() {
    let mut c = Client::new(ClientConfig {
        max_channels: 2,
        ..ClientConfig::default()
    });
    let _ = c.connect().unwrap();
    let _ = c.on_message(&version_response(1, 0, 1));
    let _ = c.on_message(&offer(1, guid::KEYBOARD, 0x2001));
    let _ = c.on_message(&offer(2, guid::MOUSE, 0x2002));
    assert_eq!(
        one_error(&c.on_message(&offer(3, guid::SCSI, 0x2003))),
        ProtocolError::TooManyChannels
    );
}

#[test]
fn request_errors() {
    let mut c = Client::new(ClientConfig::default());
    let pfns = [1, 2, 3, 4];
    let range = PageRange::pages(&pfns).unwrap();
    assert_eq!(
        c.create_gpadl(1, range).err(),
        Some(RequestError::NotConnected)
    );
    assert_eq!(c.unload(), Err(RequestError::NotConnected));
    let _ = c.connect().unwrap();
    assert_eq!(c.connect(), Err(RequestError::AlreadyConnected));
    assert_eq!(c.close_channel(1), Err(RequestError::NotConnected));
    let _ = c.on_message(&version_response(1, 0, 1));
    assert_eq!(
        c.create_gpadl(1, range).err(),
        Some(RequestError::UnknownChannel(1))
    );
    let _ = c.on_message(&offer(1, guid::KEYBOARD, 0x2001));
    let _ = c.on_message(&offer(2, guid::MOUSE, 0x2002));
    let (g, _) = c.create_gpadl(1, range).unwrap();
    let _ = c.on_message(&gpadl_created(1, g, 0));
    assert_eq!(
        c.open_channel(2, g, 2, 0, &[]),
        Err(RequestError::GpadlOtherChannel { gpadl: g, relid: 1 })
    );
    for down in [0, 1, 3, 4] {
        assert_eq!(
            c.open_channel(1, g, down, 0, &[]),
            Err(RequestError::RingSplit {
                pages: 4,
                downstream: down
            })
        );
    }
    assert_eq!(
        c.open_channel(1, g, 2, 0, &[0; 121]),
        Err(RequestError::UserDataTooLong(121))
    );
    assert_eq!(
        c.open_channel(1, 77, 2, 0, &[]),
        Err(RequestError::UnknownGpadl(77))
    );
    assert_eq!(c.close_channel(1), Err(RequestError::ChannelNotOpen(1)));
    // A GPADL with a byte offset cannot hold rings.
    let one = [9, 10];
    let (odd, _) = c
        .create_gpadl(1, PageRange::new(8, 8000, &one).unwrap())
        .unwrap();
    let _ = c.on_message(&gpadl_created(1, odd, 0));
    assert!(matches!(
        c.open_channel(1, odd, 1, 0, &[]),
        Err(RequestError::RingSplit { pages: 0, .. })
    ));
    // Nothing changed through all of that.
    assert_eq!(c.channel(1).map(|c| c.state), Some(ChannelState::Closed));
    let _ = c.teardown_gpadl(g).unwrap();
    assert_eq!(c.teardown_gpadl(g), Err(RequestError::GpadlNotReady(g)));
}
