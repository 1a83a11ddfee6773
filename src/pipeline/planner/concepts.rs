//! Which runs of a question's words name something of the dataset: a column (by name or
//! synonym), a value of a dimension, a business term, or the rows themselves ("penguins").

use super::{Filter, Grain};
use crate::datasets::Profile;
use crate::model::{Column, ColumnRole, ColumnType, Dataset};
use crate::pipeline::coverage;
use crate::pipeline::text::{
    is_protected, phrase_score, quantity_superlative, word_match, words, words_as_written,
};
use crate::pipeline::timeframe::find_range;

/// Something of the dataset a run of question words named.
#[derive(Debug, Clone)]
pub(super) enum Concept<'a> {
    Column(&'a Column),
    Value(&'a Column, String),
    Term(usize),
}

pub(super) struct Found<'a> {
    pub(super) concept: Concept<'a>,
    /// The question's last word of the match ("customers" in "top customers").
    pub(super) last_word: String,
    /// Token positions of the match.
    pub(super) span: std::ops::Range<usize>,
}

/// Generic names of a table's rows, counted when asked "how many".
pub(super) const ROW_NOUNS: &[&str] = &["row", "record", "entry", "entries", "observation", "item"];

/// The words of a column's name and synonyms.
pub(super) fn column_words(column: &Column) -> impl Iterator<Item = String> + '_ {
    words(&column.name.replace('_', " "))
        .into_iter()
        .chain(column.synonyms.iter().flat_map(|s| words(s)))
}

/// Words of a column's meaning next to where the column is named only describe it further
/// ("engine" in "engine displacement" when the meaning is "Engine displacement").
pub(super) fn absorb_descriptions(tokens: &[String], used: &mut [bool], found: &[Found<'_>]) {
    for item in found {
        let Concept::Column(column) = &item.concept else {
            continue;
        };
        let described: Vec<String> = column
            .meaning
            .iter()
            .flat_map(|m| words(m))
            // Grammar words ("Highest temperature of the day") keep their meaning.
            .filter(|w| !coverage::is_filler(w) && !is_protected(w))
            .collect();
        let mut absorb = |i: usize| {
            if !used[i] && described.iter().any(|w| word_match(&tokens[i], w) >= 2) {
                used[i] = true;
                true
            } else {
                false
            }
        };
        let mut before = item.span.start;
        while before > 0 && absorb(before - 1) {
            before -= 1;
        }
        let mut after = item.span.end;
        while after < tokens.len() && absorb(after) {
            after += 1;
        }
    }
}

/// Time columns with exactly one row per period, and that period: daily weather is one row
/// per day, so "the windiest day" is a row and "average wind per day" a plain average.
pub(super) fn row_periods(profile: &Profile) -> impl Iterator<Item = (&str, Grain)> + '_ {
    profile
        .one_row_per_time
        .iter()
        .filter_map(|(column, rows)| {
            let (first, last) = profile.time_range.get(column)?;
            let spacing = (*last - *first).num_days() as f64 / (*rows - 1).max(1) as f64;
            let grain = match spacing {
                s if (0.9..=1.1).contains(&s) => Grain::Day,
                s if (6.5..=7.5).contains(&s) => Grain::Week,
                s if (27.0..=32.0).contains(&s) => Grain::Month,
                s if (88.0..=93.0).contains(&s) => Grain::Quarter,
                s if (360.0..=370.0).contains(&s) => Grain::Year,
                _ => return None,
            };
            Some((column.as_str(), grain))
        })
}

/// Whether `word` names the rows only through the dataset's name while the rows repeat over
/// time (a stock in each month, a car in each model year): then counting rows would not count
/// what the word names. A description that says what a row is ("one row per car"), one row
/// per period, and generic names ("rows") are certain.
pub(super) fn rows_may_not_be(dataset: &Dataset, profile: &Profile, word: &str) -> bool {
    let said = |candidates: &[String]| candidates.iter().any(|e| word_match(word, e) >= 2);
    let mut certain: Vec<String> = ROW_NOUNS.iter().map(|w| w.to_string()).collect();
    certain.extend(row_periods(profile).map(|(_, grain)| grain.unit().to_string()));
    certain.extend(described_rows(dataset));
    let times_repeat = profile
        .time_range
        .keys()
        .any(|column| !profile.one_row_per_time.contains_key(column));
    !said(&certain) && times_repeat
}

/// What the description says a row is: "car" in "one row per car".
fn described_rows(dataset: &Dataset) -> Vec<String> {
    let tokens = dataset
        .description
        .as_deref()
        .map(words)
        .unwrap_or_default();
    tokens
        .windows(3)
        .filter(|three| three[0] == "row" && three[1] == "per")
        .map(|three| three[2].clone())
        .collect()
}

