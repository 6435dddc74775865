//! Dates as nodemailer writes them: the `Date` header (`Date#toUTCString()` with `GMT`
//! replaced by `+0000`, lib/mime-node) and `toISOString()` for the JSON transport's `date`.
//! Both cover a JS Date's whole range (±8.64e15 ms), including years outside 0..9999.

/// `Date.prototype.toISOString()`; None for an invalid date.
pub(crate) fn iso_date(ms: f64) -> Option<String> {
    if !ms.is_finite() || ms.abs() > 8.64e15 {
        return None;
    }
    let ms = ms.trunc() as i64;
    let (y, m, d, sod) = civil(ms.div_euclid(1000));
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:06}", -y)
    } else {
        format!("+{y:06}")
    };
    Some(format!(
        "{year}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60,
        ms.rem_euclid(1000)
    ))
}

/// Seconds since the epoch to (year, month, day, second of day): Howard Hinnant's civil_from_days.
fn civil(secs: i64) -> (i64, i64, i64, i64) {
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d, sod)
}

/// `Date.prototype.toUTCString()` with `GMT` replaced by `+0000`.
pub(crate) fn format_date(ms: f64) -> String {
    if !ms.is_finite() || ms.abs() > 8.64e15 {
        return "Invalid Date".into();
    }
    let ms = ms.trunc() as i64;
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    // Howard Hinnant's civil_from_days
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const WD: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = WD[(days + 4).rem_euclid(7) as usize];
    let year = if y < 0 {
        format!("-{:06}", -y)
    } else {
        format!("{y:04}")
    };
    format!(
        "{wd}, {d:02} {} {year} {:02}:{:02}:{:02} +0000",
        MO[(m - 1) as usize],
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

pub(crate) fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso_date(0.0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            iso_date(1577934245123.0).as_deref(),
            Some("2020-01-02T03:04:05.123Z")
        );
        assert_eq!(iso_date(f64::NAN), None);
    }

    #[test]
    fn dates_match_to_utc_string() {
        assert_eq!(format_date(0.0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            format_date(1577934245000.0),
            "Thu, 02 Jan 2020 03:04:05 +0000"
        );
        assert_eq!(
            format_date(951782400000.0),
            "Tue, 29 Feb 2000 00:00:00 +0000"
        );
        assert_eq!(format_date(f64::NAN), "Invalid Date");
    }
}
