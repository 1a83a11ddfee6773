//! PostgreSQL-style date functions registered on every query connection, so the seed's SQL
//! style runs on SQLite: `date_trunc(unit, ts)`, `to_char(ts, fmt)`, `date_part(unit, ts)`, `now()`.
//!
//! Dates travel as ISO text: `YYYY-MM-DD` for dates, `YYYY-MM-DD HH:MM:SS` for timestamps.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::Connection;

const DATE: &str = "%Y-%m-%d";
const TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S";

/// A parsed date or timestamp, remembering whether it had a time part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moment {
    pub at: NaiveDateTime,
    pub date_only: bool,
}

impl Moment {
    pub fn render(self) -> String {
        if self.date_only {
            self.at.format(DATE).to_string()
        } else {
            self.at.format(TIMESTAMP).to_string()
        }
    }
}

/// Parses ISO dates and timestamps (`T` or space, optional fraction and `Z`), and `YYYY-MM`.
pub fn parse_moment(text: &str) -> Option<Moment> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, DATE) {
        return Some(Moment {
            at: date.and_hms_opt(0, 0, 0)?,
            date_only: true,
        });
    }
    let trimmed = text.trim_end_matches('Z');
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(trimmed, format) {
            return Some(Moment {
                at,
                date_only: false,
            });
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(&format!("{text}-01"), DATE) {
        return Some(Moment {
            at: date.and_hms_opt(0, 0, 0)?,
            date_only: true,
        });
    }
    None
}

/// Truncates to the start of `unit` (PostgreSQL semantics; weeks start on Monday).
pub fn date_trunc(unit: &str, moment: Moment) -> Result<Moment, String> {
    let at = moment.at;
    let date = at.date();
    let start_of_day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap();
    let truncated = match unit.to_ascii_lowercase().as_str() {
        "year" | "years" => start_of_day(NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap()),
        "quarter" | "quarters" => {
            let month = (date.month0() / 3) * 3 + 1;
            start_of_day(NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap())
        }
        "month" | "months" => start_of_day(date.with_day(1).unwrap()),
        "week" | "weeks" => {
            start_of_day(date - Duration::days(date.weekday().num_days_from_monday() as i64))
        }
        "day" | "days" => start_of_day(date),
        "hour" | "hours" => date.and_hms_opt(at.hour(), 0, 0).unwrap(),
        "minute" | "minutes" => date.and_hms_opt(at.hour(), at.minute(), 0).unwrap(),
        "second" | "seconds" => date
            .and_hms_opt(at.hour(), at.minute(), at.second())
            .unwrap(),
        other => {
            return Err(format!(
                "date_trunc: unknown unit {other:?}; use year, quarter, month, week, day, hour, minute or second"
            ))
        }
    };
    // Like PostgreSQL, a timestamp stays a timestamp; a date stays a date.
    Ok(Moment {
        at: truncated,
        date_only: moment.date_only,
    })
}

/// A field of a date, as PostgreSQL's `date_part` / `EXTRACT` gives it.
pub fn date_part(unit: &str, moment: Moment) -> Result<f64, String> {
    let at = moment.at;
    Ok(match unit.to_ascii_lowercase().as_str() {
        "year" => at.year() as f64,
        "quarter" => (at.month0() / 3 + 1) as f64,
        "month" => at.month() as f64,
        "week" => at.iso_week().week() as f64,
        "day" => at.day() as f64,
        "dow" => at.weekday().num_days_from_sunday() as f64,
        "isodow" => at.weekday().number_from_monday() as f64,
        "doy" => at.ordinal() as f64,
        "hour" => at.hour() as f64,
        "minute" => at.minute() as f64,
        "second" => at.second() as f64,
        "epoch" => at.and_utc().timestamp() as f64,
        other => return Err(format!("date_part: unknown field {other:?}")),
    })
}

/// Formats like PostgreSQL's `to_char` for the common date patterns (`FM` is accepted and ignored).
pub fn to_char(moment: Moment, format: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    // Longest patterns first so that, e.g., "MONTH" wins over "MON" and "MM".
    const PATTERNS: [&str; 31] = [
        "FM", "YYYY", "IYYY", "MONTH", "Month", "month", "HH24", "HH12", "YY", "MON", "Mon", "mon",
        "DAY", "Day", "day", "DDD", "DY", "Dy", "dy", "MM", "DD", "IW", "ID", "WW", "HH", "MI",
        "SS", "AM", "PM", "Q", "D",
    ];
    let at = moment.at;
    let month = MONTHS[at.month0() as usize];
    let day = DAYS[at.weekday().num_days_from_monday() as usize];
    let hour12 = match at.hour() % 12 {
        0 => 12,
        h => h,
    };
    let meridiem = if at.hour() < 12 { "AM" } else { "PM" };
    // Only the patterns the format uses are rendered: this runs once per row.
    let render = |pattern: &str| -> String {
        match pattern {
            "FM" => String::new(),
            "YYYY" => format!("{:04}", at.year()),
            "IYYY" => format!("{:04}", at.iso_week().year()),
            "MONTH" => month.to_uppercase(),
            "Month" => month.to_string(),
            "month" => month.to_lowercase(),
            "HH24" => format!("{:02}", at.hour()),
            "HH12" | "HH" => format!("{hour12:02}"),
            "YY" => format!("{:02}", at.year() % 100),
            "MON" => month[..3].to_uppercase(),
            "Mon" => month[..3].to_string(),
            "mon" => month[..3].to_lowercase(),
            "DAY" => day.to_uppercase(),
            "Day" => day.to_string(),
            "day" => day.to_lowercase(),
            "DDD" => format!("{:03}", at.ordinal()),
            "DY" => day[..3].to_uppercase(),
            "Dy" => day[..3].to_string(),
            "dy" => day[..3].to_lowercase(),
            "MM" => format!("{:02}", at.month()),
            "DD" => format!("{:02}", at.day()),
            "IW" => format!("{:02}", at.iso_week().week()),
            "ID" => at.weekday().number_from_monday().to_string(),
            "WW" => format!("{:02}", at.ordinal0() / 7 + 1),
            "MI" => format!("{:02}", at.minute()),
            "SS" => format!("{:02}", at.second()),
            "AM" | "PM" => meridiem.to_string(),
            "Q" => (at.month0() / 3 + 1).to_string(),
            "D" => (at.weekday().num_days_from_sunday() + 1).to_string(),
            _ => unreachable!("every pattern has a rendering"),
        }
    };
    let mut out = String::new();
    let mut rest = format;
    'scan: while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            out.push_str(&quoted[..end]);
            rest = quoted.get(end + 1..).unwrap_or("");
            continue;
        }
        for pattern in PATTERNS {
            if let Some(after) = rest.strip_prefix(pattern) {
                out.push_str(&render(pattern));
                rest = after;
                continue 'scan;
            }
        }
        let ch = rest.chars().next().unwrap();
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

