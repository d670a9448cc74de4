//! Controller bring-up: self-test, port detection and tests, final config.
//!
//! The order follows OSDev "8042 PS/2 Controller", "Initialising the PS/2
//! Controller": disable ports, flush, config, self-test, dual-channel check,
//! interface tests, then the devices, then interrupts on.

use crate::i8042::{
    Bus, CMD_DISABLE_FIRST, CMD_DISABLE_SECOND, CMD_ENABLE_FIRST, CMD_ENABLE_SECOND,
    CMD_READ_CONFIG, CMD_SELF_TEST, CMD_TEST_FIRST, CMD_TEST_SECOND, CONFIG_FIRST_CLOCK_OFF,
    CONFIG_FIRST_IRQ, CONFIG_SECOND_CLOCK_OFF, CONFIG_SECOND_IRQ, CONFIG_TRANSLATION,
    PORT_TEST_PASSED, SELF_TEST_PASSED,
};
use crate::{device, Controller, Limits, Port, Ps2, Ps2Error};

/// The typematic byte [`init`] sends with command 0xF3: bits 5–6 = 01 (delay
/// 500 ms), bits 0–4 = 0 (30 repeats/s) (OSDev "PS/2 Keyboard", command 0xF3).
pub const TYPEMATIC: u8 = 0x20;

/// What the keyboard said during bring-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyboardInfo {
    /// The answer to reset 0xFF after its ACK (0xAA: self-test passed).
    pub self_test: u8,
    /// The typematic byte that was set ([`TYPEMATIC`]).
    pub typematic: u8,
}

/// What the mouse said during bring-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MouseInfo {
    /// The mouse sends 4-byte packets with a wheel (IntelliMouse id 3 or 4).
    pub wheel: bool,
    /// The device id after the IntelliMouse knock (0 plain, 3 wheel).
    pub id: u8,
}

/// How bring-up went. A missing or broken device is an `Err` here, not a
/// failed [`init`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitReport {
    /// Configuration bit 6 as left after init: port 0x60 delivers set 1.
    pub translation: bool,
    /// The controller has a second (mouse) port.
    pub dual_channel: bool,
    /// The keyboard, or why it is not there.
    pub keyboard: Result<KeyboardInfo, Ps2Error>,
    /// The mouse, or why it is not there.
    pub mouse: Result<MouseInfo, Ps2Error>,
    /// The configuration byte written last.
    pub config: u8,
}

/// Full controller bring-up, polled (the controller's IRQs must be masked).
///
/// Disables both ports, flushes the output buffer, reads the configuration
/// byte (keeping its translation bit), runs the self-test 0xAA → 0x55 and
/// writes the configuration back (some controllers reset it), detects the
/// second port, tests both ports (0xAB / 0xA9), resets and sets up the
/// keyboard (0xFF, LEDs off, typematic [`TYPEMATIC`], scanning on) and the
/// mouse (0xFF via 0xD4, IntelliMouse knock, data reporting on), and finally
/// enables the ports that work together with their IRQ bits.
///
/// Only a broken controller is an `Err`: a failed self-test, or no answer to
/// its own commands. Every wait takes at most `limits.polls` status reads and
/// the whole call at most [`Limits::max_status_reads`].
pub fn init<C: Controller>(c: &mut C, limits: Limits) -> Result<(Ps2, InitReport), Ps2Error> {
    let mut bus = Bus::new(c, limits);
    bus.command(CMD_DISABLE_FIRST)?;
    bus.command(CMD_DISABLE_SECOND)?;
    bus.flush();

    let firmware = bus.query(CMD_READ_CONFIG)?;
    // With the second port just disabled, a dual-channel controller shows
    // its clock off (bit 5 set); bit 5 clear means there is no second port.
    let maybe_dual = firmware & CONFIG_SECOND_CLOCK_OFF != 0;
    let base = (firmware & !(CONFIG_FIRST_IRQ | CONFIG_SECOND_IRQ)) | CONFIG_FIRST_CLOCK_OFF;
    bus.write_config(base)?;

    let answer = bus.query(CMD_SELF_TEST)?;
    if answer != SELF_TEST_PASSED {
        return Err(Ps2Error::SelfTest(answer));
    }
    bus.write_config(base)?;

    let dual_channel = maybe_dual && second_port_answers(&mut bus)?;
    let keyboard_port = test_port(&mut bus, Port::Keyboard)?;
    let mouse_port = if dual_channel {
        test_port(&mut bus, Port::Mouse)?
    } else {
        Err(Ps2Error::NoSecondChannel)
    };

    let keyboard = match keyboard_port {
        Ok(()) => {
            bus.command(CMD_ENABLE_FIRST)?;
            let keyboard = device::keyboard(&mut bus);
            // Keys typed while the mouse is set up wait in the keyboard.
            bus.command(CMD_DISABLE_FIRST)?;
            keyboard
        }
        Err(e) => Err(e),
    };
    let mouse = match mouse_port {
        Ok(()) => {
            bus.command(CMD_ENABLE_SECOND)?;
            let mouse = device::mouse(&mut bus);
            bus.command(CMD_DISABLE_SECOND)?;
            mouse
        }
        Err(e) => Err(e),
    };

    let mut config = base;
    if keyboard.is_ok() {
        config = (config | CONFIG_FIRST_IRQ) & !CONFIG_FIRST_CLOCK_OFF;
    }
    if mouse.is_ok() {
        config = (config | CONFIG_SECOND_IRQ) & !CONFIG_SECOND_CLOCK_OFF;
    }
    bus.write_config(config)?;
    if keyboard.is_ok() {
        bus.command(CMD_ENABLE_FIRST)?;
    }
    if mouse.is_ok() {
        bus.command(CMD_ENABLE_SECOND)?;
    }

    let translation = config & CONFIG_TRANSLATION != 0;
    let mouse_id = mouse.map_or(0, |m| m.id);
    let report = InitReport {
        translation,
        dual_channel,
        keyboard,
        mouse,
        config,
    };
    Ok((Ps2::new(translation, mouse_id), report))
}

/// Enables the second port and checks that its clock bit followed (OSDev
/// "Step 7: Determine If There Are 2 Channels"), then disables it again.
fn second_port_answers<C: Controller>(bus: &mut Bus<'_, C>) -> Result<bool, Ps2Error> {
    bus.command(CMD_ENABLE_SECOND)?;
    let config = bus.query(CMD_READ_CONFIG)?;
    bus.command(CMD_DISABLE_SECOND)?;
    Ok(config & CONFIG_SECOND_CLOCK_OFF == 0)
}

/// Runs a port's interface test. The outer `Err` is a controller that did
/// not answer; the inner one a port that failed its test.
fn test_port<C: Controller>(
    bus: &mut Bus<'_, C>,
    port: Port,
) -> Result<Result<(), Ps2Error>, Ps2Error> {
    let cmd = match port {
        Port::Keyboard => CMD_TEST_FIRST,
        Port::Mouse => CMD_TEST_SECOND,
    };
    let code = bus.query(cmd)?;
    Ok(match code {
        PORT_TEST_PASSED => Ok(()),
        code => Err(Ps2Error::PortTest { port, code }),
    })
}
