//! FakeI8042: a scripted i8042 with a fake keyboard and mouse behind it.

use std::collections::VecDeque;

use ps2::Controller;

/// Where a byte in the output buffer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Controller,
    Keyboard,
    Mouse,
}

/// A keyboard that answers reset, LEDs, typematic and scan enable.
#[derive(Debug, Clone)]
pub struct FakeKeyboard {
    /// What it answers after the reset ACK (0xAA passed, 0xFC failed).
    pub self_test: u8,
    /// Answer 0xFE to this many bytes before behaving.
    pub resend_next: u32,
    pub leds: Option<u8>,
    pub typematic: Option<u8>,
    pub scanning: bool,
    /// Every byte it received, in order.
    pub received: Vec<u8>,
    param_for: Option<u8>,
}

impl FakeKeyboard {
    pub fn new() -> Self {
        FakeKeyboard {
            self_test: 0xAA,
            resend_next: 0,
            leds: None,
            typematic: None,
            scanning: false,
            received: Vec::new(),
            param_for: None,
        }
    }

    fn receive(&mut self, byte: u8) -> Vec<u8> {
        self.received.push(byte);
        if self.resend_next > 0 {
            self.resend_next -= 1;
            return vec![0xFE];
        }
        if let Some(cmd) = self.param_for.take() {
            match cmd {
                0xED => self.leds = Some(byte),
                _ => self.typematic = Some(byte),
            }
            return vec![0xFA];
        }
        match byte {
            0xFF => {
                self.leds = None;
                self.typematic = None;
                self.scanning = true;
                vec![0xFA, self.self_test]
            }
            0xED | 0xF3 => {
                self.param_for = Some(byte);
                vec![0xFA]
            }
            0xF4 => {
                self.scanning = true;
                vec![0xFA]
            }
            0xF5 => {
                self.scanning = false;
                vec![0xFA]
            }
            _ => vec![0xFE],
        }
    }
}

/// A mouse, optionally an IntelliMouse (id 3 after rates 200, 100, 80).
#[derive(Debug, Clone)]
pub struct FakeMouse {
    pub intelli: bool,
    pub self_test: u8,
    pub id: u8,
    pub sample_rate: u8,
    pub reporting: bool,
    /// Answer this to every byte instead of behaving (e.g. 0x00: no ACKs).
    pub broken_answer: Option<u8>,
    pub received: Vec<u8>,
    rates: Vec<u8>,
    param_for: Option<u8>,
}

impl FakeMouse {
    pub fn new(intelli: bool) -> Self {
        FakeMouse {
            intelli,
            self_test: 0xAA,
            id: 0,
            sample_rate: 100,
            reporting: false,
            broken_answer: None,
            received: Vec::new(),
            rates: Vec::new(),
            param_for: None,
        }
    }

    fn receive(&mut self, byte: u8) -> Vec<u8> {
        self.received.push(byte);
        if let Some(answer) = self.broken_answer {
            return vec![answer];
        }
        if self.param_for.take().is_some() {
            self.sample_rate = byte;
            self.rates.push(byte);
            if self.intelli && self.rates.ends_with(&[200, 100, 80]) {
                self.id = 3;
            }
            return vec![0xFA];
        }
        match byte {
            0xFF => {
                self.id = 0;
                self.sample_rate = 100;
                self.reporting = false;
                self.rates.clear();
                vec![0xFA, self.self_test, 0x00]
            }
            0xF3 => {
                self.param_for = Some(byte);
                vec![0xFA]
            }
            0xF2 => vec![0xFA, self.id],
            0xF4 => {
                self.reporting = true;
                vec![0xFA]
            }
            0xF5 => {
                self.reporting = false;
                vec![0xFA]
            }
            _ => vec![0xFE],
        }
    }
}

/// The controller: config byte, self-test, port tests, port enables, 0xD4.
#[derive(Debug, Clone)]
pub struct FakeI8042 {
    pub config: u8,
    pub dual: bool,
    pub self_test_answer: u8,
    /// Answers to 0xAB and 0xA9.
    pub port_test: [u8; 2],
    /// If set, the self-test resets the configuration byte to this.
    pub self_test_resets_config_to: Option<u8>,
    /// Status reads a byte waits in the buffer before bit 0 shows it.
    pub latency: u32,
    pub keyboard: Option<FakeKeyboard>,
    pub mouse: Option<FakeMouse>,
    /// Every controller command written, in order.
    pub commands: Vec<u8>,
    pub status_reads: u64,
    /// Bytes that reached the output buffer while their IRQ bit was on,
    /// counted from the first configuration write (before it, firmware's
    /// bits are in force and the host cannot have changed them yet).
    pub irqs_raised: u32,
    config_written: bool,
    out: VecDeque<(u8, Source)>,
    ready_in: u32,
    awaiting: Option<u8>,
    last_read: u8,
}

