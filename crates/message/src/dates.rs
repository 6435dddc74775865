//! Dates as nodemailer writes them: the `Date` header (`Date#toUTCString()` with `GMT`
//! replaced by `+0000`, lib/mime-node) and `toISOString()` for the JSON transport's `date`.
//! Both cover a JS Date's whole range (±8.64e15 ms), including years outside 0..9999.
//!
//! The calendar comes from the `time` crate; its dates stop at year ±9999 (without its
//! `large-dates` feature, which would change how other crates in the tree parse years), so a
//! day is first moved by whole 400-year cycles into 1970..2370: the Gregorian calendar and the
//! weekdays repeat every 146097 days.

use time::{Date, Weekday};

/// Days in 400 Gregorian years (a whole number of weeks too).
const DAYS_PER_400_YEARS: i64 = 146_097;
/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// A valid JS time value split into calendar fields (UTC).
struct Fields {
    year: i64,
    month: u8,
    day: u8,
    weekday: Weekday,
    second_of_day: i64,
    millis: i64,
}

/// None for what JS calls an invalid date: not finite, or beyond ±8.64e15 ms.
fn fields(ms: f64) -> Option<Fields> {
    if !ms.is_finite() || ms.abs() > 8.64e15 {
        return None;
    }
    // a JS Date keeps the integer part of its time value
    let ms = ms.trunc() as i64;
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let cycles = days.div_euclid(DAYS_PER_400_YEARS);
    let in_cycle = days.rem_euclid(DAYS_PER_400_YEARS);
    let date = Date::from_julian_day(i32::try_from(UNIX_EPOCH_JULIAN_DAY + in_cycle).ok()?).ok()?;
    Some(Fields {
        year: i64::from(date.year()) + 400 * cycles,
        month: date.month() as u8,
        day: date.day(),
        weekday: date.weekday(),
        second_of_day: secs.rem_euclid(86_400),
        millis: ms.rem_euclid(1000),
    })
}

/// `Date.prototype.toISOString()`; None for an invalid date.
pub(crate) fn iso_date(ms: f64) -> Option<String> {
    let f = fields(ms)?;
    let y = f.year;
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:06}", -y)
    } else {
        format!("+{y:06}")
    };
    let sod = f.second_of_day;
    Some(format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        f.month,
        f.day,
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60,
        f.millis
    ))
}

