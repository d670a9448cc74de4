//! The network-device interface the stack drives (virtio-net, netvsc).

use core::fmt;

/// Why a device call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// The transmit queue is full; try again after the device completes
    /// some frames.
    Busy,
    /// The waiting frame does not fit the buffer offered to `receive`; the
    /// device dropped it.
    TooLarge,
    /// The device reported an error (its driver logged the details).
    Failed,
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Busy => "the transmit queue is full",
            Self::TooLarge => "the frame does not fit the buffer",
            Self::Failed => "the device reported an error",
        })
    }
}

/// An Ethernet device: whole frames in, whole frames out.
///
/// Frames are Ethernet II frames from the destination MAC to the end of
/// the payload, without preamble or FCS (the device strips and appends
/// those). The device does no filtering the stack relies on: the stack
/// checks every received frame itself. All calls return at once; the
/// stack's owner (a kernel thread) calls [`crate::Stack::poll`] again when
/// the device interrupts or a timer from [`crate::Stack::poll_delay`]
/// expires.
pub trait NetDevice {
    /// The station's MAC address.
    fn mac(&self) -> [u8; 6];

    /// The IP MTU: the largest Ethernet payload in bytes (1500 on most
    /// links; a frame is at most 14 bytes longer).
    fn mtu(&self) -> usize;

    /// Copies the oldest waiting frame into `buf` and returns its length,
    /// or `None` if no frame waits. A frame longer than `buf` is dropped
    /// with [`DeviceError::TooLarge`].
    fn receive(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DeviceError>;

    /// Queues one frame for sending; the device copies it before
    /// returning.
    fn transmit(&mut self, frame: &[u8]) -> Result<(), DeviceError>;

    /// Whether `transmit` would accept a frame now.
    fn can_transmit(&self) -> bool;
}

impl<D: NetDevice + ?Sized> NetDevice for &mut D {
    fn mac(&self) -> [u8; 6] {
        (**self).mac()
    }
    fn mtu(&self) -> usize {
        (**self).mtu()
    }
    fn receive(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DeviceError> {
        (**self).receive(buf)
    }
    fn transmit(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        (**self).transmit(frame)
    }
    fn can_transmit(&self) -> bool {
        (**self).can_transmit()
    }
}
