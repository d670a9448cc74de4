//! Walking descriptor items to find a mouse report's fields.

use super::item::{Item, ItemIter, ItemKind};
use super::report::{AxisField, BitField, MouseLayout};
use super::{
    HidError, MAX_BUTTONS, MAX_DEPTH, MAX_DESCRIPTOR_LEN, MAX_PUSH, MAX_REPORTS, MAX_REPORT_BYTES,
    MAX_USAGES, PAGE_BUTTON, PAGE_GENERIC_DESKTOP, USAGE_WHEEL, USAGE_X, USAGE_Y,
};

#[derive(Debug, Clone, Copy, Default)]
struct Globals {
    usage_page: u16,
    logical_min: i32,
    /// Logical Maximum as sent: data and size, interpreted at the main item.
    logical_max: (u32, u8),
    report_size: u32,
    report_count: u32,
    report_id: u8,
}

impl Globals {
    fn logical_max(&self) -> i64 {
        let (data, size) = self.logical_max;
        let item = Item {
            kind: ItemKind::Global,
            tag: 2,
            size,
            data,
        };
        // HID 1.11 §6.2.2.7: with a negative minimum the maximum is signed
        // too; otherwise it is read as unsigned (Linux does the same).
        if self.logical_min < 0 {
            i64::from(item.signed())
        } else {
            i64::from(data)
        }
    }
}

/// A usage before its page is resolved: `page` is Some for 4-byte usages.
#[derive(Debug, Clone, Copy)]
struct RawUsage {
    page: Option<u16>,
    id: u16,
}

impl RawUsage {
    fn from_item(item: &Item) -> Self {
        if item.size == 4 {
            Self {
                page: Some((item.data >> 16) as u16),
                id: item.data as u16,
            }
        } else {
            Self {
                page: None,
                id: item.data as u16,
            }
        }
    }

    fn resolve(self, page: u16) -> (u16, u16) {
        (self.page.unwrap_or(page), self.id)
    }
}

#[derive(Debug, Default)]
struct Locals {
    usages: [Option<RawUsage>; MAX_USAGES],
    count: usize,
    min: Option<RawUsage>,
    max: Option<RawUsage>,
}

