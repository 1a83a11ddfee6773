//! Numeric conditions in questions: "more than 20 mm of precipitation", "body mass over 5000",
//! "at least 210 mm", "between 2 and 3 litres". Found in two passes: the comparison and its
//! number first (so the number is never read as a value or a count), then the column it is
//! about, which must stand right before the comparison or right after its number.

use super::text::number_value;
use serde::{Deserialize, Serialize};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    /// Inclusive at both ends.
    Between,
}

impl Op {
    pub fn words(self) -> &'static str {
        match self {
            Op::Gt => "more than",
            Op::Ge => "at least",
            Op::Lt => "less than",
            Op::Le => "at most",
            Op::Eq => "exactly",
            Op::Between => "between",
        }
    }
}

/// A comparison found in the question, not yet tied to a column.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub op: Op,
    pub value: f64,
    /// The upper bound of `Between`.
    pub upper: Option<f64>,
    /// The comparison words and the number(s).
    pub span: Range<usize>,
}

/// Comparison phrases, longest first so "no more than" wins over "more than".
const PHRASES: &[(&[&str], Op)] = &[
    (&["no", "more", "than"], Op::Le),
    (&["no", "less", "than"], Op::Ge),
    (&["not", "more", "than"], Op::Le),
    (&["not", "less", "than"], Op::Ge),
    (&["more", "than"], Op::Gt),
    (&["greater", "than"], Op::Gt),
    (&["higher", "than"], Op::Gt),
    (&["larger", "than"], Op::Gt),
    (&["bigger", "than"], Op::Gt),
    (&["longer", "than"], Op::Gt),
    (&["heavier", "than"], Op::Gt),
    (&["less", "than"], Op::Lt),
    (&["fewer", "than"], Op::Lt),
    (&["lower", "than"], Op::Lt),
    (&["smaller", "than"], Op::Lt),
    (&["shorter", "than"], Op::Lt),
    (&["lighter", "than"], Op::Lt),
    (&["at", "least"], Op::Ge),
    (&["at", "most"], Op::Le),
    (&["or", "more"], Op::Ge),
    (&["equal", "to"], Op::Eq),
    (&["over"], Op::Gt),
    (&["above"], Op::Gt),
    (&["exceeding"], Op::Gt),
    (&["under"], Op::Lt),
    (&["below"], Op::Lt),
    (&["exactly"], Op::Eq),
    (&["between"], Op::Between),
];

/// Every comparison with its number(s), skipping tokens already used.
pub fn find(tokens: &[String], used: &[bool]) -> Vec<Comparison> {
    let free = |i: usize| i < tokens.len() && !used[i];
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let hit = PHRASES.iter().find(|(phrase, _)| {
            phrase
                .iter()
                .enumerate()
                .all(|(k, w)| free(i + k) && tokens[i + k] == *w)
        });
        let Some((phrase, op)) = hit else {
            i += 1;
            continue;
        };
        let at = i + phrase.len();
        let number = |j: usize| {
            if free(j) {
                number_value(&tokens[j])
            } else {
                None
            }
        };
        let comparison = match op {
            // "20 or more": the number comes first.
            Op::Ge if phrase[0] == "or" => i
                .checked_sub(1)
                .and_then(|j| number(j).map(|n| (j, n)))
                .map(|(j, value)| Comparison {
                    op: Op::Ge,
                    value,
                    upper: None,
                    span: j..at,
                }),
            Op::Between => match (
                number(at),
                tokens.get(at + 1).map(String::as_str),
                number(at + 2),
            ) {
                (Some(low), Some("and" | "to"), Some(high)) if low <= high => Some(Comparison {
                    op: Op::Between,
                    value: low,
                    upper: Some(high),
                    span: i..at + 3,
                }),
                _ => None,
            },
            op => number(at).map(|value| Comparison {
                op: *op,
                value,
                upper: None,
                span: i..at + 1,
            }),
        };
        match comparison {
            Some(c) => {
                i = c.span.end;
                found.push(c);
            }
            None => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::text::words;

    fn ops(question: &str) -> Vec<(Op, f64, Option<f64>)> {
        let tokens = words(question);
        find(&tokens, &vec![false; tokens.len()])
            .into_iter()
            .map(|c| (c.op, c.value, c.upper))
            .collect()
    }

    #[test]
    fn comparisons_and_their_numbers() {
        assert_eq!(ops("days with more than 20 mm"), [(Op::Gt, 20.0, None)]);
        assert_eq!(ops("at least 210 mm"), [(Op::Ge, 210.0, None)]);
        assert_eq!(ops("no more than 5,000 g"), [(Op::Le, 5000.0, None)]);
        assert_eq!(
            ops("between 2 and 3.5 litres"),
            [(Op::Between, 2.0, Some(3.5))]
        );
        assert_eq!(ops("6 or more cylinders"), [(Op::Ge, 6.0, None)]);
        assert_eq!(ops("sales over time"), []);
        assert_eq!(
            ops("between 2022 and 2023"),
            [(Op::Between, 2022.0, Some(2023.0))]
        );
    }
}
