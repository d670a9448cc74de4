//! The PS/2 subsystem's error type.

use core::fmt;

use crate::Port;

/// What a wait that ran out of polls was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// The controller's input buffer to drain (status bit 1 to clear).
    InputBuffer,
    /// The controller's answer to command `cmd`.
    Controller {
        /// The controller command (port 0x64) that was sent.
        cmd: u8,
    },
    /// A device's answer to `cmd`.
    Device {
        /// The port the device hangs on.
        port: Port,
        /// The device command or parameter byte that was sent.
        cmd: u8,
    },
}

/// Everything that can go wrong while bringing up the controller or a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ps2Error {
    /// A wait ran out of status polls (or the whole bring-up ran out of its
    /// budget, see [`crate::Limits::WAIT_BUDGET`]).
    Timeout {
        /// What was awaited.
        waiting_for: WaitFor,
    },
    /// The controller self-test (0xAA) answered this instead of 0x55.
    SelfTest(u8),
    /// A port interface test (0xAB / 0xA9) answered this instead of 0x00.
    PortTest {
        /// The port that was tested.
        port: Port,
        /// The answer: 1/2 clock stuck low/high, 3/4 data stuck low/high.
        code: u8,
    },
    /// A device answered `got` instead of ACK 0xFA to `cmd`; `got` is 0xFE
    /// if it still asked for a resend after the last retry.
    NoAck {
        /// The byte that was sent.
        cmd: u8,
        /// What came back.
        got: u8,
    },
    /// A device's reset self-test answered this instead of 0xAA.
    DeviceSelfTest(u8),
    /// The controller has no second port, so there is no mouse.
    NoSecondChannel,
}

impl fmt::Display for WaitFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitFor::InputBuffer => write!(f, "the input buffer to drain"),
            WaitFor::Controller { cmd } => write!(f, "the answer to controller command {cmd:#04x}"),
            WaitFor::Device { port, cmd } => write!(f, "the {port:?} answer to {cmd:#04x}"),
        }
    }
}

impl fmt::Display for Ps2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ps2Error::Timeout { waiting_for } => write!(f, "timed out waiting for {waiting_for}"),
            Ps2Error::SelfTest(got) => write!(f, "controller self-test failed: {got:#04x}"),
            Ps2Error::PortTest { port, code } => {
                let what = match code {
                    1 => "clock line stuck low",
                    2 => "clock line stuck high",
                    3 => "data line stuck low",
                    4 => "data line stuck high",
                    _ => "unknown failure",
                };
                write!(f, "{port:?} port test failed: {code:#04x} ({what})")
            }
            Ps2Error::NoAck { cmd, got } => write!(f, "no ACK to {cmd:#04x}: got {got:#04x}"),
            Ps2Error::DeviceSelfTest(got) => write!(f, "device self-test failed: {got:#04x}"),
            Ps2Error::NoSecondChannel => write!(f, "controller has no second port"),
        }
    }
}
