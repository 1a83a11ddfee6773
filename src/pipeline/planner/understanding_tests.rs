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
