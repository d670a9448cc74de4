//! The VMBus control plane: message layouts (§3), GPADLs (§3.6) and the
//! server state machine (§3, §8.2).

pub(crate) mod channels;
pub(crate) mod gpadl;
pub mod msg;
pub(crate) mod pump;
pub(crate) mod server;

/// VMBus protocol versions (major << 16 | minor, §3.3).
pub mod version {
    /// Win8 (2.4): event flags page indexed by relid.
    pub const V2_4: u32 = 0x0002_0004;
    /// Win8.1 (3.0): target_vcpu honoured.
    pub const V3_0: u32 = 0x0003_0000;
    /// Win10 (4.0).
    pub const V4_0: u32 = 0x0004_0000;
    /// Win10 RS3 (4.1): MODIFYCHANNEL.
    pub const V4_1: u32 = 0x0004_0001;
    /// 5.0: msg_sint/msg_vtl, msg_conn_id, connection id 4.
    pub const V5_0: u32 = 0x0005_0000;
    /// RS4 (5.1).
    pub const V5_1: u32 = 0x0005_0001;
    /// RS5 (5.2).
    pub const V5_2: u32 = 0x0005_0002;
    /// Iron (5.3): MODIFYCHANNEL gets a response.
    pub const V5_3: u32 = 0x0005_0003;
    /// Copper (6.0): feature flags, 20-byte VERSION_RESPONSE.
    pub const V6_0: u32 = 0x0006_0000;
    /// Every version this host can speak, newest first. Versions below 2.4
    /// (interrupt page only) are refused like unknown ones.
    pub const ALL: [u32; 9] = [V6_0, V5_3, V5_2, V5_1, V5_0, V4_1, V4_0, V3_0, V2_4];
}

/// Connection ids the host listens on for control messages (§3.1).
pub const MESSAGE_CONNECTION_ID: u32 = 1;
/// The second message connection id, usable from 5.0 (§3.1).
pub const MESSAGE_CONNECTION_ID_4: u32 = 4;

/// 6.0 feature flags (§3.4).
pub mod feature {
    /// Guest-specified signal parameters (156-byte OpenChannel2).
    pub const GUEST_SPECIFIED_SIGNAL_PARAMETERS: u32 = 0x01;
    /// Channel interrupt redirection.
    pub const CHANNEL_INTERRUPT_REDIRECTION: u32 = 0x02;
    /// MODIFY_CONNECTION messages 25/26.
    pub const MODIFY_CONNECTION: u32 = 0x04;
    /// A client id GUID in the 56-byte INITIATE_CONTACT.
    pub const CLIENT_ID: u32 = 0x08;
}

/// The status word of failed GPADL_CREATED / OPENCHANNEL_RESULT (§3.6).
pub const STATUS_UNSUCCESSFUL: u32 = 0x8000_FFFF;
