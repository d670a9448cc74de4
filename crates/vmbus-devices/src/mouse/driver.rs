//! The mouse driver state machine (§6.2 sequence).

use super::message::{DeviceAttributes, MouseMessage, VERSION_2_0};
use super::MouseError;
use crate::budget::Strikes;
use crate::hid::{self, MouseLayout, MouseReport};
use crate::output::Output;
use crate::packet::{Incoming, IncomingKind, Outgoing};

/// Where the mouse driver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseState {
    /// Created; `start` not called yet.
    Idle,
    /// PROTOCOL_REQUEST sent.
    AwaitingProtocolResponse,
    /// Version approved; waiting for INITIAL_DEVICE_INFO.
    AwaitingDeviceInfo,
    /// ACK sent; input reports flow.
    Ready,
    /// Stopped for good.
    Failed,
}

/// What the mouse reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseEvent {
    /// Device info received and acknowledged; [`Mouse::layout`] tells
    /// where the pointer fields are.
    Ready {
        /// Attributes the host sent.
        attributes: DeviceAttributes,
    },
    /// One input report: position (absolute 0..=0x7FFF unless the
    /// descriptor says relative), buttons, wheel.
    Input(MouseReport),
}

/// Guest side of the synthetic mouse channel.
#[derive(Debug)]
pub struct Mouse {
    state: MouseState,
    layout: Option<MouseLayout>,
    /// Sent packets whose completions (if the host sends any) are allowed.
    awaited: [Option<u64>; 2],
    next_id: u64,
    strikes: Strikes,
}

impl Default for Mouse {
    fn default() -> Self {
        Self::new()
    }
}

impl Mouse {
    /// A driver for a freshly opened mouse channel.
    pub fn new() -> Self {
        Self {
            state: MouseState::Idle,
            layout: None,
            awaited: [None; 2],
            next_id: 1,
            strikes: Strikes::default(),
        }
    }

    /// Current state.
    pub fn state(&self) -> MouseState {
        self.state
    }

    /// The layout found in the report descriptor (Ready state).
    pub fn layout(&self) -> Option<&MouseLayout> {
        self.layout.as_ref()
    }

    fn send(
        &mut self,
        out: &mut Output<MouseEvent>,
        msg: MouseMessage<'_>,
        slot: usize,
    ) -> Result<(), MouseError> {
        let id = self.next_id;
        self.next_id += 1;
        // Linux sets the completion flag on both guest messages (§6.2).
        out.send(Outgoing::in_band(id, true, msg.encode()?));
        self.awaited[slot] = Some(id);
        Ok(())
    }

    /// Sends PROTOCOL_REQUEST(2.0). Call once after the channel is open.
    pub fn start(&mut self, out: &mut Output<MouseEvent>) -> Result<(), MouseError> {
        if self.state != MouseState::Idle {
            return Err(MouseError::AlreadyStarted);
        }
        self.send(
            out,
            MouseMessage::ProtocolRequest {
                version: VERSION_2_0,
            },
            0,
        )?;
        self.state = MouseState::AwaitingProtocolResponse;
        Ok(())
    }

    /// Consumes one packet from the host.
    pub fn handle(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<MouseEvent>,
    ) -> Result<(), MouseError> {
        if self.state == MouseState::Failed {
            return Err(MouseError::Failed);
        }
        match self.step(packet, out) {
            Ok(()) => {
                self.strikes.good();
                Ok(())
            }
            Err(e) => {
                let fatal = matches!(e, MouseError::Rejected | MouseError::Hid(_));
                if self.strikes.strike() || fatal {
                    self.state = MouseState::Failed;
                }
                Err(e)
            }
        }
    }

    fn step(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<MouseEvent>,
    ) -> Result<(), MouseError> {
        match packet.kind {
            IncomingKind::Completion => {
                let slot = self
                    .awaited
                    .iter_mut()
                    .find(|s| **s == Some(packet.trans_id))
                    .ok_or(MouseError::UnknownCompletion(packet.trans_id))?;
                *slot = None;
                Ok(())
            }
            IncomingKind::InBand => self.message(MouseMessage::decode(packet.payload)?, out),
            _ => Err(MouseError::WrongPacketKind),
        }
    }

    fn message(
        &mut self,
        msg: MouseMessage<'_>,
        out: &mut Output<MouseEvent>,
    ) -> Result<(), MouseError> {
        match (self.state, msg) {
            (
                MouseState::AwaitingProtocolResponse,
                MouseMessage::ProtocolResponse {
                    version_requested,
                    approved,
                },
            ) => {
                if version_requested != VERSION_2_0 {
                    return Err(MouseError::VersionMismatch(version_requested));
                }
                if approved == 0 {
                    return Err(MouseError::Rejected);
                }
                self.state = MouseState::AwaitingDeviceInfo;
                Ok(())
            }
            (MouseState::AwaitingDeviceInfo, MouseMessage::DeviceInfo(info)) => {
                let layout = hid::parse_mouse(info.report_descriptor)?;
                self.send(out, MouseMessage::DeviceInfoAck, 1)?;
                self.layout = Some(layout);
                self.state = MouseState::Ready;
                out.event(MouseEvent::Ready {
                    attributes: info.attributes,
                });
                Ok(())
            }
            (MouseState::Ready, MouseMessage::InputReport(report)) => {
                let layout = self.layout.as_ref().ok_or(MouseError::Failed)?;
                if let Some(r) = layout.decode(report).map_err(MouseError::BadReport)? {
                    out.event(MouseEvent::Input(r));
                }
                Ok(())
            }
            (state, msg) => Err(MouseError::Unexpected {
                state,
                msg_type: msg.msg_type(),
            }),
        }
    }
}