/// Words naming the dataset's rows: its name and table ("penguins"), what its description
/// says a row is ("one row per car"), and generic ones ("rows", "records").
pub(super) fn entity_words(dataset: &Dataset, profile: &Profile) -> Vec<String> {
    // The name's head noun: "Palmer Penguins" names penguins, "Order lines" lines (not
    // orders); "Cars93" names cars.
    let mut entities: Vec<String> = words(&dataset.name)
        .last()
        .map(|w| w.trim_end_matches(|c: char| c.is_ascii_digit()).to_string())
        .into_iter()
        .collect();
    // One row per day (or month…): the rows are those periods.
    entities.extend(row_periods(profile).map(|(_, grain)| grain.unit().to_string()));
    entities.extend(words(&dataset.table.replace('_', " ")).pop());
    entities.extend(described_rows(dataset));
    entities.extend(ROW_NOUNS.iter().map(|w| w.to_string()));
    entities.retain(|w| !coverage::is_filler(w) && w.chars().any(char::is_alphabetic));
    entities
}

/// How much of `question` names things of this dataset (for choosing among datasets): words
/// naming its columns, values and terms count most, then words naming its rows.
pub fn relevance(question: &str, dataset: &Dataset, profile: &Profile) -> usize {
    let tokens = words(question);
    let written = words_as_written(question);
    let mut used = vec![false; tokens.len()];
    // Dates the data covers name it as a value would ("between 2005 and 2009"): each year or
    // date written counts; a relative range ("last month") fits any dataset with dates.
    let mut score = 0;
    let covered = dataset
        .columns
        .iter()
        .filter(|c| c.role == ColumnRole::Time)
        .find_map(|c| profile.time_range.get(&c.name));
    if let Some((first, last)) = covered {
        if let Some((range, span)) = find_range(&tokens, *last) {
            if range.start <= *last && range.end > *first {
                let dates = tokens[span.clone()]
                    .iter()
                    .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
                    .count();
                score += 3 * dates.max(1);
                used[span].iter_mut().for_each(|u| *u = true);
            }
        }
    }
    let found = find_concepts(&tokens, &written, &mut used, dataset, profile);
    // "year" or "day" fits any dataset with a time column; a measure, a value or a term does not.
    let weight = |f: &Found<'_>| match &f.concept {
        Concept::Column(_) if Grain::parse(&f.last_word).is_some() => 1,
        _ => 3 * f.span.len(),
    };
    score += found.iter().map(weight).sum::<usize>();
    // "The hottest day" names temperature without saying it.
    for (i, token) in tokens.iter().enumerate() {
        let before = i.checked_sub(1).map_or("", |b| tokens[b].as_str());
        if let Some((quantities, descending)) = quantity_superlative(token, before) {
            if super::rows::adjective_column(dataset, quantities, descending, None).is_some() {
                score += 3;
            }
        }
    }
    let entities = entity_words(dataset, profile);
    score += tokens
        .iter()
        .zip(&used)
        .filter(|(t, used)| !**used && entities.iter().any(|e| word_match(t, e) >= 2))
        .count();
    score
}

/// Words that say when or how big things are, never read as part of a name ("new products"
/// are not products named "New England …").
const DESCRIBING: &[&str] = &[
    "new", "old", "recent", "current", "other", "big", "small", "large", "main", "high", "low",
];

/// Unused words that are a whole word inside values of exactly one text column ("ford" in
/// "ford pinto"), are no value themselves, and stand before a word naming the rows or a column
/// ("ford cars"): the rows whose value holds the word.
pub(super) fn words_of_values<'a>(
    tokens: &[String],
    used: &[bool],
    dataset: &'a Dataset,
    profile: &Profile,
    entities: &[String],
) -> Vec<(usize, &'a Column)> {
    let candidates: Vec<usize> = (0..tokens.len())
        .filter(|&at| {
            let token = &tokens[at];
            !used[at]
                && at + 1 < tokens.len()
                && token.chars().count() >= 3
                && token.chars().all(char::is_alphabetic)
                && !DESCRIBING.contains(&token.as_str())
                && !coverage::is_filler(token)
                && !is_protected(token)
        })
        .collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    let names_something = |word: &str| {
        entities.iter().any(|e| word_match(word, e) >= 2)
            || dataset
                .columns
                .iter()
                .any(|c| column_words(c).any(|w| word_match(word, &w) >= 2))
    };
    // The words of each text column's multi-word values.
    let inside: Vec<(&Column, std::collections::HashSet<String>)> = dataset
        .columns
        .iter()
        .filter(|column| column.kind == ColumnType::Text)
        .filter_map(|column| {
            let values = profile.values.get(&column.name)?;
            let words: std::collections::HashSet<String> = values
                .iter()
                .map(|v| words(v))
                .filter(|w| w.len() > 1)
                .flatten()
                .collect();
            Some((column, words))
        })
        .collect();
    let mut named = Vec::new();
    for at in candidates {
        if !names_something(&tokens[at + 1]) {
            continue;
        }
        let holding: Vec<&Column> = inside
            .iter()
            .filter(|(_, words)| words.contains(&tokens[at]))
            .map(|(column, _)| *column)
            .collect();
        if let [column] = holding.as_slice() {
            named.push((at, *column));
        }
    }
    named
}

