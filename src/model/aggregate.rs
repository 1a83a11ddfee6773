//! How a measure's values combine when a question names no aggregation, inferred from the
//! column's own words (a rule of the domain, used at import and by store migrations alike).

use super::Aggregate;

/// Words saying a value describes one thing, so adding values up means nothing.
const NOT_ADDITIVE: &[&str] = &[
    "price",
    "prices",
    "rate",
    "rates",
    "ratio",
    "percent",
    "percentage",
    "pct",
    "share",
    "average",
    "avg",
    "mean",
    "median",
    "temperature",
    "temp",
    "score",
    "rating",
    "index",
    "speed",
    "per",
    "length",
    "width",
    "height",
    "depth",
    "size",
    "mass",
    "weight",
    "age",
    "duration",
    "latitude",
    "longitude",
    "lat",
    "lon",
    "lng",
    "density",
    "pressure",
    "humidity",
    "probability",
    "margin",
    "efficiency",
    "economy",
    "mpg",
    "grade",
    "rank",
    "percentile",
];

/// Levels: what they are at a moment, so over time the latest value stands for a period.
const LEVELS: &[&str] = &[
    "population",
    "balance",
    "headcount",
    "inventory",
    "stock",
    "unemployed",
    "employed",
    "employment",
    "employees",
    "workforce",
    "members",
    "subscribers",
    "debt",
    "reserves",
];

/// Words saying a value is an amount, a quantity or a count, which add up.
const ADDITIVE: &[&str] = &[
    "amount",
    "total",
    "sum",
    "count",
    "number",
    "quantity",
    "qty",
    "units",
    "sales",
    "sale",
    "revenue",
    "cost",
    "costs",
    "spend",
    "spending",
    "expenditure",
    "expenditures",
    "expense",
    "expenses",
    "profit",
    "income",
    "volume",
    "precipitation",
    "rainfall",
    "snowfall",
    "generation",
    "energy",
    "consumption",
    "visits",
    "clicks",
    "views",
    "orders",
    "deaths",
    "births",
    "cases",
    "passengers",
    "items",
    "sold",
    "bookings",
    "downloads",
];

/// How a measure combines when a question names no aggregation, from its name, meaning, unit
/// and synonyms. When nothing says the values add up they are averaged: an average of
/// amounts is still a true statement, a sum of temperatures is not.
pub fn infer_aggregate(
    name: &str,
    meaning: Option<&str>,
    unit: Option<&str>,
    synonyms: &[String],
) -> Aggregate {
    let mut text = name.replace('_', " ");
    for part in meaning
        .into_iter()
        .chain(unit)
        .chain(synonyms.iter().map(String::as_str))
    {
        text.push(' ');
        text.push_str(part);
    }
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    let unit = unit.unwrap_or("");
    if has(NOT_ADDITIVE) || unit.contains('%') || unit.contains('°') || unit.contains('/') {
        Aggregate::Avg
    } else if has(LEVELS) {
        Aggregate::Last
    } else if has(ADDITIVE) || is_money(unit) {
        Aggregate::Sum
    } else {
        Aggregate::Avg
    }
}

/// "$", "€", "£" or an ISO currency code ("USD").
pub fn is_money(unit: &str) -> bool {
    matches!(unit, "$" | "€" | "£" | "¥")
        || (unit.len() == 3 && unit.chars().all(|c| c.is_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(name: &str, meaning: &str, unit: &str) -> Aggregate {
        let unit = (!unit.is_empty()).then_some(unit);
        infer_aggregate(name, Some(meaning), unit, &[])
    }

    #[test]
    fn amounts_add_up_and_descriptions_of_one_thing_do_not() {
        assert_eq!(
            agg("total_sales_amount", "Order total", "USD"),
            Aggregate::Sum
        );
        assert_eq!(agg("quantity", "Units ordered", "units"), Aggregate::Sum);
        assert_eq!(agg("precipitation", "Rain that day", "mm"), Aggregate::Sum);
        assert_eq!(agg("revenue", "", "EUR"), Aggregate::Sum);
        assert_eq!(agg("price", "Price of the item", "USD"), Aggregate::Avg);
        assert_eq!(agg("temp_max", "Highest of the day", "°C"), Aggregate::Avg);
        assert_eq!(
            agg("hwy", "Highway fuel economy", "miles per gallon"),
            Aggregate::Avg
        );
        assert_eq!(agg("body_mass_g", "Body mass", "g"), Aggregate::Avg);
        assert_eq!(agg("psavert", "Savings rate", "%"), Aggregate::Avg);
        assert_eq!(agg("pop", "Total population", "thousands"), Aggregate::Last);
        assert_eq!(
            agg("displ", "Engine displacement", "litres"),
            Aggregate::Avg
        );
    }
}
