//! The planner's reading of questions over a dataset it was not written for (a small fleet
//! of cars): every word accounted for or the question refused naming the rest, measures
//! combined by what they are, row counts, numeric conditions, medians, NULLs last.

use super::tests::described;
use super::{plan, Agg, Condition, Group, Plan, PlanError};
use crate::datasets::Profile;
use crate::model::{ColumnType, Dataset};
use crate::pipeline::compare::Op;
use crate::pipeline::sqlgen::sql;
use chrono::NaiveDate;
use std::collections::HashMap;

const DESCRIBE: &str = r#"
name = "Cars"
description = "Specifications of cars sold in 1970 to 1982: one row per car."
[columns.horsepower]
meaning = "Engine power"
unit = "hp"
[columns.weight]
meaning = "Weight of the car"
unit = "lbs"
[columns.units_sold]
meaning = "Number of cars sold"
"#;

fn cars() -> (Dataset, Profile) {
    let dataset = described(
        DESCRIBE,
        "cars",
        &[
            ("name", ColumnType::Text),
            ("origin", ColumnType::Text),
            ("horsepower", ColumnType::Integer),
            ("weight", ColumnType::Real),
            ("units_sold", ColumnType::Integer),
            ("model_year", ColumnType::Integer),
        ],
    );
    let mut values = HashMap::new();
    values.insert(
        "origin".to_string(),
        ["USA", "Europe", "Japan"].map(String::from).to_vec(),
    );
    values.insert(
        "name".to_string(),
        ["ford pinto", "vw rabbit", "toyota corolla"]
            .map(String::from)
            .to_vec(),
    );
    values.insert(
        "model_year".to_string(),
        ["1970", "1976", "1982"].map(String::from).to_vec(),
    );
    let profile = Profile {
        values,
        ..Profile::default()
    };
    (dataset, profile)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn ask(question: &str) -> Plan {
    let (dataset, profile) = cars();
    plan(question, &dataset, &profile, None, today())
        .unwrap_or_else(|e| panic!("{question}: {}", e.explain()))
}

fn refused(question: &str) -> PlanError {
    let (dataset, profile) = cars();
    match plan(question, &dataset, &profile, None, today()) {
        Ok(plan) => panic!("{question} was answered: {}", sql(&plan)),
        Err(err) => err,
    }
}

#[test]
fn words_it_does_not_understand_are_named_and_nothing_is_answered() {
    let err = refused("average horsepower of cars with a turbocharger");
    assert_eq!(err.leftover, ["turbocharger"]);
    let text = err.explain();
    assert!(text.contains("\"turbocharger\""), "{text}");
    assert!(text.contains("the column horsepower"), "{text}");
    assert!(text.contains("Questions that work look like"), "{text}");
    // A typo'd period is not silently dropped.
    assert_eq!(
        refused("horsepower by yeer of production").leftover,
        ["yeer", "production"]
    );
    // A comparison with no column to apply to stays unexplained rather than ignored.
    assert!(refused("how many cars cost more than 10000")
        .leftover
        .contains(&"cost".to_string()));
}

#[test]
fn measures_that_do_not_add_up_are_averaged() {
    let (dataset, _) = cars();
    let horsepower = dataset
        .columns
        .iter()
        .find(|c| c.name == "horsepower")
        .unwrap();
    assert_eq!(horsepower.aggregate, Some(crate::model::Aggregate::Avg));
    let plan = ask("horsepower by origin");
    assert_eq!(plan.measure.agg, Agg::Avg);
    assert_eq!(plan.measure.label, "Average Horsepower");
    // Quantities still add up, and an explicit word always wins.
    assert_eq!(ask("units sold by origin").measure.agg, Agg::Sum);
    assert_eq!(ask("total horsepower by origin").measure.agg, Agg::Sum);
}

#[test]
fn how_many_counts_rows_or_distinct_values_as_asked() {
    let plan = ask("how many cars are there");
    assert_eq!(
        (plan.measure.agg, plan.measure.column.as_deref()),
        (Agg::Count, None)
    );
    assert_eq!(plan.measure.label, "Number of Cars");
    let plan = ask("how many cars per origin");
    assert_eq!(
        (plan.measure.agg, plan.measure.column.as_deref()),
        (Agg::Count, None)
    );
    assert!(matches!(plan.group, Some(Group::Dimension { ref column, .. }) if column == "origin"));
    let plan = ask("how many origins are there");
    assert_eq!(plan.measure.column.as_deref(), Some("origin"));
    assert!(sql(&plan).contains("COUNT(DISTINCT origin)"));
    // The most cars: a ranking of the rows themselves.
    let plan = ask("which origin has the most cars");
    assert_eq!(plan.measure.agg, Agg::Count);
    assert_eq!(
        plan.ranking.map(|r| (r.descending, r.limit)),
        Some((true, 1))
    );
}

#[test]
fn a_row_count_is_named_as_the_question_names_the_rows() {
    // The dataset is "Cars"; its description says a row is a car; "vehicles" is neither.
    assert_eq!(
        ask("how many car are there").measure.label,
        "Number of Cars"
    );
    assert_eq!(
        ask("how many rows per origin").measure.label,
        "Number of Rows"
    );
    let (mut dataset, profile) = cars();
    dataset.name = "Classic Cars".into();
    let plan = plan(
        "how many cars per origin",
        &dataset,
        &profile,
        None,
        today(),
    )
    .unwrap();
    assert_eq!(plan.measure.label, "Number of Cars");
}

#[test]
fn numeric_comparisons_filter_rows() {
    let condition = |column: &str, op, value, upper| Condition {
        column: column.into(),
        op,
        value,
        upper,
    };
    let plan = ask("how many cars have more than 200 horsepower");
    assert_eq!(
        plan.conditions,
        [condition("horsepower", Op::Gt, 200.0, None)]
    );
    assert_eq!(plan.measure.agg, Agg::Count);
    assert!(
        sql(&plan).contains("WHERE horsepower > 200"),
        "{}",
        sql(&plan)
    );
    let plan = ask("average weight of cars with a horsepower of at least 150");
    assert_eq!(
        plan.conditions,
        [condition("horsepower", Op::Ge, 150.0, None)]
    );
    assert_eq!(plan.measure.column.as_deref(), Some("weight"));
    let plan = ask("average horsepower of cars between 2000 and 3000 lbs");
    assert_eq!(
        plan.conditions,
        [condition("weight", Op::Between, 2000.0, Some(3000.0))]
    );
    assert!(sql(&plan).contains("weight BETWEEN 2000 AND 3000"));
}

#[test]
fn values_of_any_dimension_and_calendar_numbers_filter() {
    let plan = ask("average horsepower of European cars by model year");
    assert_eq!(plan.filters[0].column, "origin");
    assert_eq!(plan.filters[0].values, ["Europe"]);
    assert!(
        matches!(plan.group, Some(Group::Dimension { ref column, .. }) if column == "model_year")
    );
    let plan = ask("how many cars from 1976");
    assert_eq!(plan.filters[0].column, "model_year");
    assert!(sql(&plan).contains("model_year = '1976'"));
}

#[test]
fn medians_percentiles_and_nulls_last() {
    let plan = ask("median horsepower by origin");
    assert_eq!(plan.measure.agg, Agg::Median);
    assert!(sql(&plan).contains("median(horsepower)"));
    let plan = ask("90th percentile of horsepower by origin");
    assert_eq!(plan.measure.agg, Agg::Percentile(90));
    assert_eq!(plan.measure.label, "90th Percentile Horsepower");
    assert!(sql(&plan).contains("percentile(horsepower, 90) AS p90th_percentile_horsepower"));
    assert_eq!(
        ask("upper quartile of weight").measure.agg,
        Agg::Percentile(75)
    );
    assert_eq!(
        refused("101st percentile of weight").leftover,
        ["101st", "percentile"]
    );
    let plan = ask("bottom 2 origins by weight");
    assert!(
        sql(&plan).contains("ORDER BY average_weight ASC NULLS LAST"),
        "{}",
        sql(&plan)
    );
}

#[test]
fn two_groupings_and_no_more() {
    let plan = ask("number of cars by origin and model year");
    assert_eq!(plan.split.as_deref(), Some("model_year"));
    assert!(sql(&plan).contains("GROUP BY origin, model_year"));
    assert_eq!(
        refused("horsepower by origin and model year and name").leftover,
        ["name"]
    );
}

#[test]
fn conflicting_aggregations_are_refused() {
    assert_eq!(refused("maximum median horsepower").leftover, ["median"]);
}

#[test]
fn superlatives_of_rows_list_the_rows_themselves() {
    // "Heaviest" is about weight, the one measure named by it; "car" names the rows.
    let plan = ask("the heaviest car");
    assert!(plan.listing);
    assert_eq!(plan.measure.column.as_deref(), Some("weight"));
    assert_eq!(
        plan.ranking.map(|r| (r.descending, r.limit)),
        Some((true, 1))
    );
    let text = sql(&plan);
    assert!(text.starts_with("SELECT *"), "{text}");
    assert!(text.contains("ORDER BY weight DESC NULLS LAST"), "{text}");
    let plan = ask("top 3 lightest cars from Europe");
    assert_eq!(
        plan.ranking.map(|r| (r.descending, r.limit)),
        Some((false, 3))
    );
    assert!(sql(&plan).contains("origin = 'Europe'"));
    // The same adjective ranks groups when the question names a group.
    let plan = ask("which origin has the heaviest average weight");
    assert!(!plan.listing);
    assert_eq!(plan.measure.agg, Agg::Avg);
    assert_eq!(plan.ranking.map(|r| r.limit), Some(1));
    // The rows within each group: the two heaviest cars of each origin.
    let plan = ask("the 2 heaviest cars in each origin");
    assert!(plan.listing);
    assert_eq!(plan.ranking.map(|r| r.limit), Some(2));
    let text = sql(&plan);
    assert!(
        text.contains("ROW_NUMBER() OVER (PARTITION BY origin ORDER BY weight DESC NULLS LAST)"),
        "{text}"
    );
    assert!(text.contains("WHERE rank <= 2"), "{text}");
    // No column is about price: "expensive" is not guessed.
    assert!(refused("the most expensive car")
        .leftover
        .contains(&"expensive".to_string()));
}

#[test]
fn a_word_of_a_dimension_s_values_matches_the_values_holding_it() {
    let plan = ask("how many ford cars");
    assert_eq!(plan.filters.len(), 1);
    assert!(plan.filters[0].contains);
    let text = sql(&plan);
    assert!(
        text.contains("(' ' || LOWER(name) || ' ') LIKE '% ford %'"),
        "{text}"
    );
    assert_eq!(
        crate::pipeline::restate::restate(&plan),
        "Number of rows over rows where name contains the word ford."
    );
    // Words of no value stay unexplained, and so does a name-word not naming what follows.
    assert!(refused("how many chevy cars")
        .leftover
        .contains(&"chevy".to_string()));
    assert!(refused("how many cars made by ford")
        .leftover
        .contains(&"ford".to_string()));
}

#[test]
fn a_value_spelled_like_a_grammar_word_is_matched_only_as_written() {
    let dataset = described(
        "name = \"Midwest\"\ndescription = \"One row per county.\"",
        "midwest",
        &[
            ("county", ColumnType::Text),
            ("state", ColumnType::Text),
            ("poptotal", ColumnType::Integer),
        ],
    );
    let mut values = HashMap::new();
    values.insert(
        "state".to_string(),
        ["IN", "OH", "IL"].map(String::from).to_vec(),
    );
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
    let dataset = described(
        "name = \"Midwest\"",
        "midwest",
        &[
            ("county", ColumnType::Text),
            ("state", ColumnType::Text),
            ("poptotal", ColumnType::Integer),
        ],
    );
    let mut values = HashMap::new();
    // Four counties, two of them called WAYNE.
    values.insert(
        "county".to_string(),
        ["COOK", "WAYNE", "ADAMS"].map(String::from).to_vec(),
    );
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
    let mut values = HashMap::new();
    values.insert(
        "symbol".to_string(),
        ["MSFT", "AAPL"].map(String::from).to_vec(),
    );
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
    let mut values = HashMap::new();
    values.insert(
        "year".to_string(),
        vec!["2005".to_string(), "2009".to_string()],
    );
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
    let mut values = HashMap::new();
    values.insert(
        "kind".to_string(),
        ["Death", "Injury"].map(String::from).to_vec(),
    );
    values.insert(
        "race".to_string(),
        ["Black", "Latino", "White"].map(String::from).to_vec(),
    );
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
    let mut values = HashMap::new();
    values.insert("color".to_string(), vec!["G".to_string(), "H".to_string()]);
    values.insert(
        "maker".to_string(),
        vec!["acme".to_string(), "zenith".to_string()],
    );
    values.insert(
        "model".to_string(),
        vec!["a1".to_string(), "z9".to_string()],
    );
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
    use crate::datasets::roles::infer_aggregate;
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
fn rows_named_and_grouped_or_narrowed_are_counted_unless_following_up() {
    let plan = ask("cars by origin");
    assert_eq!(
        (plan.measure.agg, plan.measure.column.as_deref()),
        (Agg::Count, None)
    );
    let plan = ask("cars with more than 200 horsepower");
    assert_eq!(
        (plan.measure.agg, plan.measure.column.as_deref()),
        (Agg::Count, None)
    );
    assert_eq!(plan.conditions[0].column, "horsepower");
    // A follow-up naming the rows keeps the measure of the question it follows.
    let (dataset, profile) = cars();
    let first = ask("average weight by origin");
    let next = super::plan(
        "now only for European cars",
        &dataset,
        &profile,
        Some(&first),
        today(),
    )
    .unwrap();
    assert_eq!(next.measure, first.measure);
    assert_eq!(next.filters[0].values, ["Europe"]);
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
