//! The keyboard driver state machine (§6.1 sequence).

use super::message::{KeyboardMessage, Leds, VERSION_1_0};
use super::{KeyEvent, KeyboardError};
use crate::budget::Strikes;
use crate::output::Output;
use crate::packet::{Incoming, IncomingKind, Outgoing};

/// Where the keyboard driver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyboardState {
    /// Created; `start` not called yet.
    Idle,
    /// PROTOCOL_REQUEST sent, waiting for PROTOCOL_RESPONSE.
    AwaitingResponse,
    /// Protocol accepted; keystrokes flow.
    Ready,
    /// Stopped for good.
    Failed,
}

/// What the keyboard reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyboardEvent {
    /// The host accepted protocol 1.0.
    Ready,
    /// A keystroke.
    Key(KeyEvent),
}

/// Guest side of the synthetic keyboard channel.
#[derive(Debug)]
pub struct Keyboard {
    state: KeyboardState,
    /// trans_id of the PROTOCOL_REQUEST while its (optional) completion is
    /// still outstanding.
    request_outstanding: Option<u64>,
    next_id: u64,
    strikes: Strikes,
}

impl Default for Keyboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Keyboard {
    /// A driver for a freshly opened keyboard channel.
    pub fn new() -> Self {
        Self {
            state: KeyboardState::Idle,
            request_outstanding: None,
            next_id: 1,
            strikes: Strikes::default(),
        }
    }

    /// Current state.
    pub fn state(&self) -> KeyboardState {
        self.state
    }

    fn next_trans_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// Sends PROTOCOL_REQUEST(1.0), in-band with the completion flag as Linux
    /// does. Call once after the channel is open.
    pub fn start(&mut self, out: &mut Output<KeyboardEvent>) -> Result<(), KeyboardError> {
        if self.state != KeyboardState::Idle {
            return Err(KeyboardError::AlreadyStarted);
        }
        let id = self.next_trans_id();
        let msg = KeyboardMessage::ProtocolRequest {
            version: VERSION_1_0,
        };
        out.send(Outgoing::in_band(id, true, msg.encode()));
        self.request_outstanding = Some(id);
        self.state = KeyboardState::AwaitingResponse;
        Ok(())
    }

    /// A SET_LED_INDICATORS packet (in-band, no completion requested).
    pub fn set_leds(&mut self, leds: Leds) -> Result<Outgoing, KeyboardError> {
        if self.state != KeyboardState::Ready {
            return Err(KeyboardError::NotReady);
        }
        let id = self.next_trans_id();
        Ok(Outgoing::in_band(
            id,
            false,
            KeyboardMessage::SetLeds(leds).encode(),
        ))
    }

    /// Consumes one packet from the host.
    pub fn handle(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<KeyboardEvent>,
    ) -> Result<(), KeyboardError> {
        if self.state == KeyboardState::Failed {
            return Err(KeyboardError::Failed);
        }
        match self.step(packet, out) {
            Ok(()) => {
                self.strikes.good();
                Ok(())
            }
            Err(e) => {
                let fatal = matches!(e, KeyboardError::Rejected { .. });
                if self.strikes.strike() || fatal {
                    self.state = KeyboardState::Failed;
                }
                Err(e)
            }
        }
    }

    fn step(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<KeyboardEvent>,
    ) -> Result<(), KeyboardError> {
        match packet.kind {
            IncomingKind::Completion => {
                // The host may complete PROTOCOL_REQUEST; §6.1 says ignore it,
                // but only once and only for the id we sent.
                if self.request_outstanding == Some(packet.trans_id) {
                    self.request_outstanding = None;
                    Ok(())
                } else {
                    Err(KeyboardError::UnknownCompletion(packet.trans_id))
                }
            }
            IncomingKind::InBand => self.message(packet.payload, out),
            _ => Err(KeyboardError::WrongPacketKind),
        }
    }

    fn message(
        &mut self,
        payload: &[u8],
        out: &mut Output<KeyboardEvent>,
    ) -> Result<(), KeyboardError> {
        let msg = KeyboardMessage::decode(payload)?;
        match (self.state, msg) {
            (KeyboardState::AwaitingResponse, KeyboardMessage::ProtocolResponse { status }) => {
                if status & 1 == 0 {
                    return Err(KeyboardError::Rejected { status });
                }
                self.state = KeyboardState::Ready;
                out.event(KeyboardEvent::Ready);
                Ok(())
            }
            (KeyboardState::Ready, KeyboardMessage::Event { make_code, info }) => {
                out.event(KeyboardEvent::Key(KeyEvent::from_wire(make_code, info)?));
                Ok(())
            }
            (state, msg) => Err(KeyboardError::Unexpected {
                state,
                msg_type: msg.msg_type(),
            }),
        }
    }
}
