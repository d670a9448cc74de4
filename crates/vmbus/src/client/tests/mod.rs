//! The client driven by a scripted fake host.
//!
//! The host's messages are written out byte by byte here (not with this
//! crate's encoder), so a layout mistake in the encoder cannot cancel out
//! against the same mistake in the test. This file holds that fake host's
//! message builders and the helpers that read the client's actions.

use super::*;
use crate::guid;
use crate::message::{MessageType, Version, NEGOTIATION_ORDER};
use crate::range::PageRange;
use alloc::vec;

/// Little-endian message builder for the fake host.
struct Bytes(Vec<u8>);

impl Bytes {
    fn msg(msgtype: u32) -> Bytes {
        let mut b = Bytes(Vec::new());
        b = b.u32(msgtype).u32(0);
        b
    }
    fn u8(mut self, v: u8) -> Bytes {
        self.0.push(v);
        self
    }
    fn u16(mut self, v: u16) -> Bytes {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Bytes {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn raw(mut self, v: &[u8]) -> Bytes {
        self.0.extend_from_slice(v);
        self
    }
}

fn version_response(supported: u8, state: u8, conn_id: u32) -> Vec<u8> {
    Bytes::msg(15).u8(supported).u8(state).u16(0).u32(conn_id).0
}

fn offer(relid: u32, class: crate::guid::Guid, connection_id: u32) -> Vec<u8> {
    let b = Bytes::msg(1)
        .raw(&class.0)
        .raw(&[relid as u8; 16]) // instance
        .raw(&[0; 16])
        .u16(0) // chn_flags
        .u16(0) // mmio
        .raw(&[0; 120])
        .u16(0) // sub channel
        .u16(0)
        .u32(relid)
        .u8(0xff)
        .u8(0)
        .u16(1)
        .u32(connection_id);
    assert_eq!(b.0.len(), 196);
    b.0
}

fn gpadl_created(relid: u32, gpadl: u32, status: u32) -> Vec<u8> {
    Bytes::msg(10).u32(relid).u32(gpadl).u32(status).0
}

fn open_result(relid: u32, openid: u32, status: u32) -> Vec<u8> {
    Bytes::msg(6).u32(relid).u32(openid).u32(status).0
}

fn relid_msg(msgtype: u32, relid: u32) -> Vec<u8> {
    Bytes::msg(msgtype).u32(relid).0
}

fn posts(actions: &[Action]) -> Vec<(u32, Vec<u8>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Post {
                connection_id,
                message,
            } => Some((*connection_id, message.as_bytes().to_vec())),
            Action::Event(_) => None,
        })
        .collect()
}

fn events(actions: &[Action]) -> Vec<Event> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some(e.clone()),
            Action::Post { .. } => None,
        })
        .collect()
}

fn one_error(actions: &[Action]) -> ProtocolError {
    match actions {
        [Action::Event(Event::Error(e))] => *e,
        other => panic!("expected one error, got {other:?}"),
    }
}

/// The version a posted INITIATE_CONTACT asks for.
fn contact_version(bytes: &[u8]) -> u32 {
    assert_eq!(&bytes[..4], &[14, 0, 0, 0]);
    u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]])
}

/// A client connected at 5.3 through the Linux rules, msg_conn_id 1.
fn connected() -> Client {
    let mut c = Client::new(ClientConfig {
        mode: ConnectionMode::LinuxFour,
        ..ClientConfig::default()
    });
    let _ = c.connect().unwrap();
    let _ = c.on_message(&version_response(0, 0, 0));
    let a = c.on_message(&version_response(1, 0, 1));
    assert_eq!(posts(&a), [(1, vec![3, 0, 0, 0, 0, 0, 0, 0])]);
    c
}

mod channels;
mod hostile;
mod negotiation;