impl Locals {
    /// The usage of field `i` of an item with `count` fields.
    fn usage(&self, i: u32, page: u16) -> Option<(u16, u16)> {
        if self.count > 0 {
            let idx = (i as usize).min(self.count - 1);
            return self.usages[idx].map(|u| u.resolve(page));
        }
        let (min_page, min) = self.min?.resolve(page);
        // Real Hyper-V omits the Usage Maximum (module docs): an open range
        // then simply runs on with the fields.
        let max = match self.max {
            Some(m) => m.resolve(page).1,
            None => u16::MAX,
        };
        let id = u32::from(min).checked_add(i)?;
        (id <= u32::from(max)).then_some((min_page, id as u16))
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct ReportInfo {
    id: u8,
    bits: u32,
    x: Option<AxisField>,
    y: Option<AxisField>,
    wheel: Option<AxisField>,
    buttons: [Option<BitField>; MAX_BUTTONS],
}

#[derive(Debug, Default)]
struct Parser {
    globals: Globals,
    stack: [Globals; MAX_PUSH],
    stack_len: usize,
    locals: Locals,
    depth: usize,
    reports: [ReportInfo; MAX_REPORTS],
    report_count: usize,
    uses_ids: bool,
}

impl Parser {
    fn report(&mut self, id: u8) -> Result<&mut ReportInfo, HidError> {
        let n = self.report_count;
        if let Some(i) = self.reports[..n].iter().position(|r| r.id == id) {
            return Ok(&mut self.reports[i]);
        }
        if n == MAX_REPORTS {
            return Err(HidError::TooManyReports);
        }
        self.reports[n] = ReportInfo {
            id,
            ..ReportInfo::default()
        };
        self.report_count += 1;
        Ok(&mut self.reports[n])
    }

    fn global(&mut self, item: &Item) -> Result<(), HidError> {
        let g = &mut self.globals;
        match item.tag {
            0x0 => g.usage_page = item.data as u16,
            0x1 => g.logical_min = item.signed(),
            0x2 => g.logical_max = (item.data, item.size),
            0x7 => g.report_size = item.data,
            0x8 => {
                if item.data == 0 || item.data > 0xFF {
                    return Err(HidError::ZeroReportId);
                }
                g.report_id = item.data as u8;
                self.uses_ids = true;
            }
            0x9 => g.report_count = item.data,
            0xA => {
                if self.stack_len == MAX_PUSH {
                    return Err(HidError::PushOverflow);
                }
                self.stack[self.stack_len] = self.globals;
                self.stack_len += 1;
            }
            0xB => {
                if self.stack_len == 0 {
                    return Err(HidError::PopUnderflow);
                }
                self.stack_len -= 1;
                self.globals = self.stack[self.stack_len];
            }
            // Physical min/max, unit, unit exponent, reserved tags: no effect
            // on where fields are.
            _ => {}
        }
        Ok(())
    }

    fn local(&mut self, item: &Item) -> Result<(), HidError> {
        let l = &mut self.locals;
        match item.tag {
            0x0 => {
                if l.count == MAX_USAGES {
                    return Err(HidError::TooManyUsages);
                }
                l.usages[l.count] = Some(RawUsage::from_item(item));
                l.count += 1;
            }
            0x1 => l.min = Some(RawUsage::from_item(item)),
            0x2 => l.max = Some(RawUsage::from_item(item)),
            _ => {}
        }
        Ok(())
    }

    fn input(&mut self, flags: u32) -> Result<(), HidError> {
        let g = self.globals;
        let total = g
            .report_size
            .checked_mul(g.report_count)
            .ok_or(HidError::ReportTooLarge)?;
        let page = g.usage_page;
        let locals = core::mem::take(&mut self.locals);
        let report = self.report(g.report_id)?;
        let start = report.bits;
        let end = start.checked_add(total).ok_or(HidError::ReportTooLarge)?;
        if end as usize > MAX_REPORT_BYTES * 8 {
            return Err(HidError::ReportTooLarge);
        }
        report.bits = end;
        let constant = flags & 1 != 0;
        let variable = flags & 2 != 0;
        if constant || !variable || g.report_size == 0 || g.report_size > 32 {
            return Ok(());
        }
        let size = g.report_size as u8;
        for i in 0..g.report_count {
            let Some((upage, uid)) = locals.usage(i, page) else {
                break;
            };
            let bits = BitField {
                offset: start + i * g.report_size,
                size,
            };
            let axis = AxisField {
                bits,
                logical_min: i64::from(g.logical_min),
                logical_max: g.logical_max(),
                signed: g.logical_min < 0,
                relative: flags & 4 != 0,
            };
            match (upage, uid) {
                (PAGE_GENERIC_DESKTOP, USAGE_X) if report.x.is_none() => report.x = Some(axis),
                (PAGE_GENERIC_DESKTOP, USAGE_Y) if report.y.is_none() => report.y = Some(axis),
                (PAGE_GENERIC_DESKTOP, USAGE_WHEEL) if report.wheel.is_none() => {
                    report.wheel = Some(axis)
                }
                (PAGE_BUTTON, n) if (1..=MAX_BUTTONS as u16).contains(&n) => {
                    let slot = &mut report.buttons[usize::from(n - 1)];
                    if slot.is_none() {
                        *slot = Some(bits);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn main(&mut self, item: &Item) -> Result<(), HidError> {
        match item.tag {
            0x8 => return self.input(item.data),
            0xA => {
                if self.depth == MAX_DEPTH {
                    return Err(HidError::TooDeep);
                }
                self.depth += 1;
            }
            0xC => {
                self.depth = self
                    .depth
                    .checked_sub(1)
                    .ok_or(HidError::CollectionUnderflow)?;
            }
            // Output and Feature reports are separate from input reports.
            _ => {}
        }
        self.locals = Locals::default();
        Ok(())
    }

    fn layout(&self) -> Result<MouseLayout, HidError> {
        let r = self.reports[..self.report_count]
            .iter()
            .find(|r| r.x.is_some() && r.y.is_some())
            .ok_or(HidError::NoPointer)?;
        let (Some(x), Some(y)) = (r.x, r.y) else {
            return Err(HidError::NoPointer);
        };
        for axis in [&x, &y] {
            if !axis.relative && axis.logical_max <= axis.logical_min {
                return Err(HidError::BadAxis);
            }
        }
        Ok(MouseLayout {
            report_id: (self.uses_ids && r.id != 0).then_some(r.id),
            report_len: r.bits.div_ceil(8) as usize,
            x,
            y,
            wheel: r.wheel,
            buttons: r.buttons,
        })
    }
}

/// Parses a report descriptor and returns where the first report with both
/// X and Y keeps its pointer fields (buttons and wheel from the same report).
pub fn parse_mouse(descriptor: &[u8]) -> Result<MouseLayout, HidError> {
    if descriptor.len() > MAX_DESCRIPTOR_LEN {
        return Err(HidError::TooLong(descriptor.len()));
    }
    let mut p = Parser::default();
    for item in ItemIter::new(descriptor) {
        let item = item?;
        match item.kind {
            ItemKind::Main => p.main(&item)?,
            ItemKind::Global => p.global(&item)?,
            ItemKind::Local => p.local(&item)?,
            ItemKind::Long => {}
        }
    }
    p.layout()
}
