//! Mouse layouts found in a descriptor, and decoding input reports with them.

use super::{HidError, ABS_MAX, MAX_BUTTONS};

/// Where one field sits in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitField {
    /// Bit offset from the start of the report data (after any report id).
    pub offset: u32,
    /// Width in bits, 1..=32.
    pub size: u8,
}

/// An axis (X, Y or wheel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisField {
    /// Position in the report.
    pub bits: BitField,
    /// Logical Minimum in effect for the field.
    pub logical_min: i64,
    /// Logical Maximum in effect for the field.
    pub logical_max: i64,
    /// Values are two's complement (Logical Minimum < 0).
    pub signed: bool,
    /// Input item had the Relative flag.
    pub relative: bool,
}

/// Where a mouse report keeps its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MouseLayout {
    /// Report id prefixed to each report, if the descriptor uses ids.
    pub report_id: Option<u8>,
    /// Report data length in bytes (without the id byte).
    pub report_len: usize,
    /// X axis.
    pub x: AxisField,
    /// Y axis.
    pub y: AxisField,
    /// Wheel, if any.
    pub wheel: Option<AxisField>,
    /// Button n + 1 (Button page usage n + 1) lives at `buttons[n]`.
    pub buttons: [Option<BitField>; MAX_BUTTONS],
}

/// One decoded mouse report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MouseReport {
    /// X: 0..=0x7FFF across the screen when `absolute`, else a delta.
    pub x: i32,
    /// Y: 0..=0x7FFF top to bottom when `absolute`, else a delta.
    pub y: i32,
    /// X/Y are absolute positions.
    pub absolute: bool,
    /// Bit n = button n + 1 (bit 0 left, bit 1 right, bit 2 middle).
    pub buttons: u32,
    /// Wheel movement (relative), 0 without a wheel.
    pub wheel: i32,
}

fn extract(data: &[u8], f: BitField) -> Option<u32> {
    let start = (f.offset / 8) as usize;
    let shift = f.offset % 8;
    let mut acc: u64 = 0;
    for i in 0..5usize {
        let byte = match data.get(start + i) {
            Some(&b) => b,
            None if (i as u32) * 8 < shift + u32::from(f.size) => return None,
            None => 0,
        };
        acc |= u64::from(byte) << (8 * i);
    }
    let mask = if f.size >= 32 {
        u64::from(u32::MAX)
    } else {
        (1u64 << f.size) - 1
    };
    Some(((acc >> shift) & mask) as u32)
}

impl AxisField {
    fn raw(&self, data: &[u8]) -> Option<i64> {
        let v = extract(data, self.bits)?;
        Some(if self.signed && (1..32).contains(&self.bits.size) {
            let sh = 32 - u32::from(self.bits.size);
            i64::from(((v << sh) as i32) >> sh)
        } else if self.signed {
            i64::from(v as i32)
        } else {
            i64::from(v)
        })
    }

    /// Absolute value scaled onto 0..=[`ABS_MAX`] from the logical range
    /// (in i128: the fields are public, so any i64 range must work).
    fn scaled(&self, raw: i64) -> i32 {
        let (min, max) = (i128::from(self.logical_min), i128::from(self.logical_max));
        let span = max - min;
        if span <= 0 {
            return 0;
        }
        let v = i128::from(raw).clamp(min, max) - min;
        (v * i128::from(ABS_MAX) / span) as i32
    }

    fn value(&self, data: &[u8]) -> Option<i32> {
        let raw = self.raw(data)?;
        Some(if self.relative {
            raw.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        } else {
            self.scaled(raw)
        })
    }
}

impl MouseLayout {
    /// Decodes one input report. `Ok(None)` for a report with another
    /// report id (not the pointer's); an error if it is shorter than the
    /// layout.
    pub fn decode(&self, report: &[u8]) -> Result<Option<MouseReport>, HidError> {
        let data = match self.report_id {
            Some(id) => match report.split_first() {
                Some((&first, rest)) if first == id => rest,
                Some(_) => return Ok(None),
                None => return Err(HidError::ShortReport { need: 1, have: 0 }),
            },
            None => report,
        };
        let short = HidError::ShortReport {
            need: self.report_len,
            have: data.len(),
        };
        if data.len() < self.report_len {
            return Err(short);
        }
        let x = self.x.value(data).ok_or(short)?;
        let y = self.y.value(data).ok_or(short)?;
        let wheel = match &self.wheel {
            Some(w) => w.raw(data).ok_or(short)?.clamp(-0x8000, 0x7FFF) as i32,
            None => 0,
        };
        let mut buttons = 0u32;
        for (n, b) in self.buttons.iter().enumerate() {
            if let Some(b) = b {
                if extract(data, *b).ok_or(short)? != 0 {
                    buttons |= 1 << n;
                }
            }
        }
        Ok(Some(MouseReport {
            x,
            y,
            absolute: !self.x.relative,
            buttons,
            wheel,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_built_layouts_do_not_panic() {
        let axis = |size, logical_min, logical_max| AxisField {
            bits: BitField { offset: 0, size },
            logical_min,
            logical_max,
            signed: true,
            relative: false,
        };
        let layout = MouseLayout {
            report_id: None,
            report_len: 4,
            x: axis(0, -1, 1),
            y: axis(16, i64::MIN, i64::MAX),
            wheel: Some(axis(0, 0, 0)),
            buttons: [None; MAX_BUTTONS],
        };
        let r = layout.decode(&[0xFF; 4]).unwrap().unwrap();
        assert_eq!((r.x, r.y, r.wheel), (ABS_MAX / 2, ABS_MAX / 2, 0));
    }

    #[test]
    fn extracts_unaligned_bits() {
        let d = [0b1010_1100u8, 0xFF, 0x01];
        assert_eq!(extract(&d, BitField { offset: 2, size: 3 }), Some(0b011));
        assert_eq!(extract(&d, BitField { offset: 4, size: 8 }), Some(0xFA));
        assert_eq!(
            extract(
                &d,
                BitField {
                    offset: 16,
                    size: 1
                }
            ),
            Some(1)
        );
        assert_eq!(
            extract(
                &d,
                BitField {
                    offset: 17,
                    size: 8
                }
            ),
            None
        );
        assert_eq!(
            extract(
                &d,
                BitField {
                    offset: 0,
                    size: 24
                }
            ),
            Some(0x01FFAC)
        );
        let w = [0xFF; 5];
        assert_eq!(
            extract(
                &w,
                BitField {
                    offset: 7,
                    size: 32
                }
            ),
            Some(u32::MAX)
        );
    }
}
