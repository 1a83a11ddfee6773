//! Time in questions: ranges ("last 30 days", "in 2023", "Q3 2024", "this month") and grains
//! ("by month", "week by week"). Relative ranges are resolved against an anchor day: today, or
//! the last day of data when the data ends before today (the explanation says so).

use super::text::number_word;
use chrono::{Datelike, Duration, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A half-open range of days: `start <= day < end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// How a person would say it: "Last 30 days", "2023", "Q3 2024".
    pub label: String,
    /// Resolved against the anchor day (so it depends on when the data ends).
    pub relative: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grain {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Grain {
    pub fn unit(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }

    /// `to_char` format of a period label.
    pub fn format(self) -> &'static str {
        match self {
            Grain::Day | Grain::Week => "YYYY-MM-DD",
            Grain::Month => "YYYY-MM",
            Grain::Quarter => "YYYY-\"Q\"Q",
            Grain::Year => "YYYY",
        }
    }

    pub fn parse(word: &str) -> Option<Grain> {
        Some(match word {
            "day" | "days" | "daily" | "date" | "dates" => Grain::Day,
            "week" | "weeks" | "weekly" => Grain::Week,
            "month" | "months" | "monthly" => Grain::Month,
            "quarter" | "quarters" | "quarterly" => Grain::Quarter,
            "year" | "years" | "yearly" | "annual" | "annually" => Grain::Year,
            _ => return None,
        })
    }
}

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

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
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
        let opens = matches!(word(i), "between" | "from");
        if let Some(first) = period(tokens, i + usize::from(opens), anchor) {
            let after = i + usize::from(opens) + first.len;
            if matches!(word(after), "and" | "to" | "through" | "until" | "thru")
                && (opens || word(after) != "and")
            {
                if let Some(second) = period(tokens, after + 1, anchor) {
                    if first.start < second.end {
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
                        return Some((range, i..after + 1 + second.len));
                    }
                }
            }
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
            let range = TimeRange {
                start: p.start,
                end: p.end,
                label: p.label,
                relative: p.relative,
            };
            return Some((range, i..i + p.len));
        }
    }
    None
}

/// A recurring part of the calendar that groups across years: every January together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cycle {
    MonthOfYear,
    DayOfWeek,
}

impl Cycle {
    /// "month of the year", as said in answers.
    pub fn name(self) -> &'static str {
        match self {
            Cycle::MonthOfYear => "month of the year",
            Cycle::DayOfWeek => "day of the week",
        }
    }

    /// One of its groups: "month", "weekday".
    pub fn unit(self) -> &'static str {
        match self {
            Cycle::MonthOfYear => "month",
            Cycle::DayOfWeek => "weekday",
        }
    }

    /// SQL alias of its label column.
    pub fn alias(self) -> &'static str {
        match self {
            Cycle::MonthOfYear => "month_of_year",
            Cycle::DayOfWeek => "day_of_week",
        }
    }

    /// `to_char` formats of its label ("January") and of its order ("01").
    pub fn formats(self) -> (&'static str, &'static str) {
        match self {
            Cycle::MonthOfYear => ("Month", "MM"),
            Cycle::DayOfWeek => ("Day", "ID"),
        }
    }
}

/// "by month of the year", "per day of week", "by weekday", "each calendar month".
pub fn find_cycle(tokens: &[String], used: &[bool]) -> Option<(Cycle, Range<usize>)> {
    let word = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    for i in 0..tokens.len() {
        if used[i] {
            continue;
        }
        let (cycle, len) = match (word(i), word(i + 1), word(i + 2), word(i + 3)) {
            ("month" | "months", "of", "the", "year") => (Cycle::MonthOfYear, 4),
            ("month" | "months", "of", "year", _) => (Cycle::MonthOfYear, 3),
            ("calendar", "month" | "months", _, _) => (Cycle::MonthOfYear, 2),
            ("day" | "days", "of", "the", "week") => (Cycle::DayOfWeek, 4),
            ("day" | "days", "of", "week", _) => (Cycle::DayOfWeek, 3),
            ("weekday" | "weekdays" | "dow", _, _, _) => (Cycle::DayOfWeek, 1),
            _ => continue,
        };
        // Include the "by"/"per"/"each" that asks for the grouping.
        let start = match i.checked_sub(1) {
            Some(before) if !used[before] && matches!(word(before), "by" | "per" | "each") => {
                before
            }
            _ => i,
        };
        if used[i..i + len].iter().any(|u| *u) {
            continue;
        }
        return Some((cycle, start..i + len));
    }
    None
}

/// The bounds of ranges open on one side ("before 1990"): dates compare as ISO text in SQL.
pub const OPEN_START: NaiveDate = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
pub const OPEN_END: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();

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

/// The grain asked for ("by month", "monthly", "week by week", "over time"), skipping used tokens.
pub fn find_grain(tokens: &[String], used: &[bool]) -> Option<(Grain, Range<usize>)> {
    let free = |i: usize| !used.get(i).copied().unwrap_or(true);
    for i in 0..tokens.len() {
        if !free(i) {
            continue;
        }
        let word = tokens[i].as_str();
        // "monthly", "weekly", … alone.
        if matches!(
            word,
            "daily" | "weekly" | "monthly" | "quarterly" | "yearly" | "annually"
        ) {
            return Grain::parse(word).map(|g| (g, i..i + 1));
        }
        // "by month", "per week", "each quarter", "every year", "month by month".
        if matches!(word, "by" | "per" | "each" | "every" | "a") && free(i + 1) {
            if let Some(grain) = tokens.get(i + 1).and_then(|w| Grain::parse(w)) {
                return Some((grain, i..i + 2));
            }
        }
        if let Some(grain) = Grain::parse(word) {
            // "best month", "top 3 quarters", "worst week": a ranking of periods.
            let before = |back: usize| i.checked_sub(back).map(|j| tokens[j].as_str());
            let ranked = |w: Option<&str>| {
                matches!(
                    w,
                    Some("top" | "best" | "worst" | "bottom" | "highest" | "lowest" | "biggest")
                )
            };
            // "which month had the most …": the periods, to be ranked.
            let asked = matches!(before(1), Some("which" | "what"));
            // "the hottest day", "top 5 windiest days": periods ranked by a quantity.
            let by_quantity = before(1).is_some_and(|w| {
                super::text::quantity_superlative(w, before(2).unwrap_or("")).is_some()
            });
            if asked
                || by_quantity
                || ranked(before(1))
                || (before(1).and_then(number_word).is_some() && ranked(before(2)))
            {
                return Some((grain, i..i + 1));
            }
            if tokens.get(i + 1).map(String::as_str) == Some("by")
                && tokens.get(i + 2).and_then(|w| Grain::parse(w)) == Some(grain)
            {
                return Some((grain, i..i + 3));
            }
            if tokens.get(i + 1).map(String::as_str) == Some("over")
                && tokens.get(i + 2).and_then(|w| Grain::parse(w)) == Some(grain)
            {
                return Some((grain, i..i + 3));
            }
        }
        if (word == "over" && tokens.get(i + 1).map(String::as_str) == Some("time"))
            || word == "trend"
        {
            let len = if word == "over" { 2 } else { 1 };
            return Some((Grain::Month, i..i + len));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::text::words;

    fn range(q: &str) -> TimeRange {
        find_range(&words(q), ymd(2024, 12, 31)).unwrap().0
    }

    #[test]
    fn ranges() {
        let r = range("sales in the last 30 days");
        assert_eq!((r.start, r.end), (ymd(2024, 12, 2), ymd(2025, 1, 1)));
        assert_eq!(r.label, "Last 30 days");
        let r = range("average order value last year");
        assert_eq!((r.start, r.end), (ymd(2023, 1, 1), ymd(2024, 1, 1)));
        let r = range("how many orders in 2023");
        assert_eq!(
            (r.start, r.end, r.label.as_str()),
            (ymd(2023, 1, 1), ymd(2024, 1, 1), "2023")
        );
        let r = range("this month");
        assert_eq!((r.start, r.end), (ymd(2024, 12, 1), ymd(2025, 1, 1)));
        let r = range("sales in Q3 2024");
        assert_eq!((r.start, r.end), (ymd(2024, 7, 1), ymd(2024, 10, 1)));
        let r = range("sales in march 2023");
        assert_eq!(
            (r.start, r.end, r.label.as_str()),
            (ymd(2023, 3, 1), ymd(2023, 4, 1), "March 2023")
        );
        let r = range("last month");
        assert_eq!((r.start, r.end), (ymd(2024, 11, 1), ymd(2024, 12, 1)));
        assert!(find_range(&words("sales by region"), ymd(2024, 12, 31)).is_none());
    }

    #[test]
    fn days_spans_and_open_ranges() {
        let span = |q: &str| {
            let r = range(q);
            (r.start, r.end, r.label)
        };
        let day = ymd(2014, 7, 4);
        let next = ymd(2014, 7, 5);
        assert_eq!(span("rain on 2014-07-04"), (day, next, "2014-07-04".into()));
        assert_eq!(
            span("rain on July 4, 2014"),
            (day, next, "2014-07-04".into())
        );
        assert_eq!(
            span("rain on 4 July 2014"),
            (day, next, "2014-07-04".into())
        );
        assert_eq!(
            span("sales in 2013-02"),
            (ymd(2013, 2, 1), ymd(2013, 3, 1), "2013-02".into())
        );
        assert_eq!(
            span("from March 2013 to May 2013"),
            (
                ymd(2013, 3, 1),
                ymd(2013, 6, 1),
                "March 2013 to May 2013".into()
            )
        );
        assert_eq!(
            span("between 2013-01-05 and 2013-01-10"),
            (
                ymd(2013, 1, 5),
                ymd(2013, 1, 11),
                "2013-01-05 to 2013-01-10".into()
            )
        );
        assert_eq!(
            span("between 2001 and 2003"),
            (ymd(2001, 1, 1), ymd(2004, 1, 1), "2001–2003".into())
        );
        assert_eq!(
            span("unemployment in the 1990s"),
            (ymd(1990, 1, 1), ymd(2000, 1, 1), "1990s".into())
        );
        assert_eq!(
            span("before 1990"),
            (OPEN_START, ymd(1990, 1, 1), "Before 1990".into())
        );
        assert_eq!(
            span("after June 2005"),
            (ymd(2005, 7, 1), OPEN_END, "After June 2005".into())
        );
        // A later end than start is required; "2 to 3" is no span of years.
        assert!(find_range(&words("2023 to 2021"), ymd(2024, 1, 1))
            .is_some_and(|(r, _)| r.label == "2023"));
    }

    #[test]
    fn grains() {
        let grain = |q: &str| {
            let tokens = words(q);
            find_grain(&tokens, &vec![false; tokens.len()]).map(|(g, _)| g)
        };
        assert_eq!(grain("total sales by month"), Some(Grain::Month));
        assert_eq!(
            grain("can you break that down week by week"),
            Some(Grain::Week)
        );
        assert_eq!(grain("quarterly revenue"), Some(Grain::Quarter));
        assert_eq!(grain("sales by region"), None);
    }
}
