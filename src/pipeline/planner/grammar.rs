//! The grammar words of a question, read after its columns, values and periods: the
//! aggregation ("average", "median", "90th percentile"), counting ("how many", "number of"),
//! rankings ("top 5", "highest", "heaviest"), "when", a share or change asked for, and the
//! words that refer back to the previous question ("that", "now", "instead").

use super::concepts::{Concept, Found};
use super::derived::Asked;
use super::ranking::ranking_count;
use super::Agg;
use crate::model::ColumnRole;
use crate::pipeline::text::{number_word, quantity_superlative, superlative};

/// A ranking as worded: (descending, how many if said, said only by a superlative).
pub(super) type RankingWords = (bool, Option<usize>, bool);

/// What the grammar words said.
pub(super) struct Grammar {
    pub(super) agg: Option<Agg>,
    pub(super) asks_when: bool,
    pub(super) counting: bool,
    pub(super) ranking: Option<RankingWords>,
    /// (position, quantity words, ranks downwards) of an adjective such as "heaviest".
    pub(super) adjective: Option<(usize, &'static [&'static str], bool)>,
    /// (position, what) of "share" or "change".
    pub(super) derived_asked: Option<(usize, Asked)>,
    pub(super) refers_back: bool,
    /// Where a superlative such as "largest" or "most" was said.
    pub(super) superlative_at: Option<usize>,
}

/// Reads the unused words, marking those it recognizes.
pub(super) fn read(
    tokens: &[String],
    used: &mut [bool],
    found: &[Found<'_>],
    has_time: bool,
) -> Grammar {
    let word = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    let mut agg: Option<Agg> = None;
    let mut asks_when = false;
    let mut counting = false;
    let mut refers_back = false;
    let mut superlative_at = None;
    // Two different aggregations ("maximum median …") leave the second one unread.
    let set_agg = |agg: &mut Option<Agg>, new: Agg| match agg {
        Some(old) if *old != new => false,
        _ => {
            *agg = Some(new);
            true
        }
    };
    let measure_at = |i: usize| {
        found.iter().any(|f| {
            f.span.start == i
                && matches!(&f.concept, Concept::Column(c) if c.role == ColumnRole::Measure)
        })
    };
    let mut ranking: Option<RankingWords> = None;
    let before = |i: usize| i.checked_sub(1).map_or("", word);
    // (position, quantity words, ranks downwards) of an adjective such as "heaviest".
    let mut adjective: Option<(usize, &'static [&'static str], bool)> = None;
    // (position, what) of "share" or "change".
    let mut derived_asked: Option<(usize, Asked)> = None;
    for (i, slot) in used.iter_mut().enumerate() {
        if *slot {
            continue;
        }
        let recognized = match word(i) {
            "average" | "avg" | "mean" => set_agg(&mut agg, Agg::Avg),
            "median" => set_agg(&mut agg, Agg::Median),
            // "90th percentile", "the 25th percentile of price".
            w if percentile_at(w, word(i + 1)).is_some() => set_agg(
                &mut agg,
                Agg::Percentile(percentile_at(w, word(i + 1)).unwrap()),
            ),
            "percentile" if percentile_at(before(i), "percentile").is_some() => true,
            "quartile" if matches!(before(i), "upper" | "lower" | "first" | "third") => true,
            w @ ("upper" | "lower" | "first" | "third") if word(i + 1) == "quartile" => {
                let p = if matches!(w, "upper" | "third") {
                    75
                } else {
                    25
                };
                set_agg(&mut agg, Agg::Percentile(p))
            }
            // "Total" only says to add up what adds up; it never overrides another aggregation.
            "total" | "sum" => {
                agg = agg.or(Some(Agg::Sum));
                true
            }
            "count" | "many" => {
                counting = true;
                true
            }
            // "Number of unemployed" names a measure holding a number; "number of cars" counts.
            "number" if word(i + 1) == "of" => {
                counting = !measure_at(i + 2);
                true
            }
            "minimum" | "min" => set_agg(&mut agg, Agg::Min),
            "maximum" | "max" => set_agg(&mut agg, Agg::Max),
            "when" if has_time => {
                asks_when = true;
                true
            }
            w @ ("top" | "best" | "bottom" | "worst") => {
                let n = number_word(word(i + 1));
                ranking = Some((matches!(w, "top" | "best"), n, false));
                true
            }
            // "heaviest", "most expensive": a ranking by the quantity the adjective is about.
            w if quantity_superlative(w, before(i)).is_some() => {
                let (quantities, descending) = quantity_superlative(w, before(i)).unwrap();
                let n = ranking
                    .and_then(|r| r.1)
                    .or_else(|| ranking_count(before(i)))
                    .or_else(|| ranking_count(word(i + 1)));
                ranking = Some((descending, n, ranking.is_none_or(|r| r.2)));
                adjective = Some((i, quantities, descending));
                true
            }
            // "most" of "top 5 most expensive" belongs to the adjective; the ranking stays.
            w if superlative(w).is_some()
                && (ranking.is_none() || quantity_superlative(word(i + 1), w).is_some()) =>
            {
                let descending = superlative(w) == Some(true);
                let n = ranking_count(before(i)).or_else(|| ranking_count(word(i + 1)));
                ranking = ranking.or(Some((descending, n, true)));
                superlative_at = superlative_at.or(Some(i));
                true
            }
            w if Asked::of(w).is_some() && derived_asked.is_none() => {
                derived_asked = Asked::of(w).map(|asked| (i, asked));
                true
            }
            "that" | "it" | "those" | "them" | "now" | "instead" | "only" | "same" | "also" => {
                refers_back = true;
                true
            }
            // "What about quantity", "how about 2023": the last question, changed.
            "about" if matches!(before(i), "what" | "how") => {
                refers_back = true;
                true
            }
            _ => false,
        };
        *slot = recognized;
    }
    Grammar {
        agg,
        asks_when,
        counting,
        ranking,
        adjective,
        derived_asked,
        refers_back,
        superlative_at,
    }
}

/// The percentile an ordinal before "percentile" names: "90th" → 90.
fn percentile_at(word: &str, next: &str) -> Option<u8> {
    if next != "percentile" {
        return None;
    }
    let digits = word
        .strip_suffix("th")
        .or_else(|| word.strip_suffix("st"))
        .or_else(|| word.strip_suffix("nd"))
        .or_else(|| word.strip_suffix("rd"))?;
    digits.parse::<u8>().ok().filter(|p| (1..=99).contains(p))
}
