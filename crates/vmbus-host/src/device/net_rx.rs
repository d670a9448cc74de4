//! netvsp's receive buffer: sub-allocations, transfer-page packets and the
//! guest's completions that free them (sheet §6.5).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::netvsp::ty;
use super::{DeviceError, DeviceIo};
use crate::packet::{OutKind, OutPacket};
use crate::wire::Builder;

/// The receive buffer the guest registered, cut into sub-allocations.
#[derive(Debug, Clone)]
pub(crate) struct RxBuffer {
    gpadl: u32,
    id: u16,
    sub: u32,
    in_use: Vec<bool>,
}

impl RxBuffer {
    /// `count` sub-allocations of `sub` bytes in GPADL `gpadl`, announced
    /// to the guest as transfer page set `id`.
    pub(crate) fn new(gpadl: u32, id: u16, sub: u32, count: u32) -> Self {
        RxBuffer {
            gpadl,
            id,
            sub,
            in_use: alloc::vec![false; count as usize],
        }
    }

    /// Sub-allocations the guest still holds.
    pub(crate) fn outstanding(&self) -> usize {
        self.in_use.iter().filter(|&&u| u).count()
    }

    /// The guest completed the transfer-page packet `trans_id` (§6.5).
    pub(crate) fn complete(&mut self, trans_id: u64) -> Result<(), DeviceError> {
        match usize::try_from(trans_id)
            .ok()
            .and_then(|i| self.in_use.get_mut(i))
        {
            Some(u) if *u => {
                *u = false;
                Ok(())
            }
            _ => Err(DeviceError::UnknownCompletion(trans_id)),
        }
    }

    /// Moves waiting RNDIS messages into free sub-allocations, one
    /// transfer-page packet each; trans_id = sub-allocation index, as in
    /// OpenVMM (it may be 0).
    pub(crate) fn deliver(
        &mut self,
        io: &mut DeviceIo<'_>,
        pending: &mut VecDeque<(u32, Vec<u8>)>,
        version: u32,
    ) -> Result<(), DeviceError> {
        while let Some((channel_type, msg)) = pending.front() {
            let Some(i) = self.in_use.iter().position(|u| !u) else {
                break;
            };
            let len = msg.len().min(self.sub as usize);
            let off = i as u32 * self.sub;
            io.write_gpadl(self.gpadl, u64::from(off), &msg[..len])?;
            self.in_use[i] = true;
            let payload = Builder::new()
                .u32(ty::SEND_RNDIS_PACKET)
                .u32(*channel_type)
                .u32(u32::MAX)
                .u32(0)
                .pad_to(if version >= 0x0006_0001 { 40 } else { 28 })
                .finish();
            io.send(OutPacket {
                kind: OutKind::XferPages {
                    set_id: self.id,
                    ranges: alloc::vec![(len as u32, off)],
                },
                completion_requested: true,
                trans_id: i as u64,
                payload,
            });
            pending.pop_front();
        }
        Ok(())
    }
}
