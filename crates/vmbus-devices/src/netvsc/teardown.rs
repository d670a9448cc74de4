//! Taking the NIC down before the channel closes (as Linux does on removal).

use super::driver::{Netvsc, NetvscEvent, NetvscState, MAX_PENDING};
use super::nvsp::NvspMessage;
use crate::output::Output;
use crate::requests::RequestTable;

impl Netvsc {
    /// Revokes the buffers the host accepted — REVOKE_RECEIVE_BUFFER, then
    /// REVOKE_SEND_BUFFER, in-band without completion as Linux sends them —
    /// after which the kernel may close the channel and tear the GPADLs
    /// down. Frames still in flight are abandoned (no `SendComplete`
    /// follows). Works in any state, failed included; later packets get
    /// [`super::NetvscError::Stopped`]. A second call sends nothing.
    pub fn stop(&mut self, out: &mut Output<NetvscEvent>) {
        if self.section.take().is_some() {
            let id = self.config.recv_id;
            self.notify(NvspMessage::RevokeReceiveBuffer { id }, out);
        }
        if self.sections.take().is_some() {
            let id = self.config.send_id;
            self.notify(NvspMessage::RevokeSendBuffer { id }, out);
        }
        self.table = RequestTable::new(MAX_PENDING);
        self.rndis_pending = None;
        self.state = NetvscState::Stopped;
    }
}
