//! Words and fuzzy matching for the planner: tokenizing questions and names alike, and deciding
//! whether a word of a question means a word of the schema (plurals and small typos allowed).

/// Lower-case alphanumeric words; every other character separates words ("QUICK-Stop" → quick,
/// stop), except a point or comma inside a number ("2.5", "5,000" stay one word).
pub fn words(text: &str) -> Vec<String> {
    split_words(text, true)
}

/// The same words as [`words`], as written: "IN" stays "IN" (a state, not the preposition).
pub fn words_as_written(text: &str) -> Vec<String> {
    split_words(text, false)
}

fn split_words(text: &str, lower: bool) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, c) in chars.iter().enumerate() {
        let inside_number = matches!(c, '.' | ',')
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())
            && current
                .chars()
                .all(|d| d.is_ascii_digit() || d == '.' || d == ',');
        // ISO dates stay one word: 2024-03-05, 2024-03.
        let inside_date = *c == '-'
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())
            && (current.len() == 4 || current.len() == 7)
            && current.chars().all(|d| d.is_ascii_digit() || d == '-')
            && current.chars().take(4).all(|d| d.is_ascii_digit());
        if c.is_alphanumeric() || inside_number || inside_date {
            if lower {
                current.extend(c.to_lowercase());
            } else {
                current.push(*c);
            }
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A number written in a question ("5000", "5,000", "2.5", "-3"), or a number word.
pub fn number_value(word: &str) -> Option<f64> {
    let plain = word.replace(',', "");
    if let Ok(n) = plain.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    number_word(word).map(|n| n as f64)
}

/// Words that carry the question's grammar, never fuzzily taken for names or values.
const PROTECTED: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "also",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "average",
    "avg",
    "before",
    "best",
    "between",
    "biggest",
    "bottom",
    "break",
    "breakdown",
    "by",
    "can",
    "change",
    "compare",
    "count",
    "daily",
    "data",
    "day",
    "days",
    "did",
    "do",
    "does",
    "down",
    "during",
    "each",
    "ever",
    "fewest",
    "for",
    "from",
    "give",
    "great",
    "had",
    "has",
    "have",
    "highest",
    "how",
    "i",
    "in",
    "instead",
    "is",
    "it",
    "just",
    "largest",
    "last",
    "least",
    "list",
    "lowest",
    "many",
    "max",
    "maximum",
    "me",
    "mean",
    "min",
    "minimum",
    "month",
    "monthly",
    "months",
    "most",
    "much",
    "my",
    "now",
    "number",
    "of",
    "on",
    "only",
    "or",
    "our",
    "over",
    "past",
    "per",
    "please",
    "quarter",
    "quarterly",
    "quarters",
    "same",
    "show",
    "since",
    "smallest",
    "so",
    "sum",
    "tell",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "these",
    "this",
    "those",
    "to",
    "top",
    "total",
    "trend",
    "us",
    "versus",
    "vs",
    "was",
    "we",
    "week",
    "weekly",
    "weeks",
    "were",
    "what",
    "when",
    "which",
    "who",
    "why",
    "with",
    "worst",
    "year",
    "yearly",
    "years",
    "you",
    "your",
];

pub fn is_protected(word: &str) -> bool {
    PROTECTED.contains(&word)
}

/// How well a question word matches a schema word: exact 3, plural/singular 2, typo 1, else 0.
pub fn word_match(question: &str, schema: &str) -> u8 {
    if question == schema {
        return 3;
    }
    if abbreviates(question, schema) || abbreviates(schema, question) {
        return 2;
    }
    // "European" cars are from Europe, "Japanese" ones from Japan.
    if schema.len() >= 4
        && ["an", "ese"]
            .iter()
            .any(|suffix| question.strip_suffix(suffix) == Some(schema))
    {
        return 2;
    }
    if singular(question) == singular(schema) {
        return 2;
    }
    if is_protected(question) || question.chars().any(|c| c.is_ascii_digit()) {
        return 0;
    }
    let shorter = question.chars().count().min(schema.chars().count());
    let allowed = match shorter {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    };
    if allowed > 0 && strsim::damerau_levenshtein(question, schema) <= allowed {
        // Typos must keep the first letter: "regoin" → region, but not "sales" → "tales".
        if question.chars().next() == schema.chars().next() {
            return 1;
        }
    }
    0
}

/// Common short forms of schema words ("max temperature" names "maximum temperature").
fn abbreviates(short: &str, long: &str) -> bool {
    const SHORT: &[(&str, &str)] = &[
        ("max", "maximum"),
        ("min", "minimum"),
        ("avg", "average"),
        ("temp", "temperature"),
        ("qty", "quantity"),
        ("no", "number"),
        ("pct", "percent"),
        ("amt", "amount"),
    ];
    SHORT.contains(&(short, long))
}

/// A crude singular form: enough for "customers", "regions", "categories", "boxes".
pub fn singular(word: &str) -> &str {
    if word.len() > 4 && word.ends_with("ies") {
        // "categories" → "categor" compares equal to "category" → "categor" below.
        return &word[..word.len() - 3];
    }
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        return &word[..word.len() - 1];
    }
    if word.len() > 3 && word.ends_with('y') {
        return &word[..word.len() - 1];
    }
    word
}

/// Whether a word looks plural ("customers" yes, "sales" counts as a mass noun here too).
pub fn is_plural(word: &str) -> bool {
    word.len() > 3 && word.ends_with('s') && !word.ends_with("ss")
}

