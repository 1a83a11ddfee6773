//! The built-in analyst end to end: questions over the sample dataset answered through the real
//! server, checked against answers computed here straight from the sample CSV (not from the
//! planner or SQLite); the step stream, persistence, follow-ups, fixing, failures. Datasets
//! of one's own are in `datasets.rs`.

mod common;

use chrono::{Datelike, NaiveDate};
use common::answers::{ask, assert_rows, single};
use common::{Client, TestServer};
use std::collections::BTreeMap;

struct Order {
    date: NaiveDate,
    customer: String,
    product: String,
    region: String,
    quantity: f64,
    total: f64,
}

fn orders() -> Vec<Order> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/sample/sales_summary.csv"
    );
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|record| {
            let r = record.unwrap();
            Order {
                date: NaiveDate::parse_from_str(&r[1], "%Y-%m-%d").unwrap(),
                customer: r[2].to_string(),
                product: r[3].to_string(),
                region: r[4].to_string(),
                quantity: r[5].parse().unwrap(),
                total: r[6].parse().unwrap(),
            }
        })
        .collect()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn month(o: &Order) -> String {
    o.date.format("%Y-%m").to_string()
}
fn quarter(o: &Order) -> String {
    format!("{}-Q{}", o.date.year(), o.date.month0() / 3 + 1)
}
fn year(o: &Order) -> String {
    o.date.year().to_string()
}
fn week(o: &Order) -> String {
    let monday = o.date - chrono::Duration::days(o.date.weekday().num_days_from_monday() as i64);
    monday.format("%Y-%m-%d").to_string()
}
fn date(o: &Order) -> String {
    o.date.format("%Y-%m-%d").to_string()
}
fn between(o: &Order, from: NaiveDate, to_inclusive: NaiveDate) -> bool {
    o.date >= from && o.date <= to_inclusive
}

/// Sums per key, as (key, value) sorted by key.
fn sum_by<'a>(
    rows: impl Iterator<Item = &'a Order>,
    key: impl Fn(&Order) -> String,
    value: impl Fn(&Order) -> f64,
) -> Vec<(String, f64)> {
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for o in rows {
        *sums.entry(key(o)).or_default() += value(o);
    }
    sums.into_iter().collect()
}

/// Sorted by value (descending or ascending), ties by key, cut to `limit`.
fn ranked(mut rows: Vec<(String, f64)>, descending: bool, limit: usize) -> Vec<(String, f64)> {
    rows.sort_by(|a, b| {
        let by_value = if descending {
            b.1.partial_cmp(&a.1).unwrap()
        } else {
            a.1.partial_cmp(&b.1).unwrap()
        };
        by_value.then(a.0.cmp(&b.0))
    });
    rows.truncate(limit);
    rows
}

