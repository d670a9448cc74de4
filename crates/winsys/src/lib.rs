//! The window system's pure logic: placement, scaling, messages, queues.
//!
//! The kernel's window manager (`kernel/src/window`) owns the screen and
//! the windows; what it computes lives here, tested on the host:
//! - [`layout`]: where a window goes on the screen (centred or full
//!   screen) and how a program's buffer is scaled into it (the largest
//!   integer factor that fits, centred);
//! - [`present`]: one row of 32-bit XRGB pixels, scaled horizontally and
//!   converted to the framebuffer's pixel format;
//! - [`message`]: input events as Win32-shaped messages (`WM_KEYDOWN`
//!   with its lParam bits, `WM_CHAR`, mouse messages in client
//!   coordinates, `WM_MOUSEWHEEL`);
//! - [`queue`]: a fixed-size message queue that never allocates, for
//!   interrupt context.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod layout;
pub mod message;
pub mod present;
pub mod queue;