/// Longest, best-scoring runs of unused words that name a term, a column or a value.
///
/// `written` are the same words as written: a value that reads as a grammar word ("IN", a
/// state) is matched only as written, never by the word ("counties in OH").
pub(super) fn find_concepts<'a>(
    tokens: &[String],
    written: &[String],
    used: &mut [bool],
    dataset: &'a Dataset,
    profile: &'a Profile,
) -> Vec<Found<'a>> {
    // (phrase words, concept, minimum words that must match: a prefix of long values counts).
    let mut phrases: Vec<(Vec<String>, Concept<'a>)> = Vec::new();
    for (index, term) in dataset.terms.iter().enumerate() {
        phrases.push((words(&term.name), Concept::Term(index)));
    }
    for column in &dataset.columns {
        phrases.push((
            words(&column.name.replace('_', " ")),
            Concept::Column(column),
        ));
        for synonym in &column.synonyms {
            phrases.push((words(synonym), Concept::Column(column)));
        }
        if let Some(values) = profile.values.get(&column.name) {
            for value in values {
                let value_words = words(value);
                if value_words.is_empty() {
                    continue;
                }
                // Long names may be given by their first two words ("Great Lakes").
                if value_words.len() > 2 {
                    phrases.push((
                        value_words[..2].to_vec(),
                        Concept::Value(column, value.clone()),
                    ));
                }
                phrases.push((value_words, Concept::Value(column, value.clone())));
            }
        }
    }

    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if used[i] {
            i += 1;
            continue;
        }
        let mut best: Option<(usize, u32, &Concept<'a>)> = None;
        for (phrase, concept) in &phrases {
            let len = phrase.len();
            if i + len > tokens.len() || used[i..i + len].iter().any(|u| *u) {
                continue;
            }
            let score = phrase_score(tokens, i, phrase);
            if score == 0 {
                continue;
            }
            // A value that reads as a grammar word or a unit ("IN", "G") only as written.
            if let Concept::Value(_, value) = concept {
                let grammar = phrase
                    .iter()
                    .all(|w| coverage::is_filler(w) || is_protected(w) || w.chars().count() <= 2);
                if grammar && written.get(i..i + len) != Some(&words_as_written(value)[..]) {
                    continue;
                }
            }
            let better = match best {
                None => true,
                Some((best_len, best_score, _)) => (len, score) > (best_len, best_score),
            };
            if better {
                best = Some((len, score, concept));
            }
        }
        match best {
            Some((len, _, concept)) => {
                for slot in &mut used[i..i + len] {
                    *slot = true;
                }
                found.push(Found {
                    concept: concept.clone(),
                    last_word: tokens[i + len - 1].clone(),
                    span: i..i + len,
                });
                i += len;
            }
            None => i += 1,
        }
    }
    found
}

/// A column two or more of whose values are named, joined by "and" or commas rather than "or":
/// the column, the word that named it, and the span of its values.
pub(super) fn values_named_each<'a>(
    tokens: &[String],
    found: &[Found<'a>],
    filters: &[Filter],
) -> Option<(&'a Column, String, std::ops::Range<usize>)> {
    filters
        .iter()
        .filter(|f| f.values.len() > 1)
        .find_map(|filter| {
            let named: Vec<&Found<'a>> = found
                .iter()
                .filter(|f| matches!(&f.concept, Concept::Value(c, _) if c.name == filter.column))
                .collect();
            let start = named.iter().map(|f| f.span.start).min()?;
            let end = named.iter().map(|f| f.span.end).max()?;
            if tokens[start..end].iter().any(|t| t == "or") {
                return None;
            }
            let Concept::Value(column, _) = &named[0].concept else {
                return None;
            };
            Some((*column, named[0].last_word.clone(), start..end))
        })
}