#[tokio::test]
async fn questions_over_the_sample_dataset_get_the_right_numbers() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let o = orders();
    let all = || o.iter();
    let total = |o: &Order| o.total;
    let qty = |o: &Order| o.quantity;
    let count = |_: &Order| 1.0;
    let in_year = |y: i32| move |o: &&Order| o.date.year() == y;

    type Case<'a> = (&'a str, Vec<(String, f64)>);
    let cases: Vec<Case> = vec![
        (
            "show me my top customer",
            ranked(sum_by(all(), |o| o.customer.clone(), total), true, 1),
        ),
        (
            "top 5 customers by sales",
            ranked(sum_by(all(), |o| o.customer.clone(), total), true, 5),
        ),
        (
            "bottom 3 regions by quantity",
            ranked(sum_by(all(), |o| o.region.clone(), qty), false, 3),
        ),
        ("total sales by month", sum_by(all(), month, total)),
        ("total sales by year", sum_by(all(), year, total)),
        (
            "sales by quarter in 2023",
            sum_by(all().filter(in_year(2023)), quarter, total),
        ),
        (
            "weekly sales in March 2024",
            sum_by(
                all().filter(|o| between(o, day(2024, 3, 1), day(2024, 3, 31))),
                week,
                total,
            ),
        ),
        (
            "daily sales last month",
            sum_by(
                all().filter(|o| between(o, day(2024, 11, 1), day(2024, 11, 30))),
                date,
                total,
            ),
        ),
        ("average order value last year", {
            let rows: Vec<&Order> = all().filter(in_year(2023)).collect();
            single(rows.iter().map(|o| o.total).sum::<f64>() / rows.len() as f64)
        }),
        (
            "how many orders in 2023",
            single(all().filter(in_year(2023)).count() as f64),
        ),
        (
            "sales in the last 30 days",
            single(
                all()
                    .filter(|o| between(o, day(2024, 12, 2), day(2024, 12, 31)))
                    .map(total)
                    .sum(),
            ),
        ),
        (
            "this month",
            single(
                all()
                    .filter(|o| between(o, day(2024, 12, 1), day(2024, 12, 31)))
                    .map(total)
                    .sum(),
            ),
        ),
        (
            "sales by region",
            ranked(sum_by(all(), |o| o.region.clone(), total), true, 99),
        ),
        (
            "sales for QUICK-Stop by quarter",
            sum_by(all().filter(|o| o.customer == "QUICK-Stop"), quarter, total),
        ),
        (
            "total quantity by product",
            ranked(sum_by(all(), |o| o.product.clone(), qty), true, 99),
        ),
        (
            "average quantity per order",
            single(all().map(qty).sum::<f64>() / o.len() as f64),
        ),
        ("how many customers do we have", {
            let customers: std::collections::BTreeSet<&str> =
                all().map(|o| o.customer.as_str()).collect();
            single(customers.len() as f64)
        }),
        (
            "maximum order value",
            single(all().map(total).fold(f64::MIN, f64::max)),
        ),
        (
            "smallest order in 2022",
            single(
                all()
                    .filter(in_year(2022))
                    .map(total)
                    .fold(f64::MAX, f64::min),
            ),
        ),
        (
            "sales for West or East by year",
            sum_by(
                all().filter(|o| o.region == "West" || o.region == "East"),
                year,
                total,
            ),
        ),
        (
            "revenue by custmer",
            ranked(sum_by(all(), |o| o.customer.clone(), total), true, 99),
        ),
        (
            "sales of chai by month in 2024",
            sum_by(
                all().filter(|o| o.product == "Chai" && o.date.year() == 2024),
                month,
                total,
            ),
        ),
        (
            "number of orders by region",
            ranked(sum_by(all(), |o| o.region.clone(), count), true, 99),
        ),
        (
            "top 3 products by units sold in 2024",
            ranked(
                sum_by(all().filter(in_year(2024)), |o| o.product.clone(), qty),
                true,
                3,
            ),
        ),
        (
            "total sales for Ernst Handel in Q4 2023",
            single(
                all()
                    .filter(|o| {
                        o.customer == "Ernst Handel"
                            && between(o, day(2023, 10, 1), day(2023, 12, 31))
                    })
                    .map(total)
                    .sum(),
            ),
        ),
        (
            "best month for sales",
            ranked(sum_by(all(), month, total), true, 1),
        ),
        ("average order value by year", {
            let sums = sum_by(all(), year, total);
            let counts = sum_by(all(), year, count);
            sums.iter()
                .zip(&counts)
                .map(|(s, c)| (s.0.clone(), s.1 / c.1))
                .collect()
        }),
        (
            "Königlich Essen sales by year",
            sum_by(
                all().filter(|o| o.customer == "Königlich Essen"),
                year,
                total,
            ),
        ),
        (
            "sales of Chef Anton's Cajun Seasoning in 2024",
            single(
                all()
                    .filter(|o| {
                        o.product == "Chef Anton's Cajun Seasoning" && o.date.year() == 2024
                    })
                    .map(total)
                    .sum(),
            ),
        ),
    ];
    assert!(cases.len() >= 25);
    for (question, want) in &cases {
        let answer = ask(&mut client, question, None).await;
        assert!(
            answer.failure().is_none(),
            "{question}: {:?}",
            answer.failure()
        );
        assert_rows(question, &answer.rows(), want);
        let message = answer.message();
        let summary = message["responses"]["messages"][0].as_str().unwrap();
        // The summary speaks of the actual result: its leading label or value appears in it.
        let (label, value) = &want[0];
        let mentioned = if label.is_empty() {
            summary.contains(&format_thousands(*value))
        } else {
            summary.contains(label.as_str())
        };
        assert!(
            mentioned,
            "{question}: summary {summary:?} does not mention {label:?} / {value}"
        );
        assert!(!message["title"].as_str().unwrap().is_empty());
    }
}

