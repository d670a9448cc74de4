//! Version negotiation, connection ids and unload.

use super::*;

#[test]
fn negotiation_falls_back_from_6_0() {
    let mut c = Client::new(ClientConfig {
        mode: ConnectionMode::LinuxFour,
        monitor_pages: Some((0x100000, 0x101000)),
        ..ClientConfig::default()
    });
    let a = c.connect().unwrap();
    let p = posts(&a);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, 4, "≥ 5.0 the Linux way goes to connection id 4");
    assert_eq!(contact_version(&p[0].1), 0x0006_0000);
    assert_eq!(p[0].1.len(), 40, "no client id configured");
    assert_eq!(p[0].1[0x10], 2, "msg_sint 2");
    assert_eq!(c.state(), ConnectionState::Contacting(Version::V6_0));

    // OpenVMM's refusal of an unknown version: all zero.
    let a = c.on_message(&version_response(0, 0, 0));
    let p = posts(&a);
    assert_eq!(p[0].0, 4);
    assert_eq!(contact_version(&p[0].1), 0x0005_0003);
    assert!(events(&a).is_empty());

    let a = c.on_message(&version_response(1, 0, 0x1234));
    assert_eq!(
        events(&a),
        [Event::Connected {
            version: Version::V5_3,
            features: 0,
            connection_id: 0x1234
        }]
    );
    assert_eq!(posts(&a), [(0x1234, vec![3, 0, 0, 0, 0, 0, 0, 0])]);
    assert_eq!(c.state(), ConnectionState::Connected(Version::V5_3));
}

#[test]
fn msvm_style_connection_and_features() {
    let mut c = Client::new(ClientConfig {
        client_id: Some(guid::MSVM_CLIENT_ID),
        ..ClientConfig::default()
    });
    let p = posts(&c.connect().unwrap());
    assert_eq!(p[0].0, 1);
    assert_eq!(p[0].1.len(), 56);
    assert_eq!(&p[0].1[0x10..0x18], &[0, 0, 0, 0, 8, 0, 0, 0]);
    // The host offers more features than asked: only 0x08 is kept, and
    // msg_conn_id is ignored on connection id 1.
    let resp = Bytes(version_response(1, 0, 99)).u32(0x2F).0;
    let a = c.on_message(&resp);
    assert_eq!(
        events(&a),
        [Event::Connected {
            version: Version::V6_0,
            features: 0x08,
            connection_id: 1
        }]
    );
    assert_eq!(posts(&a)[0].0, 1);
}

#[test]
fn every_version_refused() {
    let mut c = Client::new(ClientConfig::default());
    let mut asked = vec![contact_version(&posts(&c.connect().unwrap())[0].1)];
    loop {
        // OpenVMM's one-monitor-page answer: supported 1 but state 2.
        let a = c.on_message(&version_response(1, 2, 1));
        match posts(&a).first() {
            Some((id, m)) => {
                assert_eq!(*id, 1);
                asked.push(contact_version(m));
            }
            None => {
                assert_eq!(one_error(&a), ProtocolError::NoCommonVersion);
                break;
            }
        }
    }
    let want: Vec<u32> = NEGOTIATION_ORDER.iter().map(|v| v.0).collect();
    assert_eq!(asked, want);
    assert_eq!(c.state(), ConnectionState::Disconnected);
    // A clean restart is possible.
    assert!(c.connect().is_ok());
}

#[test]
fn post_failure_steps_down_or_gives_up() {
    let mut c = Client::new(ClientConfig::default());
    assert_eq!(
        c.contact_post_failed(HvStatus::InvalidConnectionId),
        Err(RequestError::NotContacting)
    );
    let _ = c.connect().unwrap();
    let a = c
        .contact_post_failed(HvStatus::InvalidConnectionId)
        .unwrap();
    assert_eq!(contact_version(&posts(&a)[0].1), 0x0005_0003);
    let a = c.contact_post_failed(HvStatus::AccessDenied).unwrap();
    assert_eq!(
        one_error(&a),
        ProtocolError::ContactPostFailed(HvStatus::AccessDenied)
    );
    assert_eq!(c.state(), ConnectionState::Disconnected);
}

#[test]
fn old_versions_use_id_1_and_the_interrupt_page() {
    static VERSIONS: [Version; 2] = [Version::V5_0, Version::WIN10];
    let mut c = Client::new(ClientConfig {
        versions: &VERSIONS,
        mode: ConnectionMode::LinuxFour,
        interrupt_page: 0x7000,
        ..ClientConfig::default()
    });
    assert_eq!(posts(&c.connect().unwrap())[0].0, 4);
    let p = posts(&c.on_message(&version_response(0, 0, 0)));
    assert_eq!(p[0].0, 1);
    assert_eq!(&p[0].1[0x10..0x18], &0x7000u64.to_le_bytes());
    // OpenVMM puts the version in msg_conn_id below 5.0: ignored.
    let a = c.on_message(&version_response(1, 0, 0x0004_0000));
    assert_eq!(posts(&a)[0].0, 1);
}

#[test]
fn bad_msg_conn_id_fails_the_connection() {
    for bad in [0, 0x0100_0000] {
        let mut c = Client::new(ClientConfig {
            mode: ConnectionMode::LinuxFour,
            ..ClientConfig::default()
        });
        let _ = c.connect().unwrap();
        let a = c.on_message(&version_response(1, 0, bad));
        assert_eq!(one_error(&a), ProtocolError::BadMessageConnectionId(bad));
        assert_eq!(c.state(), ConnectionState::Disconnected);
    }
}

#[test]
fn unload_below_3_0_is_local() {
    static VERSIONS: [Version; 1] = [Version::WIN8];
    let mut c = Client::new(ClientConfig {
        versions: &VERSIONS,
        ..ClientConfig::default()
    });
    let _ = c.connect().unwrap();
    let _ = c.on_message(&version_response(1, 0, 0));
    assert_eq!(c.unload().unwrap(), [Action::Event(Event::Unloaded)]);
    assert_eq!(c.state(), ConnectionState::Disconnected);
}
