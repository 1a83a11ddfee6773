//! The days a question is about: a named period, a span between two, a range open on one
//! side, or one relative to the anchor day ("last 30 days").

use super::{Grain, TimeRange, OPEN_END, OPEN_START};
use crate::pipeline::text::number_word;
use chrono::{Datelike, Duration, Months, NaiveDate};
use std::ops::Range;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_number(word: &str) -> Option<u32> {
    if let Some(i) = MONTHS.iter().position(|m| *m == word) {
        return Some(i as u32 + 1);
    }
    if word.len() >= 3 && word != "may" {
        let short = match word {
            "sept" => "sep",
            other => other,
        };
        if short.len() == 3 {
            return MONTHS
                .iter()
                .position(|m| m.starts_with(short))
                .map(|i| i as u32 + 1);
        }
    }
    None
}

fn year(word: &str) -> Option<i32> {
    let y: i32 = word.parse().ok()?;
    (word.len() == 4 && (1900..=2200).contains(&y)).then_some(y)
}

pub(super) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn quarter_start(day: NaiveDate) -> NaiveDate {
    ymd(day.year(), (day.month0() / 3) * 3 + 1, 1)
}

fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(day.weekday().num_days_from_monday() as i64)
}

/// The first time range in `tokens`, with the token positions it used.
pub fn find_range(tokens: &[String], anchor: NaiveDate) -> Option<(TimeRange, Range<usize>)> {
    let next_day = anchor + Duration::days(1);
    let word = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    for i in 0..tokens.len() {
        let relative = |start: NaiveDate, end: NaiveDate, label: String| TimeRange {
            start,
            end,
            label,
            relative: true,
        };
        // last/past/previous N units: a rolling window ending on the anchor day.
        if matches!(word(i), "last" | "past" | "previous" | "trailing") {
            if let (Some(n), Some(grain)) = (number_word(word(i + 1)), Grain::parse(word(i + 2))) {
                let n = n.max(1);
                let start = match grain {
                    Grain::Day => next_day - Duration::days(n as i64),
                    Grain::Week => next_day - Duration::days(7 * n as i64),
                    Grain::Month => next_day - Months::new(n as u32),
                    Grain::Quarter => next_day - Months::new(3 * n as u32),
                    Grain::Year => next_day - Months::new(12 * n as u32),
                };
                let unit = grain.unit();
                let label = format!("Last {n} {unit}{}", if n == 1 { "" } else { "s" });
                return Some((relative(start, next_day, label), i..i + 3));
            }
            // last month / last year …: the previous calendar period; "past year": rolling.
            if let Some(grain) = Grain::parse(word(i + 1)) {
                let rolling = word(i) == "past" || word(i) == "trailing";
                let (start, end, label) = match (grain, rolling) {
                    (Grain::Day, _) => {
                        (anchor - Duration::days(1), anchor, "Yesterday".to_string())
                    }
                    (Grain::Week, false) => {
                        let this = week_start(anchor);
                        (this - Duration::days(7), this, "Last week".to_string())
                    }
                    (Grain::Month, false) => {
                        let this = anchor.with_day(1).unwrap();
                        (this - Months::new(1), this, "Last month".to_string())
                    }
                    (Grain::Quarter, false) => {
                        let this = quarter_start(anchor);
                        (this - Months::new(3), this, "Last quarter".to_string())
                    }
                    (Grain::Year, false) => {
                        let y = anchor.year() - 1;
                        (ymd(y, 1, 1), ymd(y + 1, 1, 1), format!("Last year ({y})"))
                    }
                    (grain, true) => {
                        let months = match grain {
                            Grain::Quarter => 3,
                            Grain::Year => 12,
                            _ => 1,
                        };
                        let start = match grain {
                            Grain::Week => next_day - Duration::days(7),
                            _ => next_day - Months::new(months),
                        };
                        (start, next_day, format!("Past {}", grain.unit()))
                    }
                };
                return Some((relative(start, end, label), i..i + 2));
            }
        }
        // this month / this year / current quarter: the calendar period up to the anchor day.
        if matches!(word(i), "this" | "current") {
            if let Some(grain) = Grain::parse(word(i + 1)) {
                let start = match grain {
                    Grain::Day => anchor,
                    Grain::Week => week_start(anchor),
                    Grain::Month => anchor.with_day(1).unwrap(),
                    Grain::Quarter => quarter_start(anchor),
                    Grain::Year => ymd(anchor.year(), 1, 1),
                };
                let label = format!("This {}", grain.unit());
                return Some((relative(start, next_day, label), i..i + 2));
            }
        }
        if word(i) == "today" {
            return Some((relative(anchor, next_day, "Today".into()), i..i + 1));
        }
        if word(i) == "yesterday" {
            let day = anchor - Duration::days(1);
            return Some((relative(day, anchor, "Yesterday".into()), i..i + 1));
        }
        if word(i) == "ytd" || (word(i) == "year" && word(i + 1) == "to" && word(i + 2) == "date") {
            let len = if word(i) == "ytd" { 1 } else { 3 };
            let start = ymd(anchor.year(), 1, 1);
            return Some((relative(start, next_day, "Year to date".into()), i..i + len));
        }
        // between March 2024 and May 2024 / from 2022 to 2023 / 2013-01-01 through 2013-01-31.
        if let Some((first, second, span)) = span_at(tokens, i, anchor) {
            let sep = if first.len == 1 && second.len == 1 && first.label.len() == 4 {
                "–"
            } else {
                " to "
            };
            let range = TimeRange {
                start: first.start,
                end: second.end,
                label: format!("{}{sep}{}", first.label, second.label),
                relative: first.relative || second.relative,
            };
            return Some((range, span));
        }
        // since 2023 / before 1990 / after March 2020: open on one side.
        if matches!(word(i), "since" | "before" | "after") {
            if let Some(p) = period(tokens, i + 1, anchor) {
                let (start, end, label) = match word(i) {
                    "since" => (p.start, next_day, format!("Since {}", p.label)),
                    "before" => (OPEN_START, p.start, format!("Before {}", p.label)),
                    _ => (p.end, OPEN_END, format!("After {}", p.label)),
                };
                let range = TimeRange {
                    start,
                    end,
                    label,
                    relative: word(i) == "since" || p.relative,
                };
                return Some((range, i..i + 1 + p.len));
            }
        }
        if let Some(p) = period(tokens, i, anchor) {
            let len = p.len;
            return Some((p.into(), i..i + len));
        }
    }
    None
}

