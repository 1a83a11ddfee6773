//! The planner over the sample sales dataset.

use super::*;
use crate::datasets::Describe;
use crate::model::{ColumnType, DatasetSource};
use std::collections::HashMap;

/// A dataset as `skein dataset add` would register it: a table with these columns, described
/// by a describe file's text.
pub fn described(describe: &str, table: &str, columns: &[(&str, ColumnType)]) -> Dataset {
    let describe = Describe::parse(describe).unwrap();
    let columns: Vec<(String, ColumnType)> =
        columns.iter().map(|(n, t)| (n.to_string(), *t)).collect();
    Dataset {
        id: uuid::Uuid::nil(),
        org_id: uuid::Uuid::nil(),
        name: describe.name.clone().unwrap_or_else(|| table.to_string()),
        table: table.into(),
        description: describe.description.clone(),
        source: DatasetSource::Imported,
        columns: describe.columns(&columns).unwrap(),
        terms: describe.terms(),
        created_at: chrono::Utc::now(),
    }
}

pub fn sample() -> (Dataset, Profile) {
    let dataset = described(
        include_str!("../../../assets/sample/sales_summary.toml"),
        "sales_summary",
        &[
            ("order_id", ColumnType::Integer),
            ("order_date", ColumnType::Date),
            ("customer_name", ColumnType::Text),
            ("product", ColumnType::Text),
            ("region", ColumnType::Text),
            ("quantity", ColumnType::Integer),
            ("total_sales_amount", ColumnType::Real),
        ],
    );
    let mut values = HashMap::new();
    values.insert(
        "region".to_string(),
        ["North", "South", "East", "West", "Central"]
            .map(String::from)
            .to_vec(),
    );
    values.insert(
        "customer_name".to_string(),
        [
            "QUICK-Stop",
            "Ernst Handel",
            "Great Lakes Food Market",
            "Save-a-lot Markets",
        ]
        .map(String::from)
        .to_vec(),
    );
    values.insert(
        "product".to_string(),
        ["Chai", "Chang", "Tofu"].map(String::from).to_vec(),
    );
    let mut time_range = HashMap::new();
    time_range.insert(
        "order_date".to_string(),
        (
            NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(),
        ),
    );
    (
        dataset,
        Profile {
            values,
            time_range,
            one_row_per_time: HashMap::new(),
            rows: None,
            // Every row of the sample is one order.
            unique_ids: ["order_id".to_string()].into(),
        },
    )
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn ask(question: &str) -> Plan {
    let (dataset, profile) = sample();
    plan(question, &dataset, &profile, None, today())
        .unwrap_or_else(|e| panic!("{question}: {}", e.explain()))
}

/// The words of a refused question that were not understood.
fn refused(question: &str) -> Vec<String> {
    let (dataset, profile) = sample();
    match plan(question, &dataset, &profile, None, today()) {
        Ok(plan) => panic!(
            "{question} was answered: {}",
            crate::pipeline::sqlgen::sql(&plan)
        ),
        Err(err) => err.leftover,
    }
}

#[test]
fn top_customer() {
    let plan = ask("show me my top customer");
    assert_eq!(
        plan.group,
        Some(Group::Dimension {
            column: "customer_name".into(),
            noun: "customer".into()
        })
    );
    assert_eq!(
        plan.ranking,
        Some(Ranking {
            descending: true,
            limit: 1,
            within: Within::All
        })
    );
    assert_eq!(plan.measure.column.as_deref(), Some("total_sales_amount"));
    assert_eq!(plan.measure.label, "Total Sales");
}

#[test]
fn bottom_regions_by_quantity() {
    let plan = ask("bottom 3 regions by quantity");
    assert_eq!(
        plan.ranking,
        Some(Ranking {
            descending: false,
            limit: 3,
            within: Within::All
        })
    );
    assert_eq!(plan.measure.column.as_deref(), Some("quantity"));
}

#[test]
fn terms_counts_filters_and_typos() {
    assert_eq!(
        ask("average order value last year").measure.label,
        "Average Order Value"
    );
    let plan = ask("how many orders in 2023");
    assert_eq!(plan.measure.agg, Agg::Count);
    assert_eq!(plan.measure.column.as_deref(), Some("order_id"));
    let plan = ask("sales for QUICK-Stop by quarter");
    assert_eq!(
        plan.filters,
        vec![Filter {
            column: "customer_name".into(),
            values: vec!["QUICK-Stop".into()],
            contains: false
        }]
    );
    assert!(matches!(
        plan.group,
        Some(Group::Time {
            grain: Grain::Quarter,
            ..
        })
    ));
    let plan = ask("revenu by regoins");
    assert!(matches!(plan.group, Some(Group::Dimension { ref column, .. }) if column == "region"));
    let plan = ask("sales for great lakes");
    assert_eq!(
        plan.filters[0].values,
        vec!["Great Lakes Food Market".to_string()]
    );
}

#[test]
fn follow_ups_change_the_previous_plan() {
    let (dataset, profile) = sample();
    let first = plan("total sales last month", &dataset, &profile, None, today()).unwrap();
    let weekly = plan(
        "this is great, can you break that down week by week",
        &dataset,
        &profile,
        Some(&first),
        today(),
    )
    .unwrap();
    assert!(matches!(
        weekly.group,
        Some(Group::Time {
            grain: Grain::Week,
            ..
        })
    ));
    assert_eq!(weekly.range, first.range);
    let west = plan(
        "now only for the West region",
        &dataset,
        &profile,
        Some(&weekly),
        today(),
    )
    .unwrap();
    assert_eq!(
        west.filters,
        vec![Filter {
            column: "region".into(),
            values: vec!["West".into()],
            contains: false
        }]
    );
    assert_eq!(west.group, weekly.group);
    // "What about quantity": the same question of another measure.
    let quantity = plan(
        "what about quantity",
        &dataset,
        &profile,
        Some(&west),
        today(),
    )
    .unwrap();
    assert_eq!(quantity.measure.column.as_deref(), Some("quantity"));
    assert_eq!(
        (&quantity.filters, &quantity.group),
        (&west.filters, &west.group)
    );
}

#[test]
fn nonsense_is_refused_with_examples() {
    let (dataset, profile) = sample();
    let err = plan(
        "what is the meaning of life",
        &dataset,
        &profile,
        None,
        today(),
    )
    .unwrap_err();
    let text = err.explain();
    assert!(text.contains("top 5 customers by sales"), "{text}");
}

#[test]
fn calendar_cycles_single_days_and_values_named_each() {
    let plan = ask("average quantity by month of the year");
    assert!(matches!(
        plan.group,
        Some(Group::Cycle {
            cycle: crate::pipeline::timeframe::Cycle::MonthOfYear,
            ..
        })
    ));
    let text = crate::pipeline::sqlgen::sql(&plan);
    assert!(
        text.contains("to_char(order_date, 'Month') AS month_of_year"),
        "{text}"
    );
    assert!(
        text.contains("ORDER BY MIN(to_char(order_date, 'MM'))"),
        "{text}"
    );
    let plan = ask("sales by day of the week");
    assert!(matches!(
        plan.group,
        Some(Group::Cycle {
            cycle: crate::pipeline::timeframe::Cycle::DayOfWeek,
            ..
        })
    ));
    let plan = ask("sales on 2024-03-05");
    let range = plan.range.unwrap();
    assert_eq!(range.start, NaiveDate::from_ymd_opt(2024, 3, 5).unwrap());
    assert_eq!(range.end, NaiveDate::from_ymd_opt(2024, 3, 6).unwrap());
    let plan = ask("sales between March 2024 and May 2024");
    let range = plan.range.unwrap();
    assert_eq!(
        (range.start, range.end),
        (
            NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
        )
    );
    // Two regions named together are shown each; named as alternatives, together.
    assert_eq!(
        ask("sales for West and East by year").split.as_deref(),
        Some("region")
    );
    assert_eq!(ask("sales for West or East by year").split, None);
    let plan = ask("sales for West and East");
    assert!(matches!(plan.group, Some(Group::Dimension { ref column, .. }) if column == "region"));
}

#[test]
fn shares_changes_and_aggregates_of_periods() {
    // Each region's share of the total, by a window over the groups.
    let plan = ask("share of sales by region");
    assert_eq!(plan.derived, Some(Derived::Share));
    let text = crate::pipeline::sqlgen::sql(&plan);
    assert!(
        text.contains("100.0 * SUM(total_sales_amount) / SUM(SUM(total_sales_amount)) OVER ()"),
        "{text}"
    );
    // The values named are the part; the whole is every row.
    let text = crate::pipeline::sqlgen::sql(&ask("what share of sales came from West"));
    assert!(
        text.contains("SUM(CASE WHEN region = 'West' THEN total_sales_amount END)"),
        "{text}"
    );
    assert!(!text.contains("WHERE"), "{text}");
    // Averages have no shares.
    assert_eq!(refused("share of average quantity by region"), ["share"]);

    let plan = ask("how much did sales change between 2022 and 2023");
    let Some(Derived::Change { from, to }) = &plan.derived else {
        panic!("{plan:?}")
    };
    assert_eq!((from.label.as_str(), to.label.as_str()), ("2022", "2023"));
    let text = crate::pipeline::sqlgen::sql(&plan);
    assert!(text.contains("AS total_sales_2022"), "{text}");
    assert!(text.contains("AS change"), "{text}");
    // A change needs two periods to be between.
    assert_eq!(refused("how much did sales change in 2023"), ["change"]);

    // Per month first, then the average of the monthly totals.
    let plan = ask("average monthly sales");
    assert_eq!(
        plan.derived,
        Some(Derived::OfPeriods {
            grain: Grain::Month,
            of: Agg::Avg
        })
    );
    assert_eq!(plan.measure.agg, Agg::Sum);
    let text = crate::pipeline::sqlgen::sql(&plan);
    assert!(
        text.starts_with("SELECT\n    AVG(total_sales) AS average_monthly_total_sales"),
        "{text}"
    );
    let plan = ask("average monthly sales by region");
    let text = crate::pipeline::sqlgen::sql(&plan);
    assert!(text.contains("GROUP BY region"), "{text}");
    assert!(
        text.contains("GROUP BY to_char(date_trunc('month', order_date), 'YYYY-MM'), region"),
        "{text}"
    );
}

#[test]
fn rankings_within_each_group_of_another_grouping() {
    let plan = ask("top 3 products by sales in each region");
    assert_eq!(plan.ranking.map(|r| r.within), Some(Within::EachSplit));
    let text = crate::pipeline::sqlgen::sql(&plan);
    assert!(
        text.contains("PARTITION BY region ORDER BY total_sales DESC NULLS LAST"),
        "{text}"
    );
    assert!(text.contains("WHERE rank <= 3"), "{text}");
    let plan = ask("top 2 customers by region");
    assert_eq!(plan.ranking.map(|r| r.within), Some(Within::EachSplit));
    // A time grouping partitions: the best products of each year.
    let plan = ask("top 2 products each year");
    assert_eq!(plan.ranking.map(|r| r.within), Some(Within::EachGroup));
    assert!(crate::pipeline::sqlgen::sql(&plan).contains("PARTITION BY year"));
    // Asked alike, the pairs are ranked together.
    let plan = ask("top 5 products and regions by sales");
    assert_eq!(plan.ranking.map(|r| r.within), Some(Within::All));
}

#[test]
fn growth_of_the_default_measure_by_group() {
    let plan = ask("which region grew the most between 2022 and 2023");
    assert!(matches!(plan.derived, Some(Derived::Change { .. })));
    assert_eq!(plan.measure.column.as_deref(), Some("total_sales_amount"));
    assert_eq!(
        plan.ranking.map(|r| (r.descending, r.limit)),
        Some((true, 1))
    );
    assert!(crate::pipeline::sqlgen::sql(&plan).contains("ORDER BY change DESC NULLS LAST"));
}
