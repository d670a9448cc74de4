//! Hypercall status codes (HV_STATUS, sheet §1.4 and §1.5).

use core::fmt;

/// Hypercall status codes (HV_STATUS, §1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HvStatus {
    /// 0x0000.
    Success,
    /// 0x0002.
    InvalidHypercallCode,
    /// 0x0003.
    InvalidHypercallInput,
    /// 0x0004.
    InvalidAlignment,
    /// 0x0005.
    InvalidParameter,
    /// 0x0006.
    AccessDenied,
    /// 0x0007.
    InvalidPartitionState,
    /// 0x0008.
    OperationDenied,
    /// 0x000B.
    InsufficientMemory,
    /// 0x000D.
    InvalidPartitionId,
    /// 0x000E.
    InvalidVpIndex,
    /// 0x0011.
    InvalidPortId,
    /// 0x0012: unknown connection id, or messages arriving too fast.
    InvalidConnectionId,
    /// 0x0013.
    InsufficientBuffers,
    /// 0x0014.
    NotAcknowledged,
    /// 0x001D.
    NoResources,
    /// Any other code.
    Other(u16),
}

impl HvStatus {
    /// Maps a 16-bit status code.
    pub const fn from_code(code: u16) -> HvStatus {
        match code {
            0x0000 => HvStatus::Success,
            0x0002 => HvStatus::InvalidHypercallCode,
            0x0003 => HvStatus::InvalidHypercallInput,
            0x0004 => HvStatus::InvalidAlignment,
            0x0005 => HvStatus::InvalidParameter,
            0x0006 => HvStatus::AccessDenied,
            0x0007 => HvStatus::InvalidPartitionState,
            0x0008 => HvStatus::OperationDenied,
            0x000B => HvStatus::InsufficientMemory,
            0x000D => HvStatus::InvalidPartitionId,
            0x000E => HvStatus::InvalidVpIndex,
            0x0011 => HvStatus::InvalidPortId,
            0x0012 => HvStatus::InvalidConnectionId,
            0x0013 => HvStatus::InsufficientBuffers,
            0x0014 => HvStatus::NotAcknowledged,
            0x001D => HvStatus::NoResources,
            other => HvStatus::Other(other),
        }
    }

    /// The 16-bit status code.
    pub const fn code(self) -> u16 {
        match self {
            HvStatus::Success => 0x0000,
            HvStatus::InvalidHypercallCode => 0x0002,
            HvStatus::InvalidHypercallInput => 0x0003,
            HvStatus::InvalidAlignment => 0x0004,
            HvStatus::InvalidParameter => 0x0005,
            HvStatus::AccessDenied => 0x0006,
            HvStatus::InvalidPartitionState => 0x0007,
            HvStatus::OperationDenied => 0x0008,
            HvStatus::InsufficientMemory => 0x000B,
            HvStatus::InvalidPartitionId => 0x000D,
            HvStatus::InvalidVpIndex => 0x000E,
            HvStatus::InvalidPortId => 0x0011,
            HvStatus::InvalidConnectionId => 0x0012,
            HvStatus::InsufficientBuffers => 0x0013,
            HvStatus::NotAcknowledged => 0x0014,
            HvStatus::NoResources => 0x001D,
            HvStatus::Other(code) => code,
        }
    }

    /// Whether HvPostMessage may succeed if retried later (§1.5). The
    /// INITIATE_CONTACT exception (step down a version instead) is the
    /// client's business: see `Client::contact_post_failed`.
    pub const fn is_transient_post_failure(self) -> bool {
        matches!(
            self,
            HvStatus::InsufficientMemory
                | HvStatus::InsufficientBuffers
                | HvStatus::InvalidConnectionId
        )
    }
}

impl fmt::Display for HvStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HV_STATUS {:#06x} ({:?})", self.code(), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip() {
        for code in 0..0x40u16 {
            assert_eq!(HvStatus::from_code(code).code(), code);
        }
        assert!(HvStatus::InsufficientBuffers.is_transient_post_failure());
        assert!(!HvStatus::InvalidParameter.is_transient_post_failure());
    }
}
