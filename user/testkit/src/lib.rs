//! What the milestone test programs share: check reports and benchmarks.
#![no_std]

pub mod bench;
pub mod report;

pub use report::{Detail, Report, Shown};
