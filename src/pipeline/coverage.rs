//! Accounting for every word of a question: the planner marks each word it used, and what is
//! left must be filler. Any other word left over means the question says something the plan
//! would silently ignore, so the built-in analyst refuses it and names the words.

/// Words that carry no meaning for the query: articles, pronouns, auxiliaries, politeness,
/// question words and the prepositions that join the parts the planner does read.
const FILLERS: &[&str] = &[
    "a",
    "about",
    "all",
    "along",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "broken",
    "by",
    "came",
    "can",
    "come",
    "comes",
    "could",
    "did",
    "do",
    "does",
    "each",
    "every",
    "for",
    "from",
    "get",
    "give",
    "had",
    "has",
    "have",
    "here",
    "how",
    "i",
    "in",
    "into",
    "is",
    "it's",
    "its",
    "just",
    "know",
    "let",
    "like",
    "list",
    "look",
    "me",
    "my",
    "of",
    "on",
    "our",
    "out",
    "over",
    "per",
    "please",
    "s",
    "see",
    "show",
    "shown",
    "tell",
    "than",
    "the",
    "there",
    "these",
    "this",
    "to",
    "us",
    "want",
    "was",
    "we",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "who",
    "whose",
    "will",
    "with",
    "would",
    "you",
    "your",
    "across",
    "overall",
    "data",
    "value",
    "values",
    "split",
    "break",
    "down",
    "grouped",
    "group",
    "versus",
    "vs",
    "compared",
    "compare",
    "separately",
    "respectively",
    "ever",
    "recorded",
    "observed",
    "measured",
    "figure",
    "figures",
    "number",
    "amount",
    "level",
    "so",
    "far",
    "currently",
    "kindly",
    "much",
    "type",
    "types",
    "kind",
    "kinds",
    // How to show the answer, which does not change its numbers.
    "chart",
    "graph",
    "plot",
    "bar",
    "bars",
    "line",
    "pie",
    "visualize",
    "visualise",
    "draw",
    "display",
    "table",
    // Pleasantries around a question.
    "great",
    "thanks",
    "thank",
    "ok",
    "okay",
    "cool",
    "nice",
    "perfect",
    "awesome",
    "hi",
    "hello",
    "hey",
    "good",
    "wonderful",
    "excellent",
];

pub fn is_filler(word: &str) -> bool {
    FILLERS.contains(&word)
}

/// Unused words that are not filler, in question order, without repeats.
pub fn leftover(tokens: &[String], used: &[bool]) -> Vec<String> {
    let mut left: Vec<String> = Vec::new();
    for (token, used) in tokens.iter().zip(used) {
        if !used && !is_filler(token) && !left.contains(token) {
            left.push(token.clone());
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::text::words;

    #[test]
    fn only_filler_may_be_left_over() {
        let tokens = words("what is the median horsepower of ford cars");
        let mut used = vec![false; tokens.len()];
        used[4] = true; // horsepower
        assert_eq!(leftover(&tokens, &used), ["median", "ford", "cars"]);
    }
}
