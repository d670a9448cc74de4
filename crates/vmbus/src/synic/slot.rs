//! SIMP message slots and the HvPostMessage input block (sheet §2.2, §1.5).

use core::fmt;

use super::{CONNECTION_ID_MASK, MAX_PAYLOAD, POST_MESSAGE_INPUT_SIZE, SLOT_SIZE};

/// Errors of the SynIC helpers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynicError {
    /// A slot was not 256 bytes long.
    SlotSize(usize),
    /// A payload size above 240 (or 0 where a payload is required).
    PayloadSize(usize),
    /// A connection id with bits 31:24 set.
    ConnectionId(u32),
}

impl fmt::Display for SynicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynicError::SlotSize(n) => write!(f, "SynIC slot of {n} bytes, not 256"),
            SynicError::PayloadSize(n) => write!(f, "SynIC payload size {n} not in 1..=240"),
            SynicError::ConnectionId(id) => write!(f, "connection id {id:#x} exceeds 24 bits"),
        }
    }
}

/// One SIMP slot message (§2.2), copied out of shared memory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SynicMessage {
    /// 0 = slot empty; VMBus messages are [`super::MESSAGE_TYPE_VMBUS`].
    pub message_type: u32,
    /// Flags byte; bit 0 = message pending.
    pub flags: u8,
    /// Sender partition id / port id.
    pub port: u64,
    payload_size: u8,
    payload: [u8; MAX_PAYLOAD],
}

/// Flags bit 0: another message is queued; write EOM after emptying.
pub const MESSAGE_PENDING: u8 = 1;

impl SynicMessage {
    /// Builds a message; fails if `payload` is longer than 240 bytes.
    pub fn new(message_type: u32, port: u64, payload: &[u8]) -> Result<Self, SynicError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(SynicError::PayloadSize(payload.len()));
        }
        let mut buf = [0; MAX_PAYLOAD];
        buf[..payload.len()].copy_from_slice(payload);
        Ok(SynicMessage {
            message_type,
            flags: 0,
            port,
            payload_size: payload.len() as u8,
            payload: buf,
        })
    }

    /// Parses a 256-byte slot copied out of the message page. The copy is
    /// the only read, so a host changing the slot afterwards changes nothing.
    pub fn parse(slot: &[u8]) -> Result<Self, SynicError> {
        if slot.len() != SLOT_SIZE {
            return Err(SynicError::SlotSize(slot.len()));
        }
        let size = slot[4] as usize;
        if size > MAX_PAYLOAD {
            return Err(SynicError::PayloadSize(size));
        }
        let mut payload = [0; MAX_PAYLOAD];
        payload.copy_from_slice(&slot[16..]);
        Ok(SynicMessage {
            message_type: u32::from_le_bytes([slot[0], slot[1], slot[2], slot[3]]),
            flags: slot[5],
            port: u64::from_le_bytes([
                slot[8], slot[9], slot[10], slot[11], slot[12], slot[13], slot[14], slot[15],
            ]),
            payload_size: size as u8,
            payload,
        })
    }

    /// The slot's 256 bytes (what a simulated host would store).
    pub fn encode(&self) -> [u8; SLOT_SIZE] {
        let mut slot = [0; SLOT_SIZE];
        slot[0..4].copy_from_slice(&self.message_type.to_le_bytes());
        slot[4] = self.payload_size;
        slot[5] = self.flags;
        slot[8..16].copy_from_slice(&self.port.to_le_bytes());
        slot[16..].copy_from_slice(&self.payload);
        slot
    }

    /// The meaningful payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload[..self.payload_size as usize]
    }

    /// Whether the slot holds a message at all.
    pub fn is_empty(&self) -> bool {
        self.message_type == 0
    }

    /// Whether another message waits: after clearing the slot, write the
    /// EOM MSR (§2.4).
    pub fn message_pending(&self) -> bool {
        self.flags & MESSAGE_PENDING != 0
    }
}

impl fmt::Debug for SynicMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynicMessage")
            .field("message_type", &self.message_type)
            .field("flags", &self.flags)
            .field("port", &self.port)
            .field("payload", &self.payload())
            .finish()
    }
}

/// The 256-byte HvPostMessage input block (§1.5).
pub fn post_message_input(
    connection_id: u32,
    message_type: u32,
    payload: &[u8],
) -> Result<[u8; POST_MESSAGE_INPUT_SIZE], SynicError> {
    if connection_id & !CONNECTION_ID_MASK != 0 {
        return Err(SynicError::ConnectionId(connection_id));
    }
    if payload.is_empty() || payload.len() > MAX_PAYLOAD {
        return Err(SynicError::PayloadSize(payload.len()));
    }
    let mut block = [0; POST_MESSAGE_INPUT_SIZE];
    block[0..4].copy_from_slice(&connection_id.to_le_bytes());
    block[8..12].copy_from_slice(&message_type.to_le_bytes());
    block[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    block[16..16 + payload.len()].copy_from_slice(payload);
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_round_trip_and_limits() {
        let mut m = SynicMessage::new(1, 7, &[1, 2, 3]).unwrap();
        m.flags = MESSAGE_PENDING;
        let slot = m.encode();
        assert_eq!(&slot[..6], &[1, 0, 0, 0, 3, 1]);
        let back = SynicMessage::parse(&slot).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.payload(), &[1, 2, 3]);
        assert!(back.message_pending());

        let mut bad = slot;
        bad[4] = 241;
        assert_eq!(SynicMessage::parse(&bad), Err(SynicError::PayloadSize(241)));
        assert_eq!(
            SynicMessage::parse(&slot[..255]),
            Err(SynicError::SlotSize(255))
        );
        assert!(SynicMessage::new(1, 0, &[0; 241]).is_err());
    }

    #[test]
    fn post_message_limits() {
        assert!(post_message_input(1, 1, &[]).is_err());
        assert!(post_message_input(1, 1, &[0; 241]).is_err());
        assert_eq!(
            post_message_input(0x0100_0000, 1, &[0; 8]),
            Err(SynicError::ConnectionId(0x0100_0000))
        );
        assert!(post_message_input(1, 1, &[0; 240]).is_ok());
    }
}
