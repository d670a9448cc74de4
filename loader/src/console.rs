//! Console logging with the `loader: ` prefix and the fatal-error pause.

use crate::error::LoaderError;
use uefi::boot::{self, EventType, TimerTrigger, Tpl};
use uefi::{system, Status};

/// Prints one `loader: ` line on the UEFI console (OVMF mirrors it to
/// serial). Only valid while boot services run.
macro_rules! say {
    ($($arg:tt)*) => {
        uefi::println!("loader: {}", format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Seconds to wait for a key after a fatal error.
const ERROR_PAUSE_SECS: u64 = 10;

/// Reports a fatal error, waits up to 10 s for a key and returns the
/// status to hand back to the firmware.
pub fn fatal(err: &LoaderError) -> Status {
    say!("error: {err}");
    say!("press a key to return to the firmware (or wait {ERROR_PAUSE_SECS} s)");
    wait_for_key_or_timeout();
    match err {
        LoaderError::Firmware { status, .. } | LoaderError::File { status, .. } => *status,
        LoaderError::NoConfig => Status::NOT_FOUND,
        _ => Status::LOAD_ERROR,
    }
}

fn wait_for_key_or_timeout() {
    // SAFETY: a plain timer event with no notify function; the firmware
    // owns it until we close it below.
    let timer = unsafe { boot::create_event(EventType::TIMER, Tpl::APPLICATION, None, None) };
    let Ok(timer) = timer else {
        boot::stall(core::time::Duration::from_secs(ERROR_PAUSE_SECS));
        return;
    };
    let key = system::with_stdin(|stdin| stdin.wait_for_key_event());
    if boot::set_timer(
        &timer,
        TimerTrigger::Relative(core::time::Duration::from_secs(ERROR_PAUSE_SECS)),
    )
    .is_ok()
    {
        if let Ok(key) = key {
            // SAFETY: we keep `timer` to close it; the clone is only used
            // for the wait and dropped without closing.
            let copy = unsafe { timer.unsafe_clone() };
            let events = [copy, key];
            let _ = boot::wait_for_event(&events);
        } else {
            boot::stall(core::time::Duration::from_secs(ERROR_PAUSE_SECS));
        }
    }
    let _ = boot::close_event(timer);
}
