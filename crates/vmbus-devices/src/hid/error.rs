//! The HID parser's error type.

use core::fmt;

/// Why a report descriptor or input report was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HidError {
    /// Descriptor longer than [`super::MAX_DESCRIPTOR_LEN`].
    TooLong(usize),
    /// An item whose data runs past the end, starting at this offset.
    Truncated {
        /// Offset of the item's prefix byte.
        at: usize,
    },
    /// A short item of the reserved type 3, at this offset.
    ReservedItem {
        /// Offset of the item's prefix byte.
        at: usize,
    },
    /// Collections nested deeper than [`super::MAX_DEPTH`].
    TooDeep,
    /// End Collection without a Collection.
    CollectionUnderflow,
    /// Push beyond [`super::MAX_PUSH`].
    PushOverflow,
    /// Pop without Push.
    PopUnderflow,
    /// More than [`super::MAX_USAGES`] usages before one main item.
    TooManyUsages,
    /// More than [`super::MAX_REPORTS`] report ids.
    TooManyReports,
    /// Report Size × Report Count overflows or a report grows beyond
    /// [`super::MAX_REPORT_BYTES`].
    ReportTooLarge,
    /// Report ID 0, which HID reserves.
    ZeroReportId,
    /// No report has both an X and a Y axis.
    NoPointer,
    /// An axis of 0 or more than 32 bits, or an absolute axis whose logical
    /// maximum is not above its minimum.
    BadAxis,
    /// An input report shorter than its layout.
    ShortReport {
        /// Bytes the layout needs.
        need: usize,
        /// Bytes that arrived.
        have: usize,
    },
}

impl fmt::Display for HidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong(n) => write!(f, "hid: descriptor of {n} bytes is too long"),
            Self::Truncated { at } => write!(f, "hid: item at {at} is truncated"),
            Self::ReservedItem { at } => write!(f, "hid: reserved item type at {at}"),
            Self::TooDeep => write!(f, "hid: collections nested too deep"),
            Self::CollectionUnderflow => write!(f, "hid: End Collection without Collection"),
            Self::PushOverflow => write!(f, "hid: Push stack overflow"),
            Self::PopUnderflow => write!(f, "hid: Pop without Push"),
            Self::TooManyUsages => write!(f, "hid: too many usages for one item"),
            Self::TooManyReports => write!(f, "hid: too many report ids"),
            Self::ReportTooLarge => write!(f, "hid: report too large"),
            Self::ZeroReportId => write!(f, "hid: report id 0"),
            Self::NoPointer => write!(f, "hid: no report with X and Y"),
            Self::BadAxis => write!(f, "hid: unusable axis field"),
            Self::ShortReport { need, have } => {
                write!(f, "hid: report of {have} bytes, layout needs {need}")
            }
        }
    }
}