fn user_error(message: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(message.into())
}

/// The moment in argument `index`, or `None` for SQL NULL.
fn moment_arg(ctx: &Context<'_>, index: usize, function: &str) -> rusqlite::Result<Option<Moment>> {
    // Borrowed, not copied: this runs once per row.
    let text = match ctx.get_raw(index) {
        rusqlite::types::ValueRef::Null => return Ok(None),
        rusqlite::types::ValueRef::Text(bytes) => String::from_utf8_lossy(bytes),
        _ => ctx.get::<String>(index)?.into(),
    };
    parse_moment(&text)
        .map(Some)
        .ok_or_else(|| user_error(format!("{function}: {text:?} is not a date or timestamp")))
}

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let pure = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("date_trunc", 2, pure, |ctx| {
        let unit: String = ctx.get(0)?;
        match moment_arg(ctx, 1, "date_trunc")? {
            Some(moment) => date_trunc(&unit, moment)
                .map(|m| Some(m.render()))
                .map_err(user_error),
            None => Ok(None),
        }
    })?;
    conn.create_scalar_function("to_char", 2, pure, |ctx| {
        let format: String = ctx.get(1)?;
        Ok(moment_arg(ctx, 0, "to_char")?.map(|moment| to_char(moment, &format)))
    })?;
    conn.create_scalar_function("date_part", 2, pure, |ctx| {
        let unit: String = ctx.get(0)?;
        match moment_arg(ctx, 1, "date_part")? {
            Some(moment) => date_part(&unit, moment).map(Some).map_err(user_error),
            None => Ok(None),
        }
    })?;
    conn.create_scalar_function("now", 0, FunctionFlags::SQLITE_UTF8, |_| {
        Ok(Utc::now().naive_utc().format(TIMESTAMP).to_string())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> Moment {
        parse_moment(text).unwrap()
    }

    #[test]
    fn truncates_like_postgres() {
        assert_eq!(
            date_trunc("month", m("2024-06-11")).unwrap().render(),
            "2024-06-01"
        );
        assert_eq!(
            date_trunc("quarter", m("2024-08-30")).unwrap().render(),
            "2024-07-01"
        );
        assert_eq!(
            date_trunc("year", m("2023-12-31")).unwrap().render(),
            "2023-01-01"
        );
        // 2024-06-13 is a Thursday; its ISO week starts on Monday 2024-06-10.
        assert_eq!(
            date_trunc("week", m("2024-06-13")).unwrap().render(),
            "2024-06-10"
        );
        assert_eq!(
            date_trunc("hour", m("2024-06-11T16:35:51.575118Z"))
                .unwrap()
                .render(),
            "2024-06-11 16:00:00"
        );
        assert_eq!(
            date_trunc("day", m("2024-06-11 16:35:51"))
                .unwrap()
                .render(),
            "2024-06-11 00:00:00"
        );
        assert!(date_trunc("fortnight", m("2024-06-11")).is_err());
    }

    #[test]
    fn formats_like_postgres() {
        let at = m("2024-06-11 16:05:09");
        assert_eq!(to_char(at, "YYYY-MM"), "2024-06");
        assert_eq!(to_char(at, "YYYY-\"Q\"Q"), "2024-Q2");
        assert_eq!(to_char(at, "Mon YYYY"), "Jun 2024");
        assert_eq!(to_char(at, "FMMonth DD, YYYY"), "June 11, 2024");
        assert_eq!(to_char(at, "HH24:MI:SS"), "16:05:09");
        assert_eq!(to_char(at, "HH12 AM"), "04 PM");
        assert_eq!(to_char(at, "IYYY-IW"), "2024-24");
        assert_eq!(to_char(at, "Day"), "Tuesday");
        assert_eq!(
            to_char(at, "DDD YY dy DY D ID WW mon MONTH"),
            "163 24 tue TUE 3 2 24 jun JUNE"
        );
    }

    #[test]
    fn extracts_fields() {
        let at = m("2024-06-11");
        assert_eq!(date_part("year", at).unwrap(), 2024.0);
        assert_eq!(date_part("quarter", at).unwrap(), 2.0);
        assert_eq!(date_part("dow", at).unwrap(), 2.0);
        assert!(parse_moment("yesterday").is_none());
    }
}