/// The two ends of the first span between two periods ("between 2001 and 2017"): what a
/// change is measured between.
pub fn find_span(tokens: &[String], anchor: NaiveDate) -> Option<(TimeRange, TimeRange)> {
    (0..tokens.len()).find_map(|i| {
        let (first, second, _) = span_at(tokens, i, anchor)?;
        Some((first.into(), second.into()))
    })
}

/// "between P and Q", "from P to Q", "P through Q" at `tokens[i]`, with the tokens it used.
fn span_at(
    tokens: &[String],
    i: usize,
    anchor: NaiveDate,
) -> Option<(Period, Period, Range<usize>)> {
    let word = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    let opens = matches!(word(i), "between" | "from");
    let first = period(tokens, i + usize::from(opens), anchor)?;
    let after = i + usize::from(opens) + first.len;
    let joined = matches!(word(after), "and" | "to" | "through" | "until" | "thru")
        && (opens || word(after) != "and");
    if !joined {
        return None;
    }
    let second = period(tokens, after + 1, anchor)?;
    let end = after + 1 + second.len;
    (first.start < second.end).then_some((first, second, i..end))
}

impl From<Period> for TimeRange {
    fn from(period: Period) -> TimeRange {
        TimeRange {
            start: period.start,
            end: period.end,
            label: period.label,
            relative: period.relative,
        }
    }
}

