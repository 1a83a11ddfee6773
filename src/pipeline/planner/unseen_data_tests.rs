//! Readings that were wrong on data the planner was not written for (found by asking public
//! datasets new questions), each kept right by a general rule: values spelled like grammar
//! words, names that collide, rows repeating over time, dates the data covers, values said in
//! the plural, superlatives and counts about nothing named, levels, ids, "over time".

use super::tests::described;
use super::{plan, Agg, Group};
use crate::datasets::Profile;
use crate::model::ColumnType;
use crate::pipeline::sqlgen::sql;
use chrono::NaiveDate;
use std::collections::HashMap;

/// Counties of US states, described by `describe`.
fn midwest(describe: &str) -> crate::model::Dataset {
    described(
        describe,
        "midwest",
        &[
            ("county", ColumnType::Text),
            ("state", ColumnType::Text),
            ("poptotal", ColumnType::Integer),
        ],
    )
}

/// Distinct values per column, as a profile holds them.
fn values_of(columns: &[(&str, &[&str])]) -> HashMap<String, Vec<String>> {
    columns
        .iter()
        .map(|(column, values)| {
            (
                column.to_string(),
                values.iter().map(|v| v.to_string()).collect(),
            )
        })
        .collect()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

#[test]
fn a_value_spelled_like_a_grammar_word_is_matched_only_as_written() {
    let dataset = midwest("name = \"Midwest\"\ndescription = \"One row per county.\"");
    let values = values_of(&[("state", &["IN", "OH", "IL"])]);
    let profile = Profile {
        values,
        ..Profile::default()
    };
    let ask = |q: &str| {
        plan(q, &dataset, &profile, None, today())
            .unwrap_or_else(|e| panic!("{q}: {}", e.explain()))
    };
    let plan = ask("how many counties in OH");
    assert_eq!(plan.filters.len(), 1);
    assert_eq!(plan.filters[0].values, ["OH"]);
    assert!(plan.group.is_none());
    let plan = ask("how many counties in IN");
    assert_eq!(plan.filters[0].values, ["IN"]);
}

#[test]
fn a_ranking_by_names_that_collide_ranks_the_rows() {
    let dataset = midwest("name = \"Midwest\"");
    // Four counties, two of them called WAYNE.
    let values = values_of(&[("county", &["COOK", "WAYNE", "ADAMS"])]);
    let profile = Profile {
        values,
        rows: Some(4),
        ..Profile::default()
    };
    let plan = plan(
        "top 2 counties by poptotal",
        &dataset,
        &profile,
        None,
        today(),
    )
    .unwrap();
    assert!(plan.listing && plan.group.is_none());
    assert!(sql(&plan).contains("ORDER BY poptotal DESC NULLS LAST"));
}

#[test]
fn rows_repeating_over_time_are_not_counted_as_what_the_dataset_is_called() {
    let columns = [
        ("symbol", ColumnType::Text),
        ("date", ColumnType::Date),
        ("price", ColumnType::Real),
    ];
    let values = values_of(&[("symbol", &["MSFT", "AAPL"])]);
    let mut time_range = HashMap::new();
    let day = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
    time_range.insert("date".to_string(), (day(2000, 1), day(2010, 3)));
    let profile = Profile {
        values,
        time_range,
        ..Profile::default()
    };
    // A row is a stock in a month: "how many stocks" is not the number of rows.
    let stocks = described("name = \"Stocks\"", "stocks", &columns);
    let err = plan("how many stocks", &stocks, &profile, None, today()).unwrap_err();
    assert_eq!(err.leftover, ["stocks"]);
    // Said by the description, the rows are what they are.
    let described_rows = described(
        "name = \"Stocks\"\ndescription = \"Monthly closing prices, one row per stock\"",
        "stocks",
        &columns,
    );
    let plan = plan("how many stocks", &described_rows, &profile, None, today()).unwrap();
    assert_eq!(plan.measure.agg, Agg::Count);
}

#[test]
fn dates_the_data_covers_count_toward_choosing_it() {
    let prices = described(
        "name = \"Prices\"",
        "prices",
        &[("date", ColumnType::Date), ("price", ColumnType::Real)],
    );
    let day = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
    let mut time_range = HashMap::new();
    time_range.insert("date".to_string(), (day(2000), day(2010)));
    let dated = Profile {
        time_range,
        ..Profile::default()
    };
    // Years as values of a column score as much as two dates the data covers.
    let trips = described(
        "name = \"Trips\"",
        "trips",
        &[("year", ColumnType::Integer), ("miles", ColumnType::Real)],
    );
    let values = values_of(&[("year", &["2005", "2009"])]);
    let valued = Profile {
        values,
        ..Profile::default()
    };
    let question = "how did price change between 2005 and 2009";
    assert!(
        super::relevance(question, &prices, &dated) > super::relevance(question, &trips, &valued)
    );
    // Dates the data does not cover count for nothing.
    assert_eq!(super::relevance("anything in 1980", &prices, &dated), 0);
}

#[test]
fn a_value_in_the_plural_names_the_rows_counted_and_by_groups() {
    let dataset = described(
        "name = \"Incidents\"",
        "incidents",
        &[
            ("kind", ColumnType::Text),
            ("race", ColumnType::Text),
            ("age", ColumnType::Real),
        ],
    );
    let values = values_of(&[
        ("kind", &["Death", "Injury"]),
        ("race", &["Black", "Latino", "White"]),
    ]);
    let profile = Profile {
        values,
        ..Profile::default()
    };
    let ask = |q: &str| {
        plan(q, &dataset, &profile, None, today())
            .unwrap_or_else(|e| panic!("{q}: {}", e.explain()))
    };
    // "Deaths" are the rows whose kind is Death, counted; "by race" groups them.
    let plan = ask("deaths by race");
    assert_eq!(
        (plan.measure.agg, plan.measure.column.as_deref()),
        (Agg::Count, None)
    );
    assert_eq!(plan.filters[0].values, ["Death"]);
    assert!(matches!(plan.group, Some(Group::Dimension { ref column, .. }) if column == "race"));
    // A dimension asked "by" is never the one whose distinct values are counted.
    let plan = ask("how many injuries by race");
    assert_eq!(plan.measure.column, None);
    assert!(matches!(plan.group, Some(Group::Dimension { ref column, .. }) if column == "race"));
}

#[test]
fn what_a_superlative_or_a_count_is_about_is_never_guessed() {
    let dataset = described(
        "name = \"Gems\"\ndescription = \"One row per gem.\"",
        "gems",
        &[
            ("maker", ColumnType::Text),
            ("model", ColumnType::Text),
            ("color", ColumnType::Text),
            ("price", ColumnType::Real),
            ("carat", ColumnType::Real),
        ],
    );
    let values = values_of(&[
        ("color", &["G", "H"]),
        ("maker", &["acme", "zenith"]),
        ("model", &["a1", "z9"]),
    ]);
    let profile = Profile {
        values,
        ..Profile::default()
    };
    let ask = |q: &str| plan(q, &dataset, &profile, None, today());
    // Largest by what? Not by the main measure, silently.
    assert_eq!(ask("the largest gem").unwrap_err().leftover, ["largest"]);
    // "g" (grams) is not the colour "G".
    let plan = ask("how many gems over 2 carats by color").unwrap();
    assert!(plan.filters.is_empty(), "{:?}", plan.filters);
    assert!(ask("how many gems in g").is_err());
    // The thing counted is what follows "number of".
    let plan = ask("top 3 makers by number of models").unwrap();
    assert_eq!(plan.measure.column.as_deref(), Some("model"));
    assert!(matches!(plan.group, Some(Group::Dimension { ref column, .. }) if column == "maker"));
}

#[test]
fn counts_of_people_are_levels_taken_at_the_latest_time() {
    use crate::model::aggregate::infer_aggregate;
    use crate::model::Aggregate;
    assert_eq!(
        infer_aggregate("unemploy", Some("Number of unemployed people"), None, &[]),
        Aggregate::Last
    );
    assert_eq!(
        infer_aggregate("visits", Some("Number of visits"), None, &[]),
        Aggregate::Sum
    );
}

#[test]
fn an_id_named_but_not_counted_needs_one_row_per_id() {
    let dataset = described(
        "name = \"Order lines\"\n[columns.order_id]\nsynonyms = [\"order\", \"orders\"]",
        "lines",
        &[
            ("order_id", ColumnType::Integer),
            ("quantity", ColumnType::Integer),
        ],
    );
    let lines = Profile::default();
    // Orders span several lines: the average line is not the average order.
    let err = plan(
        "average quantity per order",
        &dataset,
        &lines,
        None,
        today(),
    )
    .unwrap_err();
    assert_eq!(err.leftover, ["order"]);
    // One line per order: the lines are the orders.
    let orders = Profile {
        unique_ids: ["order_id".to_string()].into(),
        ..Profile::default()
    };
    let plan = plan(
        "average quantity per order",
        &dataset,
        &orders,
        None,
        today(),
    )
    .unwrap();
    assert_eq!(plan.measure.agg, Agg::Avg);
    // Counting orders is always fine.
    let counted = super::plan("how many orders", &dataset, &lines, None, today()).unwrap();
    assert!(sql(&counted).contains("COUNT(DISTINCT order_id)"));
}

#[test]
fn over_time_groups_long_data_by_year() {
    let dataset = described(
        "name = \"Generation\"",
        "generation",
        &[("date", ColumnType::Date), ("output", ColumnType::Real)],
    );
    let mut time_range = HashMap::new();
    let day = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
    time_range.insert("date".to_string(), (day(2001), day(2017)));
    let long = Profile {
        time_range,
        ..Profile::default()
    };
    let plan = plan("output over time", &dataset, &long, None, today()).unwrap();
    assert!(matches!(
        plan.group,
        Some(Group::Time {
            grain: crate::pipeline::timeframe::Grain::Year,
            ..
        })
    ));
    let plan = super::plan(
        "output over time",
        &dataset,
        &Profile::default(),
        None,
        today(),
    )
    .unwrap();
    assert!(matches!(
        plan.group,
        Some(Group::Time {
            grain: crate::pipeline::timeframe::Grain::Month,
            ..
        })
    ));
}
