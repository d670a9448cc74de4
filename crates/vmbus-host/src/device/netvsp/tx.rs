//! Guest → host RNDIS for netvsp: the bytes of SEND_RNDIS_PACKET from a
//! send-buffer section or GPA-direct ranges, and the peer on the far end
//! of the wire (sheet §6.5).

use alloc::vec::Vec;

use super::{field, ty, NetMode, Netvsp, NvspState, SEND_SECTION, SUCCESS};
use crate::device::net_responder;
use crate::device::rndis::{self, Output};
use crate::device::{DeviceError, DeviceIo};
use crate::packet::{InKind, InPacket};
use crate::wire::Builder;

/// Frames kept by [`Netvsp::take_sent`] before the oldest are dropped.
const SENT_LIMIT: usize = 1024;

impl Netvsp {
    pub(super) fn rndis_packet(
        &mut self,
        io: &mut DeviceIo<'_>,
        p: &InPacket,
        m: &[u8],
    ) -> Result<(), DeviceError> {
        if self.state != NvspState::Ready {
            return Err(DeviceError::WrongState(ty::SEND_RNDIS_PACKET));
        }
        let (section, size) = (field(m, 8)?, field(m, 12)?);
        let bytes = if section != u32::MAX {
            let g = self.tx_gpadl.ok_or(DeviceError::BadBuffer(0))?;
            if size > SEND_SECTION {
                return Err(DeviceError::BadRange);
            }
            let mut b = alloc::vec![0u8; size as usize];
            io.read_gpadl(g, u64::from(section) * u64::from(SEND_SECTION), &mut b)?;
            b
        } else {
            let InKind::GpaDirect(ranges) = &p.kind else {
                return Err(DeviceError::BadRange);
            };
            let mut b = Vec::new();
            for r in ranges {
                let start = b.len();
                if start + r.byte_count as usize > 0x10000 {
                    return Err(DeviceError::TooLong(r.byte_count));
                }
                b.resize(start + r.byte_count as usize, 0);
                io.read_range(r, 0, &mut b[start..])?;
            }
            b
        };
        let mut out = Vec::new();
        self.rndis.handle(&bytes, &mut out)?;
        for o in out {
            match o {
                Output::Control(msg) => {
                    self.queue(1, msg);
                }
                Output::Frame(f) => self.transmit(f),
            }
        }
        let reply = self.nvsp(
            Builder::new()
                .u32(ty::SEND_RNDIS_PACKET_COMPLETE)
                .u32(SUCCESS),
        );
        io.complete(p, reply);
        Ok(())
    }

    fn transmit(&mut self, frame: Vec<u8>) {
        let back = match self.mode {
            NetMode::Loopback => Some(frame.clone()),
            NetMode::Responder { mac, ip } => net_responder::respond(&frame, mac, ip),
            NetMode::Capture => None,
        };
        if self.sent.len() >= SENT_LIMIT {
            self.sent.pop_front();
        }
        self.sent.push_back(frame);
        if let Some(f) = back {
            // Loop-back ignores the destination; the filter must be set.
            if self.rndis.filter != 0 {
                self.queue(0, rndis::packet_msg(&f));
            }
        }
    }
}
