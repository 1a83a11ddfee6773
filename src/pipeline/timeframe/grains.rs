//! How a question groups time: by a grain ("by month", "weekly", "the best quarter") or by a
//! recurring part of the calendar ("by month of the year").

use super::{Cycle, Grain};
use crate::pipeline::text::number_word;
use std::ops::Range;

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
                crate::pipeline::text::quantity_superlative(w, before(2).unwrap_or("")).is_some()
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
            // "by region and year": the second of two groupings one "by" asks for.
            let grouped_before = (2..=5).any(|back| matches!(before(back), Some("by" | "per")));
            if before(1) == Some("and") && grouped_before {
                return Some((grain, i - 1..i + 1));
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