/// `Date.prototype.toUTCString()` with `GMT` replaced by `+0000`.
pub(crate) fn format_date(ms: f64) -> String {
    const WD: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some(f) = fields(ms) else {
        return "Invalid Date".into();
    };
    // toUTCString pads the year to four digits, a minus sign ahead of the padding (`-0001`);
    // unlike toISOString, which writes six digits and a sign outside 0..9999 (`-000001`)
    let year = if f.year < 0 {
        format!("-{:04}", -f.year)
    } else {
        format!("{:04}", f.year)
    };
    let sod = f.second_of_day;
    format!(
        "{}, {:02} {} {year} {:02}:{:02}:{:02} +0000",
        WD[f.weekday.number_days_from_sunday() as usize],
        f.day,
        MO[usize::from(f.month) - 1],
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Now, in JS milliseconds.
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

    /// Expected strings printed by node (`new Date(ms).toISOString()` and `.toUTCString()`),
    /// across the 400-year shift and outside the `time` crate's ±9999 years.
    #[test]
    fn whole_js_date_range() {
        let cases: [(f64, &str, &str); 12] = [
            (-8.64e15, "-271821-04-20T00:00:00.000Z", ""),
            (
                8.64e15,
                "+275760-09-13T00:00:00.000Z",
                "Sat, 13 Sep 275760 00:00:00 +0000",
            ),
            (
                -62167219200000.0,
                "0000-01-01T00:00:00.000Z",
                "Sat, 01 Jan 0000 00:00:00 +0000",
            ),
            (-62167219200001.0, "-000001-12-31T23:59:59.999Z", ""),
            (
                253402300799999.0,
                "9999-12-31T23:59:59.999Z",
                "Fri, 31 Dec 9999 23:59:59 +0000",
            ),
            (
                253402300800000.0,
                "+010000-01-01T00:00:00.000Z",
                "Sat, 01 Jan 10000 00:00:00 +0000",
            ),
            (
                -1.5,
                "1969-12-31T23:59:59.999Z",
                "Wed, 31 Dec 1969 23:59:59 +0000",
            ),
            (
                1.9,
                "1970-01-01T00:00:00.001Z",
                "Thu, 01 Jan 1970 00:00:00 +0000",
            ),
            (
                -12219292800000.0,
                "1582-10-15T00:00:00.000Z",
                "Fri, 15 Oct 1582 00:00:00 +0000",
            ),
            (
                4102444800000.0,
                "2100-01-01T00:00:00.000Z",
                "Fri, 01 Jan 2100 00:00:00 +0000",
            ),
            (
                1e15,
                "+033658-09-27T01:46:40.000Z",
                "Fri, 27 Sep 33658 01:46:40 +0000",
            ),
            (
                -6e13,
                "0068-09-03T13:20:00.000Z",
                "Mon, 03 Sep 0068 13:20:00 +0000",
            ),
        ];
        for (ms, iso, utc) in cases {
            assert_eq!(iso_date(ms).as_deref(), Some(iso), "{ms}");
            if !utc.is_empty() {
                assert_eq!(format_date(ms), utc, "{ms}");
            }
        }
        assert_eq!(iso_date(8.64e15 + 1.0), None);
        assert_eq!(format_date(-8.64e15 - 1.0), "Invalid Date");
    }

    /// January 1st of years around and beyond the four-digit range, as node prints them
    /// (`d = new Date(0); d.setUTCFullYear(y, 0, 1)`, then `toUTCString()` / `toISOString()`).
    #[test]
    fn years_outside_four_digits_match_node() {
        let cases: [(f64, &str, &str); 16] = [
            (-62198755200000.0, "Fri, 01 Jan -0001", "-000001-01-01"),
            (-62482752000000.0, "Mon, 01 Jan -0010", "-000010-01-01"),
            (-65322892800000.0, "Mon, 01 Jan -0100", "-000100-01-01"),
            (-93724128000000.0, "Wed, 01 Jan -1000", "-001000-01-01"),
            (-377705116800000.0, "Mon, 01 Jan -9999", "-009999-01-01"),
            (-377736739200000.0, "Sat, 01 Jan -10000", "-010000-01-01"),
            (-8639977881600000.0, "Sat, 01 Jan -271820", "-271820-01-01"),
            (-8.64e15, "Tue, 20 Apr -271821", "-271821-04-20"),
            (-62167219200000.0, "Sat, 01 Jan 0000", "0000-01-01"),
            (-62135596800000.0, "Mon, 01 Jan 0001", "0001-01-01"),
            (-59042995200000.0, "Thu, 01 Jan 0099", "0099-01-01"),
            (-30641760000000.0, "Tue, 01 Jan 0999", "0999-01-01"),
            (253402300800000.0, "Sat, 01 Jan 10000", "+010000-01-01"),
            (3093496444800000.0, "Fri, 01 Jan 99999", "+099999-01-01"),
            (8639946345600000.0, "Mon, 01 Jan 275759", "+275759-01-01"),
            (8.64e15, "Sat, 13 Sep 275760", "+275760-09-13"),
        ];
        for (ms, utc, iso) in cases {
            assert_eq!(format_date(ms), format!("{utc} 00:00:00 +0000"), "{ms}");
            let iso = format!("{iso}T00:00:00.000Z");
            assert_eq!(iso_date(ms).as_deref(), Some(iso.as_str()), "{ms}");
        }
        // the last millisecond of year -1
        let ms = -62167219200001.0;
        assert_eq!(format_date(ms), "Fri, 31 Dec -0001 23:59:59 +0000");
    }
}
