//! Calendar time → UNIX seconds for the date-at-boot response (§5).

/// Days from 1970-01-01 to the given proleptic Gregorian date
/// (Howard Hinnant's `days_from_civil` algorithm, public domain maths).
#[must_use]
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// UNIX seconds for a UTC date and time (UEFI `GetTime`, time zone
/// ignored like Limine does, §5). Out-of-range fields give `None`.
#[must_use]
pub fn unix_seconds(
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), u32::from(month), u32::from(day));
    Some(days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(unix_seconds(1970, 1, 1, 0, 0, 0), Some(0));
        assert_eq!(unix_seconds(2000, 1, 1, 0, 0, 0), Some(946_684_800));
        assert_eq!(unix_seconds(2024, 2, 29, 12, 30, 15), Some(1_709_209_815));
        assert_eq!(unix_seconds(1969, 12, 31, 23, 59, 59), Some(-1));
        assert_eq!(unix_seconds(2024, 13, 1, 0, 0, 0), None);
    }

    #[test]
    fn consecutive_days_differ_by_one() {
        let mut prev = days_from_civil(1999, 12, 31);
        for (y, m, d) in [(2000, 1, 1), (2000, 1, 2)] {
            let now = days_from_civil(y, m, d);
            assert_eq!(now - prev, 1);
            prev = now;
        }
        assert_eq!(
            days_from_civil(2001, 3, 1) - days_from_civil(2001, 2, 28),
            1
        );
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
    }
}