/// The integer part of a value with thousands separators, as summaries print it.
fn format_thousands(value: f64) -> String {
    let digits = format!("{}", value.trunc().abs() as i64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::test]
async fn follow_ups_change_the_previous_question() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let o = orders();
    let november = |o: &&Order| between(o, day(2024, 11, 1), day(2024, 11, 30));

    let first = ask(&mut client, "total sales last month", None).await;
    assert_rows(
        "last month",
        &first.rows(),
        &single(o.iter().filter(november).map(|o| o.total).sum()),
    );
    let id = first.thread_id();

    let weekly = ask(
        &mut client,
        "this is great, can you break that down week by week",
        Some(&id),
    )
    .await;
    let want = sum_by(o.iter().filter(november), week, |o| o.total);
    assert_rows("week by week", &weekly.rows(), &want);
    assert_eq!(weekly.message()["title"], "Total Sales by Week");

    let west = ask(&mut client, "now only for the West region", Some(&id)).await;
    let want = sum_by(
        o.iter().filter(november).filter(|o| o.region == "West"),
        week,
        |o| o.total,
    );
    assert_rows("only West", &west.rows(), &want);
    assert_eq!(west.message()["title"], "Total Sales for West by Week");
    assert_eq!(
        west.state["payload"][0]["messages"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        west.state["payload"][0]["title"], "Total Sales",
        "the thread keeps the title of its first answer"
    );

    // A complete new question in the same thread starts over.
    let fresh = ask(&mut client, "sales by region", Some(&id)).await;
    assert_eq!(fresh.rows().len(), 5);
}

#[tokio::test]
async fn questions_it_cannot_answer_fail_honestly() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let answer = ask(&mut client, "what is the meaning of life", None).await;
    let failed = answer.failure().expect("a failed step");
    assert_eq!(failed["event"], "generatingSql");
    assert_eq!(failed["error"]["code"], "BAD_REQUEST");
    let why = failed["error"]["message"].as_str().unwrap();
    assert!(why.contains("Questions that work"), "{why}");
    assert!(why.contains("total sales by month"), "{why}");
    assert!(
        answer.step("fetchingData", "completed").is_none(),
        "no invented numbers"
    );
    let message = answer.message();
    assert_eq!(message["responses"]["messages"][0], why);
    assert!(message["code"].is_null());
    let steps = message["context"]["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["generatingSql"]["progress"], "failed");
}

#[tokio::test]
async fn ten_concurrent_posts_on_different_threads_all_get_their_own_answers() {
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let o = orders();
    let questions = [
        ("sales in 2022", 2022),
        ("sales in 2023", 2023),
        ("sales in 2024", 2024),
        ("total sales in 2022", 2022),
        ("total sales in 2023", 2023),
        ("total sales in 2024", 2024),
        ("revenue in 2022", 2022),
        ("revenue in 2023", 2023),
        ("revenue in 2024", 2024),
        ("sales for 2023", 2023),
    ];
    let mut clients = Vec::new();
    for _ in &questions {
        clients.push(Client::connect(&server, &token).await);
    }
    let runs = clients
        .iter_mut()
        .zip(questions)
        .map(|(client, (question, year))| async move { (ask(client, question, None).await, year) });
    let answers = futures_util::future::join_all(runs).await;
    let mut threads = std::collections::HashSet::new();
    for (answer, y) in answers {
        let want: f64 = o
            .iter()
            .filter(|o| o.date.year() == y)
            .map(|o| o.total)
            .sum();
        assert_rows(&format!("sales {y}"), &answer.rows(), &single(want));
        threads.insert(answer.thread_id());
    }
    assert_eq!(threads.len(), 10);
}