impl FakeI8042 {
    /// A QEMU-like machine: firmware left IRQ 1, translation and the system
    /// flag on, second port disabled; keyboard and IntelliMouse attached.
    pub fn qemu() -> Self {
        FakeI8042 {
            config: 0x65,
            dual: true,
            self_test_answer: 0x55,
            port_test: [0, 0],
            self_test_resets_config_to: None,
            latency: 0,
            keyboard: Some(FakeKeyboard::new()),
            mouse: Some(FakeMouse::new(true)),
            commands: Vec::new(),
            status_reads: 0,
            irqs_raised: 0,
            config_written: false,
            out: VecDeque::new(),
            ready_in: 0,
            awaiting: None,
            last_read: 0,
        }
    }

    fn first_enabled(&self) -> bool {
        self.config & 0x10 == 0
    }

    fn second_enabled(&self) -> bool {
        self.dual && self.config & 0x20 == 0
    }

    fn push(&mut self, bytes: Vec<u8>, source: Source) {
        let irq_bit = if source == Source::Mouse { 0x02 } else { 0x01 };
        if self.config_written && self.config & irq_bit != 0 {
            self.irqs_raised += bytes.len() as u32;
        }
        if self.out.is_empty() {
            self.ready_in = self.latency;
        }
        self.out.extend(bytes.into_iter().map(|b| (b, source)));
    }

    /// Queues bytes as if a device had sent them.
    pub fn inject(&mut self, bytes: &[u8], source: Source) {
        self.push(bytes.to_vec(), source);
    }
}

impl Controller for FakeI8042 {
    fn status(&mut self) -> u8 {
        self.status_reads += 1;
        let mut status = 0x04; // system flag
        if let Some(&(_, source)) = self.out.front() {
            if self.ready_in > 0 {
                self.ready_in -= 1;
            } else {
                status |= 0x01;
                if source == Source::Mouse {
                    status |= 0x20;
                }
            }
        }
        status
    }

    fn read_data(&mut self) -> u8 {
        if self.ready_in == 0 {
            if let Some((byte, _)) = self.out.pop_front() {
                self.last_read = byte;
                self.ready_in = if self.out.is_empty() { 0 } else { self.latency };
            }
        }
        self.last_read
    }

    fn write_command(&mut self, c: u8) {
        self.commands.push(c);
        self.awaiting = None;
        match c {
            0x20 => self.push(vec![self.config], Source::Controller),
            0x60 | 0xD4 => self.awaiting = Some(c),
            0xA7 if self.dual => self.config |= 0x20,
            0xA8 if self.dual => self.config &= !0x20,
            0xA9 if self.dual => self.push(vec![self.port_test[1]], Source::Controller),
            0xAA => {
                self.push(vec![self.self_test_answer], Source::Controller);
                if let Some(config) = self.self_test_resets_config_to {
                    self.config = config;
                }
            }
            0xAB => self.push(vec![self.port_test[0]], Source::Controller),
            0xAD => self.config |= 0x10,
            0xAE => self.config &= !0x10,
            _ => {}
        }
    }

    fn write_data(&mut self, d: u8) {
        match self.awaiting.take() {
            Some(0x60) => {
                self.config = d;
                self.config_written = true;
            }
            Some(_) => {
                if self.second_enabled() {
                    if let Some(reply) = self.mouse.as_mut().map(|m| m.receive(d)) {
                        self.push(reply, Source::Mouse);
                    }
                }
            }
            None => {
                if self.first_enabled() {
                    if let Some(reply) = self.keyboard.as_mut().map(|k| k.receive(d)) {
                        self.push(reply, Source::Keyboard);
                    }
                }
            }
        }
    }
}

/// A controller whose every read comes from a script (cycled), for hostile
/// input: `statuses` for port 0x64, `data` for port 0x60.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub statuses: Vec<u8>,
    pub data: Vec<u8>,
    pub status_reads: u64,
    next_data: usize,
}

impl Scripted {
    pub fn new(statuses: Vec<u8>, data: Vec<u8>) -> Self {
        Scripted {
            statuses,
            data,
            status_reads: 0,
            next_data: 0,
        }
    }
}

impl Controller for Scripted {
    fn status(&mut self) -> u8 {
        let len = self.statuses.len().max(1) as u64;
        let s = self
            .statuses
            .get((self.status_reads % len) as usize)
            .copied()
            .unwrap_or(0);
        self.status_reads += 1;
        s
    }

    fn read_data(&mut self) -> u8 {
        let d = self
            .data
            .get(self.next_data % self.data.len().max(1))
            .copied()
            .unwrap_or(0);
        self.next_data += 1;
        d
    }

    fn write_command(&mut self, _c: u8) {}

    fn write_data(&mut self, _d: u8) {}
}
