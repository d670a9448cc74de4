//! i8042 register bits, command bytes and bounded polling over a Controller.
//!
//! Numbers are from OSDev "8042 PS/2 Controller" (Status Register, PS/2
//! Controller Commands, PS/2 Controller Configuration Byte).

use crate::{Controller, Limits, Port, Ps2Error, WaitFor};

/// Status bit 0: the output buffer (port 0x60) holds a byte for the host.
pub const STATUS_OUTPUT_FULL: u8 = 1 << 0;
/// Status bit 1: the input buffer is still full; do not write yet.
pub const STATUS_INPUT_FULL: u8 = 1 << 1;
/// Status bit 5: the byte in the output buffer came from the second port.
pub const STATUS_AUX_DATA: u8 = 1 << 5;

/// Configuration byte bit 0: first port interrupt (IRQ 1).
pub(crate) const CONFIG_FIRST_IRQ: u8 = 1 << 0;
/// Configuration byte bit 1: second port interrupt (IRQ 12).
pub(crate) const CONFIG_SECOND_IRQ: u8 = 1 << 1;
/// Configuration byte bit 4: first port clock disabled.
pub(crate) const CONFIG_FIRST_CLOCK_OFF: u8 = 1 << 4;
/// Configuration byte bit 5: second port clock disabled.
pub(crate) const CONFIG_SECOND_CLOCK_OFF: u8 = 1 << 5;
/// Configuration byte bit 6: first port translation (set 2 → set 1).
pub(crate) const CONFIG_TRANSLATION: u8 = 1 << 6;

/// Controller command 0x20: read configuration byte.
pub(crate) const CMD_READ_CONFIG: u8 = 0x20;
/// Controller command 0x60: write configuration byte (next data byte).
pub(crate) const CMD_WRITE_CONFIG: u8 = 0x60;
/// Controller command 0xA7: disable second port.
pub(crate) const CMD_DISABLE_SECOND: u8 = 0xA7;
/// Controller command 0xA8: enable second port.
pub(crate) const CMD_ENABLE_SECOND: u8 = 0xA8;
/// Controller command 0xA9: test second port (0x00 = passed).
pub(crate) const CMD_TEST_SECOND: u8 = 0xA9;
/// Controller command 0xAA: controller self-test.
pub(crate) const CMD_SELF_TEST: u8 = 0xAA;
/// Controller command 0xAB: test first port (0x00 = passed).
pub(crate) const CMD_TEST_FIRST: u8 = 0xAB;
/// Controller command 0xAD: disable first port.
pub(crate) const CMD_DISABLE_FIRST: u8 = 0xAD;
/// Controller command 0xAE: enable first port.
pub(crate) const CMD_ENABLE_FIRST: u8 = 0xAE;
/// Controller command 0xD4: send the next data byte to the second port.
pub(crate) const CMD_WRITE_SECOND: u8 = 0xD4;

/// Self-test answer meaning "passed".
pub(crate) const SELF_TEST_PASSED: u8 = 0x55;
/// Port test answer meaning "passed".
pub(crate) const PORT_TEST_PASSED: u8 = 0x00;

/// A controller with every wait bounded by `polls` status reads and the
/// whole conversation bounded by [`Limits::max_status_reads`].
pub(crate) struct Bus<'a, C: Controller> {
    c: &'a mut C,
    polls: u32,
    budget: u64,
}

impl<'a, C: Controller> Bus<'a, C> {
    pub(crate) fn new(c: &'a mut C, limits: Limits) -> Self {
        Bus {
            c,
            polls: limits.polls,
            budget: limits.max_status_reads(),
        }
    }

    /// One status read, or `None` once the budget is spent.
    fn status(&mut self) -> Option<u8> {
        self.budget = self.budget.checked_sub(1)?;
        Some(self.c.status())
    }

    /// Polls until `mask` in the status register reads as `want`.
    fn wait(&mut self, mask: u8, want: u8, waiting_for: WaitFor) -> Result<(), Ps2Error> {
        for _ in 0..self.polls {
            match self.status() {
                Some(s) if s & mask == want => return Ok(()),
                Some(_) => {}
                None => break,
            }
        }
        Err(Ps2Error::Timeout { waiting_for })
    }

    fn write_command(&mut self, cmd: u8) -> Result<(), Ps2Error> {
        self.wait(STATUS_INPUT_FULL, 0, WaitFor::InputBuffer)?;
        self.c.write_command(cmd);
        Ok(())
    }

    fn write_data(&mut self, data: u8) -> Result<(), Ps2Error> {
        self.wait(STATUS_INPUT_FULL, 0, WaitFor::InputBuffer)?;
        self.c.write_data(data);
        Ok(())
    }

    /// Reads the next output byte, waiting at most `polls` status reads.
    pub(crate) fn read(&mut self, waiting_for: WaitFor) -> Result<u8, Ps2Error> {
        self.wait(STATUS_OUTPUT_FULL, STATUS_OUTPUT_FULL, waiting_for)?;
        Ok(self.c.read_data())
    }

    /// Sends a controller command that has no answer.
    pub(crate) fn command(&mut self, cmd: u8) -> Result<(), Ps2Error> {
        self.write_command(cmd)
    }

    /// Sends a controller command and reads its one-byte answer.
    pub(crate) fn query(&mut self, cmd: u8) -> Result<u8, Ps2Error> {
        self.write_command(cmd)?;
        self.read(WaitFor::Controller { cmd })
    }

    /// Writes the configuration byte.
    pub(crate) fn write_config(&mut self, config: u8) -> Result<(), Ps2Error> {
        self.write_command(CMD_WRITE_CONFIG)?;
        self.write_data(config)
    }

    /// Sends one byte to the device on `port` (via 0xD4 for the mouse).
    pub(crate) fn send_device(&mut self, port: Port, byte: u8) -> Result<(), Ps2Error> {
        if port == Port::Mouse {
            self.write_command(CMD_WRITE_SECOND)?;
        }
        self.write_data(byte)
    }

    /// Discards whatever sits in the output buffer, reading at most `polls`
    /// bytes (a device that streams for ever cannot hold us here).
    pub(crate) fn flush(&mut self) {
        for _ in 0..self.polls {
            match self.status() {
                Some(s) if s & STATUS_OUTPUT_FULL != 0 => {
                    self.c.read_data();
                }
                _ => return,
            }
        }
    }
}
