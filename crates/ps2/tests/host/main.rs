//! Host tests for the ps2 crate: bring-up against FakeI8042, decoders, props.

mod bringup;
mod fake;
mod keys;
mod mouse;
mod props;
