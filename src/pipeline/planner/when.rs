//! When a question is about: its time range ("in 2023", "between March and May"), a grouping
//! by a recurring part of the calendar ("by month of the year"), or by a grain ("by month").

use super::read::Intent;
use crate::datasets::Profile;
use crate::pipeline::timeframe::{find_cycle, find_grain, find_range, Cycle, Grain};
use chrono::NaiveDate;
use std::ops::Range;

/// The time groupings a question asks for, on the time column.
pub(super) struct When {
    pub(super) cycle: Option<(String, Cycle)>,
    pub(super) grain: Option<(String, Grain)>,
    /// The words that asked for the grain.
    pub(super) grain_span: Option<Range<usize>>,
}

/// Reads the time range into `intent` and returns the groupings, marking the words used.
pub(super) fn read(
    tokens: &[String],
    used: &mut [bool],
    intent: &mut Intent,
    time_column: Option<&str>,
    profile: &Profile,
    anchor: NaiveDate,
) -> When {
    let mark = |used: &mut [bool], range: Range<usize>| {
        for slot in &mut used[range] {
            *slot = true;
        }
    };
    if time_column.is_some() {
        if let Some((range, span)) = find_range(tokens, anchor) {
            intent
                .understood
                .push(format!("the time frame {}", range.label));
            intent.range = Some(range);
            mark(used, span);
        }
    }
    // "By month of the year" first, so its "month" and "year" are not read as a grain.
    let mut cycle = None;
    if let Some(column) = time_column {
        if let Some((found, span)) = find_cycle(tokens, used) {
            intent
                .understood
                .push(format!("{column} by {}", found.name()));
            cycle = Some((column.to_string(), found));
            mark(used, span);
        }
    }
    let mut grain = None;
    let mut grain_span = None;
    if let Some(column) = time_column {
        if let Some((mut found, span)) = find_grain(tokens, used) {
            // "Over time" names no grain: years for long data, months otherwise.
            let unnamed = tokens[span.clone()]
                .iter()
                .all(|t| matches!(t.as_str(), "over" | "time" | "trend"));
            if let (true, Some((first, last))) = (unnamed, profile.time_range.get(column)) {
                if (*last - *first).num_days() > 5 * 366 {
                    found = Grain::Year;
                }
            }
            grain_span = Some(span.clone());
            intent
                .understood
                .push(format!("{} by {}", column, found.unit()));
            grain = Some((column.to_string(), found));
            mark(used, span);
        }
    }
    When {
        cycle,
        grain,
        grain_span,
    }
}
