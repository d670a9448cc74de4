//! Fixed parameters of a connection (sheet §3.1, §3.3, §3.4).

use crate::guid::Guid;
use crate::message::{Version, NEGOTIATION_ORDER};

/// Which connection ids to post to (§3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionMode {
    /// Everything to id 1, msg_sint 0, msg_conn_id ignored (Hyper-V's UEFI).
    AlwaysOne,
    /// INITIATE_CONTACT ≥ 5.0 to id 4 with msg_sint 2, then msg_conn_id
    /// from the response (Linux).
    LinuxFour,
}

/// Fixed parameters of a connection.
#[derive(Clone, Copy, Debug)]
pub struct ClientConfig {
    /// Versions to offer, newest first.
    pub versions: &'static [Version],
    /// Connection id rule.
    pub mode: ConnectionMode,
    /// VP index that receives control messages (the boot CPU's VP_INDEX).
    pub target_vcpu: u32,
    /// GPAs of the two zeroed monitor pages, or none (both or neither).
    pub monitor_pages: Option<(u64, u64)>,
    /// GPA of the interrupt page for versions below 5.0 (0 = none).
    pub interrupt_page: u64,
    /// Client id for 6.0 (requests feature 0x08, 56-byte message).
    pub client_id: Option<Guid>,
    /// Most channels tracked; further offers are refused.
    pub max_channels: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            versions: &NEGOTIATION_ORDER,
            mode: ConnectionMode::AlwaysOne,
            target_vcpu: 0,
            monitor_pages: None,
            interrupt_page: 0,
            client_id: None,
            max_channels: 256,
        }
    }
}
