//! Time in questions: ranges ("last 30 days", "in 2023", "Q3 2024", "this month") and grains
//! ("by month", "week by week"). Relative ranges are resolved against an anchor day: today, or
//! the last day of data when the data ends before today (the explanation says so).
//!
//! - `ranges`: the days a question is about (a period, a span between two, open ranges).
//! - `grains`: how it groups them (by month, by month of the year).

mod grains;
mod ranges;
#[cfg(test)]
mod tests;

pub use grains::{find_cycle, find_grain};
pub use ranges::{find_range, find_span};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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

    /// "yearly": one value per period.
    pub fn adjective(self) -> &'static str {
        match self {
            Grain::Day => "Daily",
            Grain::Week => "Weekly",
            Grain::Month => "Monthly",
            Grain::Quarter => "Quarterly",
            Grain::Year => "Yearly",
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

/// The bounds of ranges open on one side ("before 1990"): dates compare as ISO text in SQL.
pub const OPEN_START: NaiveDate = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
pub const OPEN_END: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
