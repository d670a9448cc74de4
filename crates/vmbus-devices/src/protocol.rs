//! What the input and video state machines share, for glue that drives
//! any of them over a channel: start, a packet at a time, failed or not.

use core::fmt::Debug;

use crate::keyboard::{Keyboard, KeyboardError, KeyboardEvent, KeyboardState};
use crate::mouse::{Mouse, MouseError, MouseEvent, MouseState};
use crate::synthvid::{Synthvid, SynthvidError, SynthvidEvent, SynthvidState};
use crate::{Incoming, Output};

/// A device's guest protocol that needs nothing but its packets.
pub trait Protocol {
    /// What it reports.
    type Event;
    /// Why it refused something.
    type Error: Debug;
    /// Sends the first request.
    fn start(&mut self, out: &mut Output<Self::Event>) -> Result<(), Self::Error>;
    /// Consumes one packet from the host.
    fn handle(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<Self::Event>,
    ) -> Result<(), Self::Error>;
    /// Whether it has given up on the host for good.
    fn failed(&self) -> bool;
}

macro_rules! protocol {
    ($machine:ty, $event:ty, $error:ty, $failed:expr) => {
        impl Protocol for $machine {
            type Event = $event;
            type Error = $error;
            fn start(&mut self, out: &mut Output<$event>) -> Result<(), $error> {
                <$machine>::start(self, out)
            }
            fn handle(
                &mut self,
                packet: &Incoming<'_>,
                out: &mut Output<$event>,
            ) -> Result<(), $error> {
                <$machine>::handle(self, packet, out)
            }
            fn failed(&self) -> bool {
                self.state() == $failed
            }
        }
    };
}

protocol!(
    Keyboard,
    KeyboardEvent,
    KeyboardError,
    KeyboardState::Failed
);
protocol!(Mouse, MouseEvent, MouseError, MouseState::Failed);
protocol!(
    Synthvid,
    SynthvidEvent,
    SynthvidError,
    SynthvidState::Failed
);
