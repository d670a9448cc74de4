//! A small HID report descriptor parser for pointing devices (§6.2).
//!
//! Enough of the HID 1.11 item grammar (short and long items, usage pages,
//! usages and usage ranges, logical minimum/maximum, report size/count/id,
//! push/pop, collections, input items) to find where a mouse report keeps
//! its buttons, X, Y and wheel, for the descriptors Hyper-V sends. The result
//! is a [`MouseLayout`] that decodes input reports into [`MouseReport`]s.
//!
//! Hostile input is bounded: the descriptor may be at most
//! [`MAX_DESCRIPTOR_LEN`] bytes, collections nest at most [`MAX_DEPTH`]
//! deep, a report holds at most [`MAX_REPORT_BYTES`], and all arithmetic is
//! checked. Quirk handled: real Hyper-V's descriptor has a Usage Minimum for
//! the buttons without a Usage Maximum (Linux patches byte 14 from 0x25 to
//! 0x29); an unterminated usage range is taken to cover the item's report
//! count.

mod error;
mod item;
mod parser;
mod report;

pub use error::HidError;
pub use item::{Item, ItemIter, ItemKind};
pub use parser::parse_mouse;
pub use report::{AxisField, BitField, MouseLayout, MouseReport};

/// Largest report descriptor accepted.
pub const MAX_DESCRIPTOR_LEN: usize = 4096;
/// Deepest collection nesting accepted.
pub const MAX_DEPTH: usize = 16;
/// Deepest Push stack accepted.
pub const MAX_PUSH: usize = 4;
/// Most local usages one main item may carry.
pub const MAX_USAGES: usize = 32;
/// Most distinct report ids tracked.
pub const MAX_REPORTS: usize = 16;
/// Largest input report accepted, in bytes (without the report id).
pub const MAX_REPORT_BYTES: usize = 1024;
/// Buttons tracked (usages 1..=MAX_BUTTONS of the Button page).
pub const MAX_BUTTONS: usize = 16;
/// Full scale of absolute coordinates after scaling.
pub const ABS_MAX: i32 = 0x7FFF;

/// Usage page Generic Desktop.
pub const PAGE_GENERIC_DESKTOP: u16 = 0x01;
/// Usage page Button.
pub const PAGE_BUTTON: u16 = 0x09;
/// Generic Desktop usage X.
pub const USAGE_X: u16 = 0x30;
/// Generic Desktop usage Y.
pub const USAGE_Y: u16 = 0x31;
/// Generic Desktop usage Wheel.
pub const USAGE_WHEEL: u16 = 0x38;
