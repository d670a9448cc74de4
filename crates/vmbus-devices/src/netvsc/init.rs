//! netvsc completions from the host: the NVSP init replies (§6.5 steps 2–6)
//! and SEND_RNDIS_PACKET_COMPLETE for sent RNDIS messages.

use super::driver::{
    Netvsc, NetvscEvent, NetvscState, Pending, ETH_HEADER, MIN_SECTION_SIZE, NVSP_VERSIONS,
};
use super::nvsp::{
    NvspMessage, ReceiveSection, CAP_IEEE8021Q, NVSP_STATUS_SUCCESS, NVSP_V2, NVSP_V5,
};
use super::rndis::{RndisMessage, INIT_MAX_TRANSFER};
use super::sections::Sections;
use super::NetvscError;
use crate::output::Output;
use crate::packet::Incoming;

impl Netvsc {
    /// Handles a COMP packet. A broken completion of a bring-up step stops
    /// the driver: its request is gone, so nothing would ever move the
    /// bring-up on. A broken completion of a frame is reported as a failed
    /// send and the link carries on.
    pub(super) fn completion(
        &mut self,
        packet: &Incoming<'_>,
        send: &mut [u8],
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        let id = packet.trans_id;
        let pending = self
            .table
            .take(id)
            .ok_or(NetvscError::UnknownCompletion(id))?;
        if let Pending::Rndis { section, .. } = pending {
            if let Some(s) = self.sections.as_mut() {
                s.free(section);
            }
        }
        let r = self.completed(id, pending, packet.payload, send, out);
        match (&r, pending) {
            (Ok(()), _) => {}
            (Err(_), Pending::Rndis { data: true, .. }) => {
                out.event(NetvscEvent::SendComplete { id, ok: false });
            }
            (Err(_), _) => self.state = NetvscState::Failed,
        }
        r
    }

    fn completed(
        &mut self,
        id: u64,
        pending: Pending,
        payload: &[u8],
        send: &mut [u8],
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        let msg = NvspMessage::decode(payload);
        let init_failed = |msg: &NvspMessage, status| NetvscError::InitFailed {
            msg_type: msg.msg_type(),
            status,
        };
        match (pending, msg?) {
            (Pending::Init(index), NvspMessage::InitComplete { status, .. }) => {
                if status != NVSP_STATUS_SUCCESS {
                    return self.init(index + 1, out);
                }
                self.version = NVSP_VERSIONS[index.min(NVSP_VERSIONS.len() - 1)];
                if self.version >= NVSP_V2 {
                    let mtu = self.config.mtu.saturating_add(ETH_HEADER);
                    self.notify(
                        NvspMessage::SendNdisConfig {
                            mtu,
                            capabilities: CAP_IEEE8021Q,
                        },
                        out,
                    );
                }
                let (major, minor) = if self.version >= NVSP_V5 {
                    (6, 30)
                } else {
                    (6, 1)
                };
                self.notify(NvspMessage::SendNdisVersion { major, minor }, out);
                let msg = NvspMessage::SendReceiveBuffer {
                    gpadl: self.config.recv_gpadl,
                    id: self.config.recv_id,
                };
                self.request(msg, Pending::ReceiveBuffer, out)?;
                self.state = NetvscState::ReceiveBuffer;
                Ok(())
            }
            (
                Pending::ReceiveBuffer,
                m @ NvspMessage::SendReceiveBufferComplete {
                    status,
                    num_sections,
                    section,
                },
            ) => {
                if status != NVSP_STATUS_SUCCESS {
                    return Err(init_failed(&m, status));
                }
                let s = section
                    .filter(|_| num_sections == 1)
                    .ok_or(NetvscError::BadReceiveSection)?;
                if !section_fits(&s, self.config.recv_len) {
                    return Err(NetvscError::BadReceiveSection);
                }
                self.section = Some(s);
                let msg = NvspMessage::SendSendBuffer {
                    gpadl: self.config.send_gpadl,
                    id: self.config.send_id,
                };
                self.request(msg, Pending::SendBuffer, out)?;
                self.state = NetvscState::SendBuffer;
                Ok(())
            }
            (
                Pending::SendBuffer,
                m @ NvspMessage::SendSendBufferComplete {
                    status,
                    section_size,
                },
            ) => {
                if status != NVSP_STATUS_SUCCESS {
                    return Err(init_failed(&m, status));
                }
                // Two sections at least: an RNDIS reply can overtake the
                // completion of the request that caused it.
                let sections = Sections::new(self.config.send_len, section_size)
                    .filter(|s| s.count() >= 2 && section_size >= MIN_SECTION_SIZE)
                    .ok_or(NetvscError::BadSendSection(section_size))?;
                self.sections = Some(sections);
                let init = |request_id| RndisMessage::Initialize {
                    request_id,
                    major: 1,
                    minor: 0,
                    max_transfer_size: INIT_MAX_TRANSFER,
                };
                self.control(init, NetvscState::RndisInit, send, out)
            }
            (Pending::Rndis { data, .. }, m @ NvspMessage::SendRndisPacketComplete { status }) => {
                let ok = status == NVSP_STATUS_SUCCESS;
                if data {
                    out.event(NetvscEvent::SendComplete { id, ok });
                    Ok(())
                } else if ok {
                    Ok(())
                } else {
                    // A refused control message would stall the bring-up.
                    Err(init_failed(&m, status))
                }
            }
            (_, m) => Err(NetvscError::UnexpectedNvsp(m.msg_type())),
        }
    }
}

/// The receive section must start at 0 (§6.5), hold at least one
/// sub-allocation and end inside the buffer.
fn section_fits(s: &ReceiveSection, buffer_len: u32) -> bool {
    let used = u64::from(s.sub_alloc_size) * u64::from(s.num_sub_allocs);
    s.offset == 0
        && s.sub_alloc_size > 0
        && s.num_sub_allocs > 0
        && s.end_offset <= buffer_len
        && s.offset < s.end_offset
        && used <= u64::from(s.end_offset - s.offset)
}
