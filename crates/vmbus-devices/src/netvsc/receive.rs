//! netvsc receive path: transfer-page packets, RNDIS replies and frames.

use super::driver::{NetBuffers, Netvsc, NetvscEvent, NetvscState, MAX_RX_BYTES_PER_PACKET};
use super::nvsp::{NvspMessage, NVSP_STATUS_FAILURE, NVSP_STATUS_SUCCESS};
use super::rndis::{
    split_message, RndisMessage, OID_802_3_PERMANENT_ADDRESS, OID_GEN_CURRENT_PACKET_FILTER,
    OID_GEN_MAXIMUM_FRAME_SIZE, OID_GEN_MEDIA_CONNECT_STATUS, PACKET_FILTER_DEFAULT,
    RNDIS_PACKET_MSG, RNDIS_STATUS_MEDIA_CONNECT, RNDIS_STATUS_MEDIA_DISCONNECT,
    RNDIS_STATUS_NETWORK_CHANGE, RNDIS_STATUS_SUCCESS,
};
use super::rndis_packet::{decode_packet, ReceivedFrame};
use super::NetvscError;
use crate::output::Output;
use crate::packet::{Incoming, Outgoing, TransferPages, TransferRange};
use crate::wire::WireError;

/// The filter value, as the SET data.
static FILTER: [u8; 4] = PACKET_FILTER_DEFAULT.to_le_bytes();
/// Ethernet header plus an in-band 802.1Q tag.
const FRAME_OVERHEAD: u32 = 18;

fn query(oid: u32) -> impl FnOnce(u32) -> RndisMessage<'static> {
    move |request_id| RndisMessage::Query {
        request_id,
        oid,
        info: &[],
    }
}

fn word(info: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(info.get(..4)?.try_into().ok()?))
}

impl Netvsc {
    /// Handles a type-7 packet and completes it to the host whatever its
    /// content (status FAILURE if anything in it was refused), so the host
    /// gets its receive sections back.
    pub(super) fn receive(
        &mut self,
        packet: &Incoming<'_>,
        tp: TransferPages<'_>,
        bufs: &mut NetBuffers<'_>,
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        let r = self.receive_ranges(packet, tp, bufs, out);
        if packet.completion_requested {
            let status = if r.is_ok() {
                NVSP_STATUS_SUCCESS
            } else {
                NVSP_STATUS_FAILURE
            };
            let done = NvspMessage::SendRndisPacketComplete { status };
            out.send(Outgoing::completion(packet.trans_id, done.encode()));
        }
        r
    }