/// Matches `phrase` at `tokens[start..]`; returns the summed word scores (0 if no match).
pub fn phrase_score(tokens: &[String], start: usize, phrase: &[String]) -> u32 {
    if phrase.is_empty() || start + phrase.len() > tokens.len() {
        return 0;
    }
    let mut total = 0u32;
    for (offset, word) in phrase.iter().enumerate() {
        let score = word_match(&tokens[start + offset], word);
        if score == 0 {
            return 0;
        }
        total += score as u32;
    }
    // A one-word fuzzy match of a short word is too weak to trust.
    if phrase.len() == 1 && total == 1 && tokens[start].chars().count() < 5 {
        return 0;
    }
    total
}

/// A superlative and whether it ranks downwards: "highest" → `Some(true)`, "fewest" → `Some(false)`.
pub fn superlative(word: &str) -> Option<bool> {
    match word {
        "highest" | "largest" | "biggest" | "most" => Some(true),
        "lowest" | "smallest" | "least" | "fewest" => Some(false),
        _ => None,
    }
}

/// Superlatives of size, which can describe a value itself ("lowest city mpg"); "most" and
/// "fewest" only rank things.
pub fn is_size_superlative(word: &str) -> bool {
    superlative(word).is_some() && !matches!(word, "most" | "least" | "fewest")
}

/// Adjectives that rank by a quantity: the words such a quantity's column is named by, and
/// whether the adjective's superlative ranks downwards ("heaviest" → weight, mass; highest
/// first). Base forms are for "most expensive", "least windy".
const QUANTITY_ADJECTIVES: &[(&[&str], &str, bool, &[&str])] = &[
    // (superlatives, base form, ranks downwards, quantity words)
    (&["heaviest"], "heavy", true, &["weight", "mass"]),
    (&["lightest"], "light", false, &["weight", "mass"]),
    (
        &["priciest", "costliest"],
        "expensive",
        true,
        &["price", "cost"],
    ),
    (&["cheapest"], "cheap", false, &["price", "cost"]),
    (
        &["hottest", "warmest"],
        "hot",
        true,
        &["temperature", "temp"],
    ),
    (
        &["coldest", "coolest"],
        "cold",
        false,
        &["temperature", "temp"],
    ),
    (&["windiest"], "windy", true, &["wind"]),
    (
        &["rainiest", "wettest"],
        "rainy",
        true,
        &["precipitation", "rain", "rainfall"],
    ),
    (
        &["driest"],
        "dry",
        false,
        &["precipitation", "rain", "rainfall"],
    ),
    (&["longest"], "long", true, &["length", "duration"]),
    (&["shortest"], "short", false, &["length", "duration"]),
    (&["tallest"], "tall", true, &["height"]),
    (&["widest"], "wide", true, &["width"]),
    (&["narrowest"], "narrow", false, &["width"]),
    (&["deepest"], "deep", true, &["depth"]),
    (&["fastest"], "fast", true, &["speed"]),
    (&["slowest"], "slow", false, &["speed"]),
    (&["oldest"], "old", true, &["age"]),
    (&["youngest"], "young", false, &["age"]),
];

/// An adjective that ranks by a quantity: "heaviest" → (["weight", "mass"], true); with
/// `before` "most"/"least", its base form too ("most expensive", "least windy").
pub fn quantity_superlative(word: &str, before: &str) -> Option<(&'static [&'static str], bool)> {
    QUANTITY_ADJECTIVES
        .iter()
        .find_map(|(superlatives, base, descending, quantities)| {
            if superlatives.contains(&word) {
                Some((*quantities, *descending))
            } else if word == *base && matches!(before, "most" | "least") {
                Some((*quantities, *descending == (before == "most")))
            } else {
                None
            }
        })
}

/// Parses "3", "three", … as a count.
pub fn number_word(word: &str) -> Option<usize> {
    if let Ok(n) = word.parse::<usize>() {
        return Some(n);
    }
    const WORDS: [&str; 12] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven",
    ];
    WORDS.iter().position(|w| *w == word).or(match word {
        "twelve" | "dozen" => Some(12),
        "twenty" => Some(20),
        "fifty" => Some(50),
        "hundred" => Some(100),
        _ => None,
    })
}

/// Title case for labels: "number of orders" → "Number of Orders".
pub fn title_case(text: &str) -> String {
    const SMALL: &[&str] = &[
        "a", "an", "and", "by", "for", "in", "of", "on", "or", "per", "the", "to",
    ];
    text.split_whitespace()
        .enumerate()
        .map(|(i, word)| {
            if i > 0 && SMALL.contains(&word) {
                return word.to_string();
            }
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_names_and_values_alike() {
        assert_eq!(
            words("Sales for QUICK-Stop, by quarter?"),
            ["sales", "for", "quick", "stop", "by", "quarter"]
        );
        assert_eq!(words("Königlich Essen"), ["königlich", "essen"]);
        assert_eq!(
            words("over 2.5 carats, or 5,000 g. on 2014-07-04"),
            [
                "over",
                "2.5",
                "carats",
                "or",
                "5,000",
                "g",
                "on",
                "2014-07-04"
            ]
        );
        assert_eq!(
            words("from 2013-01 to 1-2-3"),
            ["from", "2013-01", "to", "1", "2", "3"]
        );
    }

    #[test]
    fn fuzzy_words() {
        assert_eq!(word_match("customers", "customer"), 2);
        assert_eq!(word_match("regoin", "region"), 1);
        assert_eq!(word_match("custmer", "customer"), 1);
        assert_eq!(word_match("categories", "category"), 2);
        assert_eq!(
            word_match("change", "chang"),
            0,
            "grammar words are never fuzzy"
        );
        assert_eq!(word_match("tales", "sales"), 0);
        assert_eq!(word_match("2023", "2024"), 0);
    }
}