/// One named period: a day, a month, a quarter, a year or a decade.
struct Period {
    start: NaiveDate,
    end: NaiveDate,
    label: String,
    /// Completed from the anchor day ("March" alone is the latest March).
    relative: bool,
    /// Tokens used.
    len: usize,
}

/// The period named at `tokens[i]`: 2024-03-05, 2024-03, March 5 2024, 5 March 2024, March
/// 2024, March of 2024, March, Q3 2024, Q3, the 1990s, 2024.
fn period(tokens: &[String], i: usize, anchor: NaiveDate) -> Option<Period> {
    let word = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    let fixed = |start: NaiveDate, end: NaiveDate, label: String, len: usize| Period {
        start,
        end,
        label,
        relative: false,
        len,
    };
    let day_of = |w: &str| w.parse::<u32>().ok().filter(|d| (1..=31).contains(d));
    let first = word(i);
    // ISO dates, which `text::words` keeps whole.
    let parts: Vec<&str> = first.split('-').collect();
    if let [y, m, rest @ ..] = parts.as_slice() {
        let (y, m) = (year(y)?, m.parse::<u32>().ok()?);
        let start = match rest {
            [] => NaiveDate::from_ymd_opt(y, m, 1)?,
            [d] => NaiveDate::from_ymd_opt(y, m, d.parse().ok()?)?,
            _ => return None,
        };
        let end = if rest.is_empty() {
            start + Months::new(1)
        } else {
            start + Duration::days(1)
        };
        return Some(fixed(start, end, first.to_string(), 1));
    }
    // 5 March 2024
    if let (Some(d), Some(m), Some(y)) =
        (day_of(first), month_number(word(i + 1)), year(word(i + 2)))
    {
        let start = NaiveDate::from_ymd_opt(y, m, d)?;
        return Some(fixed(
            start,
            start + Duration::days(1),
            start.to_string(),
            3,
        ));
    }
    // Q3 2024, or "Q3" alone in the anchor's year.
    if let Some(q) = first.strip_prefix('q').and_then(|q| q.parse::<u32>().ok()) {
        if (1..=4).contains(&q) {
            let (y, len) = match year(word(i + 1)) {
                Some(y) => (y, 2),
                None => (anchor.year(), 1),
            };
            let start = ymd(y, (q - 1) * 3 + 1, 1);
            return Some(Period {
                start,
                end: start + Months::new(3),
                label: format!("Q{q} {y}"),
                relative: len == 1,
                len,
            });
        }
    }
    // March 5 2024, March 2024, March of 2024, or "March" alone (the latest March).
    if let Some(m) = month_number(first) {
        if let (Some(d), Some(y)) = (day_of(word(i + 1)), year(word(i + 2))) {
            let start = NaiveDate::from_ymd_opt(y, m, d)?;
            return Some(fixed(
                start,
                start + Duration::days(1),
                start.to_string(),
                3,
            ));
        }
        let (y, len) = match year(word(i + 1)) {
            Some(y) => (Some(y), 2),
            None if word(i + 1) == "of" && year(word(i + 2)).is_some() => (year(word(i + 2)), 3),
            None => (None, 1),
        };
        let y = y.unwrap_or_else(|| {
            if m <= anchor.month() {
                anchor.year()
            } else {
                anchor.year() - 1
            }
        });
        let start = ymd(y, m, 1);
        let name = crate::pipeline::text::title_case(MONTHS[m as usize - 1]);
        return Some(Period {
            start,
            end: start + Months::new(1),
            label: format!("{name} {y}"),
            relative: len == 1,
            len,
        });
    }
    // the 1990s
    if let Some(decade) = first
        .strip_suffix('s')
        .and_then(year)
        .filter(|y| y % 10 == 0)
    {
        return Some(fixed(
            ymd(decade, 1, 1),
            ymd(decade + 10, 1, 1),
            format!("{decade}s"),
            1,
        ));
    }
    let y = year(first)?;
    Some(fixed(ymd(y, 1, 1), ymd(y + 1, 1, 1), y.to_string(), 1))
}