    fn receive_ranges(
        &mut self,
        packet: &Incoming<'_>,
        tp: TransferPages<'_>,
        bufs: &mut NetBuffers<'_>,
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        if self.section.is_none() {
            return Err(NetvscError::Unexpected(self.state));
        }
        if tp.pageset_id != self.config.recv_id {
            return Err(NetvscError::BadPageset(tp.pageset_id));
        }
        match NvspMessage::decode(packet.payload)? {
            NvspMessage::SendRndisPacket { .. } => {}
            m => return Err(NetvscError::UnexpectedNvsp(m.msg_type())),
        }
        if tp.is_empty() {
            return Err(NetvscError::Wire(WireError::BadRange));
        }
        let mut first_error = None;
        let mut copied = 0usize;
        for range in tp.iter() {
            let recv: &[u8] = bufs.recv;
            if let Err(e) = self.range(range, recv, bufs.send, &mut copied, out) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn range(
        &mut self,
        r: TransferRange,
        recv: &[u8],
        send: &mut [u8],
        copied: &mut usize,
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        let bad = NetvscError::RangeOutOfBuffer {
            offset: r.byte_offset,
            count: r.byte_count,
        };
        let section = self.section.ok_or(bad)?;
        let start = u64::from(r.byte_offset);
        let end = start + u64::from(r.byte_count);
        if start < u64::from(section.offset) || end > u64::from(section.end_offset) {
            return Err(bad);
        }
        let bytes = recv.get(start as usize..end as usize).ok_or(bad)?;
        let (msg_type, msg) = split_message(bytes)?;
        if msg_type == RNDIS_PACKET_MSG {
            if self.state != NetvscState::Ready {
                return Err(NetvscError::NotReadyForFrames);
            }
            let max = self.mtu.saturating_add(FRAME_OVERHEAD) as usize;
            let (frame, info) = decode_packet(msg, max)?;
            *copied += frame.len();
            if *copied > MAX_RX_BYTES_PER_PACKET {
                return Err(NetvscError::ReceiveTooLarge);
            }
            out.event(NetvscEvent::Frame(ReceivedFrame {
                data: frame.to_vec(),
                vlan: info.vlan,
                checksum_info: info.checksum_info,
                hash: info.hash,
            }));
            return Ok(());
        }
        let msg = RndisMessage::decode(msg)?;
        self.rndis_reply(msg, send, out)
    }

    fn take_request(&mut self, request_id: u32) -> Result<(), NetvscError> {
        if self.rndis_pending != Some(request_id) {
            return Err(NetvscError::RndisRequestId(request_id));
        }
        self.rndis_pending = None;
        Ok(())
    }

    fn rndis_reply(
        &mut self,
        msg: RndisMessage<'_>,
        send: &mut [u8],
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        use NetvscState as S;
        match (self.state, msg) {
            (_, RndisMessage::IndicateStatus { status, .. }) => {
                let ready = self.state == S::Ready;
                match status {
                    RNDIS_STATUS_MEDIA_CONNECT | RNDIS_STATUS_MEDIA_DISCONNECT => {
                        let up = status == RNDIS_STATUS_MEDIA_CONNECT;
                        self.link_up = up;
                        if ready {
                            out.event(if up {
                                NetvscEvent::LinkUp
                            } else {
                                NetvscEvent::LinkDown
                            });
                        }
                    }
                    // The host moved the NIC to another network; Linux
                    // bounces the carrier so addresses get renewed.
                    RNDIS_STATUS_NETWORK_CHANGE if ready && self.link_up => {
                        out.event(NetvscEvent::LinkDown);
                        out.event(NetvscEvent::LinkUp);
                    }
                    // Link speed, offload configuration, ...: nothing to do.
                    _ => {}
                }
                Ok(())
            }
            (S::RndisInit, RndisMessage::InitializeComplete(c)) => {
                self.take_request(c.request_id)?;
                if c.status != RNDIS_STATUS_SUCCESS {
                    return Err(NetvscError::RndisStatus {
                        oid: 0,
                        status: c.status,
                    });
                }
                self.control(query(OID_802_3_PERMANENT_ADDRESS), S::QueryMac, send, out)
            }
            (
                S::QueryMac,
                RndisMessage::QueryComplete {
                    request_id,
                    status,
                    info,
                },
            ) => {
                self.take_request(request_id)?;
                if status != RNDIS_STATUS_SUCCESS {
                    return Err(NetvscError::RndisStatus {
                        oid: OID_802_3_PERMANENT_ADDRESS,
                        status,
                    });
                }
                let mac: [u8; 6] = info
                    .get(..6)
                    .and_then(|m| m.try_into().ok())
                    .ok_or(NetvscError::BadMac)?;
                // An all-zero or group (multicast) address cannot be a NIC's.
                if mac == [0; 6] || mac[0] & 1 != 0 {
                    return Err(NetvscError::BadMac);
                }
                self.mac = mac;
                self.control(query(OID_GEN_MAXIMUM_FRAME_SIZE), S::QueryMtu, send, out)
            }
            (
                S::QueryMtu,
                RndisMessage::QueryComplete {
                    request_id,
                    status,
                    info,
                },
            ) => {
                self.take_request(request_id)?;
                let reported = word(info).filter(|_| status == RNDIS_STATUS_SUCCESS);
                let verdict = match reported {
                    Some(m) if (68..=9216).contains(&m) => {
                        self.mtu = m;
                        Ok(())
                    }
                    Some(m) => Err(NetvscError::BadMtu(m)),
                    // Not answered: keep the configured MTU.
                    None => Ok(()),
                };
                self.control(query(OID_GEN_MEDIA_CONNECT_STATUS), S::QueryLink, send, out)?;
                verdict
            }
            (
                S::QueryLink,
                RndisMessage::QueryComplete {
                    request_id,
                    status,
                    info,
                },
            ) => {
                self.take_request(request_id)?;
                // 0 = connected; unanswered counts as connected.
                self.link_up = word(info).filter(|_| status == RNDIS_STATUS_SUCCESS) != Some(1);
                let set = |request_id| RndisMessage::Set {
                    request_id,
                    oid: OID_GEN_CURRENT_PACKET_FILTER,
                    info: &FILTER,
                };
                self.control(set, S::SetFilter, send, out)
            }
            (S::SetFilter, RndisMessage::SetComplete { request_id, status }) => {
                self.take_request(request_id)?;
                if status != RNDIS_STATUS_SUCCESS {
                    return Err(NetvscError::RndisStatus {
                        oid: OID_GEN_CURRENT_PACKET_FILTER,
                        status,
                    });
                }
                self.state = S::Ready;
                out.event(NetvscEvent::Ready {
                    mac: self.mac,
                    mtu: self.mtu,
                });
                out.event(if self.link_up {
                    NetvscEvent::LinkUp
                } else {
                    NetvscEvent::LinkDown
                });
                Ok(())
            }
            (_, m) => Err(NetvscError::RndisUnexpected(m.msg_type())),
        }
    }
}
