//! A bounded journal of what the guest did wrong and what the host did.
//!
//! Nothing the guest sends makes the host panic: anything odd becomes a
//! [`Note`] that a test can assert on (sheet §8.4 item 5, "make illegal
//! packets fatal per device state ... so a guest bug fails a test").

use alloc::collections::VecDeque;

use crate::device::DeviceError;
use crate::hostile::HostileCase;
use crate::ring::RingError;

/// Why a GPADL was refused with GPADL_CREATED 0x8000FFFF (§3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpadlFault {
    /// The relid names no offered channel.
    UnknownRelid,
    /// The handle is already in use or being built.
    HandleInUse,
    /// The range descriptors are inconsistent.
    BadRanges,
    /// The channel was rescinded while the GPADL was being built.
    Rescinded,
}

/// Why OPENCHANNEL failed with result 0x8000FFFF (§3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFault {
    /// No complete GPADL with that handle on this channel.
    UnknownGpadl,
    /// Not one page-aligned range, or the split leaves a ring without a
    /// header page plus at least one data page.
    BadRingLayout,
    /// The ring header indices in guest memory were invalid.
    BadRingHeader,
    /// The device refused to open.
    DeviceRefused,
}

/// Where the host failed to reach guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryUse {
    /// A SIMP slot.
    MessagePage,
    /// The SIEFP bitmap.
    EventPage,
    /// The hypercall page.
    HypercallPage,
    /// A hypercall input block.
    HypercallInput,
}

/// One journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // variant fields are named for what they hold
pub enum Note {
    /// A SynIC message queue overflowed and a message was dropped.
    MessageQueueOverflow { vp: u32, sint: u8 },
    /// Guest memory could not be accessed.
    MemoryFault { what: MemoryUse, gpa: u64 },
    /// A hypercall was made before the hypercall page was enabled (real
    /// hardware would raise #UD).
    HypercallWithoutPage,
    /// A control message arrived before a successful INITIATE_CONTACT and
    /// was dropped silently (§3.1).
    BeforeContact { msgtype: u32 },
    /// A control message was too short or otherwise unparsable.
    Malformed { msgtype: u32, len: usize },
    /// A control message type this host does not implement.
    Unsupported { msgtype: u32 },
    /// A second REQUESTOFFERS was ignored (§8.2).
    RequestOffersAgain,
    /// A message named a relid that is not offered.
    UnknownRelid { msgtype: u32, relid: u32 },
    /// A message did not fit the channel's state (e.g. CLOSECHANNEL on a
    /// channel that is not open).
    WrongChannelState { msgtype: u32, relid: u32 },
    /// A GPADL_BODY for a handle not being built (dropped, §3.6).
    GpadlBodyUnknown { gpadl: u32 },
    /// A GPADL was refused.
    GpadlRefused {
        relid: u32,
        gpadl: u32,
        fault: GpadlFault,
    },
    /// A GPADL_TEARDOWN named no GPADL of that channel.
    TeardownUnknown { relid: u32, gpadl: u32 },
    /// OPENCHANNEL failed.
    OpenRefused { relid: u32, fault: OpenFault },
    /// A request with trans_id 0 asked for a completion; left unanswered,
    /// as Hyper-V does (§4.3, §8.1).
    ZeroTransId { relid: u32 },
    /// A channel stopped on an illegal ring state.
    RingFailed { relid: u32, error: RingError },
    /// A device stopped on an illegal packet.
    DeviceFailed { relid: u32, error: DeviceError },
    /// A hostile case did its damage.
    Hostile { case: HostileCase },
}

/// The journal itself: the newest `limit` notes.
#[derive(Debug, Clone)]
pub struct Notes {
    items: VecDeque<Note>,
    limit: usize,
    dropped: u64,
}

impl Notes {
    /// A journal keeping at most `limit` notes.
    pub fn new(limit: usize) -> Self {
        Notes {
            items: VecDeque::new(),
            limit: limit.max(1),
            dropped: 0,
        }
    }

    /// Appends a note, forgetting the oldest when full.
    pub fn push(&mut self, n: Note) {
        if self.items.len() >= self.limit {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(n);
    }

    /// The notes, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Note> {
        self.items.iter()
    }

    /// True if any note satisfies `f`.
    pub fn any(&self, f: impl Fn(&Note) -> bool) -> bool {
        self.items.iter().any(f)
    }

    /// How many notes were forgotten because the journal was full.
    pub fn forgotten(&self) -> u64 {
        self.dropped
    }

    /// Forgets every note.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}
