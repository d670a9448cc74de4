//! Device conversations during bring-up: reset, LEDs, typematic, IntelliMouse.
//!
//! Command and answer bytes are from OSDev "PS/2 Keyboard" (Commands) and
//! "PS/2 Mouse" (Mouse Device Over PS/2, Init/Detection Command Sequences).

use crate::i8042::Bus;
use crate::init::{KeyboardInfo, MouseInfo, TYPEMATIC};
use crate::{Controller, Port, Ps2Error, WaitFor};

/// Device answer: command acknowledged.
pub(crate) const ACK: u8 = 0xFA;
/// Device answer: send the last byte again.
pub(crate) const RESEND: u8 = 0xFE;
/// Device answer after reset: basic assurance test passed.
const BAT_PASSED: u8 = 0xAA;

/// Device command 0xFF: reset and self-test.
const RESET: u8 = 0xFF;
/// Keyboard command 0xED: set LEDs (parameter: LED mask).
pub(crate) const SET_LEDS: u8 = 0xED;
/// Keyboard command 0xF3: set typematic rate and delay (parameter byte).
const SET_TYPEMATIC: u8 = 0xF3;
/// Mouse command 0xF3: set sample rate (parameter: samples/s).
const SET_SAMPLE_RATE: u8 = 0xF3;
/// Device command 0xF4: keyboard enable scanning / mouse enable reporting.
const ENABLE: u8 = 0xF4;
/// Mouse command 0xF2: get device id (answer after the ACK).
const GET_ID: u8 = 0xF2;

/// How many times a byte is sent while the device answers 0xFE.
const TRIES: u32 = 3;
/// Sample rates that switch an IntelliMouse to id 3 (4-byte packets).
const INTELLIMOUSE_KNOCK: [u8; 3] = [200, 100, 80];
/// Sample rate left set after the knock (the power-on default).
const SAMPLE_RATE: u8 = 100;

/// Sends one byte and waits for its ACK, resending on 0xFE.
fn send<C: Controller>(bus: &mut Bus<'_, C>, port: Port, byte: u8) -> Result<(), Ps2Error> {
    for _ in 0..TRIES {
        bus.send_device(port, byte)?;
        match bus.read(WaitFor::Device { port, cmd: byte })? {
            ACK => return Ok(()),
            RESEND => {}
            got => return Err(Ps2Error::NoAck { cmd: byte, got }),
        }
    }
    Err(Ps2Error::NoAck {
        cmd: byte,
        got: RESEND,
    })
}

/// Resets the device and returns its self-test answer (0xAA).
fn reset<C: Controller>(bus: &mut Bus<'_, C>, port: Port) -> Result<u8, Ps2Error> {
    bus.flush();
    send(bus, port, RESET)?;
    match bus.read(WaitFor::Device { port, cmd: RESET })? {
        BAT_PASSED => Ok(BAT_PASSED),
        got => Err(Ps2Error::DeviceSelfTest(got)),
    }
}

/// Resets the keyboard, turns the LEDs off, sets the typematic byte and
/// enables scanning.
pub(crate) fn keyboard<C: Controller>(bus: &mut Bus<'_, C>) -> Result<KeyboardInfo, Ps2Error> {
    let self_test = reset(bus, Port::Keyboard)?;
    send(bus, Port::Keyboard, SET_LEDS)?;
    send(bus, Port::Keyboard, 0)?;
    send(bus, Port::Keyboard, SET_TYPEMATIC)?;
    send(bus, Port::Keyboard, TYPEMATIC)?;
    send(bus, Port::Keyboard, ENABLE)?;
    Ok(KeyboardInfo {
        self_test,
        typematic: TYPEMATIC,
    })
}

/// Resets the mouse, tries the IntelliMouse knock and enables reporting.
pub(crate) fn mouse<C: Controller>(bus: &mut Bus<'_, C>) -> Result<MouseInfo, Ps2Error> {
    reset(bus, Port::Mouse)?;
    // After the self-test result the mouse sends its id (0x00).
    bus.read(WaitFor::Device {
        port: Port::Mouse,
        cmd: RESET,
    })?;
    for rate in INTELLIMOUSE_KNOCK {
        set_sample_rate(bus, rate)?;
    }
    send(bus, Port::Mouse, GET_ID)?;
    let id = bus.read(WaitFor::Device {
        port: Port::Mouse,
        cmd: GET_ID,
    })?;
    set_sample_rate(bus, SAMPLE_RATE)?;
    send(bus, Port::Mouse, ENABLE)?;
    // Id 3: wheel; id 4 (five buttons) also has the wheel in byte 4.
    Ok(MouseInfo {
        wheel: matches!(id, 3 | 4),
        id,
    })
}

fn set_sample_rate<C: Controller>(bus: &mut Bus<'_, C>, rate: u8) -> Result<(), Ps2Error> {
    send(bus, Port::Mouse, SET_SAMPLE_RATE)?;
    send(bus, Port::Mouse, rate)
}
