//! The analyst reads the whole question or says what it did not understand, says back what it
//! computed, picks the dataset the question names, and states only numbers of the whole result.
//! Through the real server, over datasets added with the real CLI.

mod common;

use common::answers::{ask, Answer};
use common::{Client, TestServer};
use serde_json::Value;

/// Adds a CSV dataset through the CLI.
fn add_csv(server: &TestServer, name: &str, csv: &str) {
    let path = server.dir.parent().unwrap().join(format!("{name}.csv"));
    std::fs::write(&path, csv).unwrap();
    server.cli(&["dataset", "add", name, "--csv", path.to_str().unwrap()]);
}

fn summary(answer: &Answer) -> String {
    answer.message()["responses"]["messages"][0]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn words_it_does_not_understand_are_named_and_nothing_is_computed() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let answer = ask(
        &mut client,
        "median sales by region for repeat customers",
        None,
    )
    .await;
    let message = answer.failure().expect("a failed step").to_string();
    assert!(
        message.contains("did not understand") && message.contains("repeat"),
        "{message}"
    );
    assert!(
        message.contains("Questions that work look like"),
        "{message}"
    );
    assert!(answer.step("generatingSql", "completed").is_none());
    assert!(answer.step("fetchingData", "completed").is_none());
}

#[tokio::test]
async fn the_dataset_is_chosen_by_the_column_a_question_names_and_ties_are_asked() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let dir = server.dir.parent().unwrap();
    let weather = dir.join("weather.csv");
    std::fs::write(
        &weather,
        "day,temp_min,rain\n2013-01-01,-1.5,0\n2013-01-02,2.5,3.1\n2013-02-01,4.0,1\n",
    )
    .unwrap();
    server.cli(&[
        "dataset",
        "add",
        "weather",
        "--csv",
        weather.to_str().unwrap(),
    ]);
    let visits = dir.join("visits.csv");
    std::fs::write(&visits, "day,visits\n2013-01-01,3\n2013-01-02,5\n").unwrap();
    server.cli(&[
        "dataset",
        "add",
        "visits",
        "--csv",
        visits.to_str().unwrap(),
    ]);

    // The sample dataset is richly described; the question names a column of "weather".
    let answer = ask(&mut client, "temp_min by day in January 2013", None).await;
    assert_eq!(
        answer.step("identifyingDataset", "completed").unwrap()["payload"]["dataset"]["name"],
        "weather"
    );
    // A temperature is averaged, never summed.
    assert!(answer.completed("generatingSql")["payload"]["sql"]
        .as_str()
        .unwrap()
        .contains("AVG(temp_min)"));
    assert_eq!(answer.rows().len(), 2);

    // Nothing names one dataset over the others: the analyst asks which.
    let answer = ask(&mut client, "how many days are there", None).await;
    let message = answer.failure().expect("a failed step").to_string();
    assert!(message.contains("which dataset"), "{message}");
    assert!(
        message.contains("weather") && message.contains("visits"),
        "{message}"
    );
}

#[tokio::test]
async fn every_answer_says_what_was_computed_in_its_steps_and_its_stored_message() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let answer = ask(&mut client, "average quantity for West by year", None).await;
    let said = "Average of quantity over rows where region is West, for each year of order_date.";
    let step = answer.completed("generatingSql");
    assert_eq!(step["payload"]["interpretation"], said);
    assert_eq!(answer.message()["responses"]["interpretation"], said);
    let persisted = answer.message()["context"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s.get("generatingSql"))
        .expect("the persisted step")
        .clone();
    assert_eq!(persisted["interpretation"], said);

    // Rankings, conditions and single days are said back too.
    let answer = ask(&mut client, "top 3 products by sales on 2024-03-05", None).await;
    answer.completed("generatingSql");
    assert_eq!(
        answer.message()["responses"]["interpretation"],
        "Total of total_sales_amount over rows where order_date is 2024-03-05, for each product, \
         keeping the 3 highest."
    );
}

/// A server with two datasets: four parcels (one without a weight) and 1,200 days of ledger.
async fn with_parcels_and_ledger() -> (TestServer, Client) {
    let server = TestServer::start();
    let client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    add_csv(
        &server,
        "parcels",
        "code,city,weight_kg\nP1,Oslo,2.5\nP2,Bergen,7.25\nP3,Oslo,\nP4,Bergen,4.0\n",
    );
    add_csv(&server, "ledger", &long_daily_csv());
    (server, client)
}

/// 1,200 days: more rows than the cap of 1,000 a result keeps.
fn long_daily_csv() -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let mut csv = String::from("day,rainfall,temperature\n");
    for i in 0..1200 {
        let day = start + chrono::Days::new(i);
        // Temperatures rise over the years, with a dip every seventh day.
        let temperature = 10.0 + i as f64 / 100.0 - if i % 7 == 0 { 5.0 } else { 0.0 };
        csv.push_str(&format!("{day},{},{temperature}\n", i + 1));
    }
    csv
}

#[tokio::test]
async fn summaries_state_the_whole_result_even_when_the_table_is_capped() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    add_csv(&server, "ledger", &long_daily_csv());

    let answer = ask(&mut client, "total rainfall by day", None).await;
    let fetched = answer.completed("fetchingData");
    assert_eq!(fetched["payload"]["data_metadata"]["truncated"], true);
    assert_eq!(fetched["payload"]["data"].as_array().unwrap().len(), 1000);
    let text = summary(&answer);
    // 1 + 2 + … + 1200, and the last of the 1,200 days, not of the 1,000 shown.
    assert!(
        text.contains("Over 1,200 days, total rainfall came to 720,600."),
        "{text}"
    );
    assert!(
        text.contains("The highest was 2023-04-14 with 1,200"),
        "{text}"
    );
    assert!(text.contains("From 2020-01-01 to 2023-04-14"), "{text}");
    assert!(
        text.contains("The table shows the first 1,000 of 1,200 rows"),
        "{text}"
    );
}

#[tokio::test]
async fn averages_are_never_added_up_in_a_summary() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    add_csv(&server, "ledger", &long_daily_csv());

    let answer = ask(&mut client, "temperature by year", None).await;
    let sql = answer.completed("generatingSql")["payload"]["sql"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sql.contains("AVG(temperature)"), "{sql}");
    let text = summary(&answer);
    assert!(!text.contains("came to"), "{text}");
    assert!(!text.contains("total"), "{text}");
    assert!(
        text.starts_with("Average temperature over 4 years."),
        "{text}"
    );
    // The data ends on 2023-04-14: that year is not set against whole ones.
    assert!(
        text.contains("The data covers the year 2023 only in part, so the first and last years are not compared."),
        "{text}"
    );

    // An average asked for by name is not added up across years either.
    let answer = ask(&mut client, "average rainfall by year", None).await;
    let text = summary(&answer);
    assert!(!text.contains("came to"), "{text}");
    let rows: Vec<Value> = answer.completed("fetchingData")["payload"]["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 4);
}

#[tokio::test]
async fn values_named_together_are_shown_each_and_values_named_as_alternatives_together() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let answer = ask(&mut client, "sales for West and East by year", None).await;
    assert_eq!(
        answer.message()["responses"]["interpretation"],
        "Total of total_sales_amount over rows where region is one of West, East, for each year \
         of order_date and each region."
    );
    let rows = answer.completed("fetchingData")["payload"]["data"]
        .as_array()
        .unwrap()
        .clone();
    let regions: Vec<&str> = rows.iter().map(|r| r["region"].as_str().unwrap()).collect();
    assert!(
        regions.contains(&"West") && regions.contains(&"East"),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 6, "three years, two regions: {rows:?}");
    let explanation = answer.message()["responses"]["messages"][1]
        .as_str()
        .unwrap();
    assert!(
        explanation.contains("for each year of order_date and each region"),
        "{explanation}"
    );
    // Six rows are three years of two regions, never "6 years".
    let summary = answer.message()["responses"]["messages"][0]
        .as_str()
        .unwrap();
    assert!(
        summary.starts_with("Over 3 years and 2 regions for West and East, total sales came to"),
        "{summary}"
    );

    // Two groupings under one "by", the time one second, read as the same question.
    let both = ask(&mut client, "total sales by region and year", None).await;
    assert_eq!(
        both.message()["responses"]["interpretation"],
        "Total of total_sales_amount, for each year of order_date and each region."
    );
    assert_eq!(both.rows().len(), 15, "three years, five regions");

    let answer = ask(&mut client, "sales for West or East by year", None).await;
    assert_eq!(
        answer.message()["responses"]["interpretation"],
        "Total of total_sales_amount over rows where region is one of West, East, for each year \
         of order_date."
    );
}

#[tokio::test]
async fn superlatives_of_rows_calendar_cycles_and_single_days() {
    let (_server, mut client) = with_parcels_and_ledger().await;

    // The heaviest parcel is a row, with all its columns.
    let answer = ask(&mut client, "the heaviest parcel", None).await;
    let rows = answer.completed("fetchingData")["payload"]["data"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["code"], "P2");
    assert_eq!(rows[0]["city"], "Bergen", "{rows}");
    assert_eq!(
        answer.message()["responses"]["interpretation"],
        "The row with the largest weight_kg."
    );
    let text = summary(&answer);
    assert!(
        text.contains("weight_kg 7.25") && text.contains("code P2"),
        "{text}"
    );
    // The lightest: a parcel without a weight is not one of them.
    let answer = ask(&mut client, "the 2 lightest parcels", None).await;
    let rows = answer.completed("fetchingData")["payload"]["data"].clone();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["P1", "P4"]);

    // Every January together, in calendar order.
    let answer = ask(
        &mut client,
        "average temperature by month of the year",
        None,
    )
    .await;
    let rows = answer.completed("fetchingData")["payload"]["data"].clone();
    let rows = rows.as_array().unwrap();
    let months: Vec<&str> = rows
        .iter()
        .map(|r| r["month_of_year"].as_str().unwrap())
        .collect();
    assert_eq!(months.len(), 12);
    assert_eq!(
        (months[0], months[1], months[11]),
        ("January", "February", "December")
    );
    let januaries: Vec<f64> = long_daily_csv()
        .lines()
        .skip(1)
        .filter(|line| line[5..7] == *"01")
        .map(|line| line.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    let expected = januaries.iter().sum::<f64>() / januaries.len() as f64;
    let got = rows[0]["average_temperature"].as_f64().unwrap();
    assert!((got - expected).abs() < 1e-9, "{got} != {expected}");

    // One day: 2021-03-05 is the 430th day from 2020-01-01.
    let answer = ask(&mut client, "total rainfall on 2021-03-05", None).await;
    let rows = answer.completed("fetchingData")["payload"]["data"].clone();
    assert_eq!(rows[0]["total_rainfall"], 430);
}

#[tokio::test]
async fn shares_changes_between_periods_and_averages_of_periods() {
    let (_server, mut client) = with_parcels_and_ledger().await;

    // Two of the four parcels: the part, the whole, and the share.
    let answer = ask(&mut client, "what share of parcels are from Bergen", None).await;
    let row = answer.completed("fetchingData")["payload"]["data"][0].clone();
    assert_eq!(row["row_count"], 2, "{row}");
    assert_eq!(row["all_row_count"], 4, "{row}");
    assert_eq!(row["row_count_share_pct"], 50.0, "{row}");
    let text = summary(&answer);
    assert!(
        text.starts_with("Bergen make up 50.0% of the number of parcels"),
        "{text}"
    );

    // Rainfall is 1 on the first day and one more each day after: 2020 has 366 days.
    let in_2020: f64 = (1..=366).map(f64::from).sum();
    let in_2021: f64 = (367..=731).map(f64::from).sum();
    let answer = ask(
        &mut client,
        "how much did total rainfall change between 2020 and 2021",
        None,
    )
    .await;
    let row = answer.completed("fetchingData")["payload"]["data"][0].clone();
    assert_eq!(row["total_rainfall_2020"].as_f64(), Some(in_2020), "{row}");
    assert_eq!(row["total_rainfall_2021"].as_f64(), Some(in_2021), "{row}");
    assert_eq!(row["change"].as_f64(), Some(in_2021 - in_2020), "{row}");
    assert!(
        summary(&answer).contains("a change of 133,224"),
        "{}",
        summary(&answer)
    );

    // Monthly totals first, then their average: not the average day.
    let answer = ask(&mut client, "average monthly rainfall in 2020", None).await;
    let row = answer.completed("fetchingData")["payload"]["data"][0].clone();
    assert_eq!(
        row["average_monthly_total_rainfall"].as_f64(),
        Some(in_2020 / 12.0),
        "{row}"
    );
    assert_eq!(
        answer.message()["responses"]["interpretation"],
        "Average of the monthly values, one for each month of day, of: total of rainfall over \
         rows where day is from 2020-01-01 to 2020-12-31."
    );
}

#[tokio::test]
async fn a_follow_up_keeps_the_one_value_the_previous_answer_named() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let first = ask(&mut client, "show me my top customer", None).await;
    let top = first.completed("fetchingData")["payload"]["data"][0]["customer_name"]
        .as_str()
        .expect("the top customer")
        .to_string();
    let thread = first.thread_id();
    let answer = ask(&mut client, "break that down by year", Some(&thread)).await;
    assert_eq!(
        answer.message()["responses"]["interpretation"],
        format!(
            "Total of total_sales_amount over rows where customer_name is {top}, for each year \
             of order_date."
        )
    );
    let sql = answer.completed("generatingSql")["payload"]["sql"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sql.contains(&format!("customer_name = '{top}'")), "{sql}");
    // Asking about another customer replaces the one named.
    let other = if top == "QUICK-Stop" {
        "Ernst Handel"
    } else {
        "QUICK-Stop"
    };
    let answer = ask(&mut client, &format!("now for {other}"), Some(&thread)).await;
    let sql = answer.completed("generatingSql")["payload"]["sql"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        sql.contains(&format!("customer_name = '{other}'")) && !sql.contains(&top),
        "{sql}"
    );
}

#[tokio::test]
async fn the_top_few_of_each_group_are_ranked_within_it() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let answer = ask(&mut client, "top 2 products by sales in each region", None).await;
    let rows = answer.completed("fetchingData")["payload"]["data"]
        .as_array()
        .unwrap()
        .clone();
    let mut by_region: std::collections::BTreeMap<String, Vec<(String, f64)>> = Default::default();
    for row in &rows {
        by_region
            .entry(row["region"].as_str().unwrap().to_string())
            .or_default()
            .push((
                row["product"].as_str().unwrap().to_string(),
                row["total_sales"].as_f64().unwrap(),
            ));
    }
    assert_eq!(by_region.len(), 5, "every region: {rows:?}");
    for (region, products) in &by_region {
        assert_eq!(products.len(), 2, "{region}: {products:?}");
        assert!(products[0].1 >= products[1].1, "{region}: {products:?}");
        // The first of each region is that region's top product, asked on its own.
        let alone = ask(
            &mut client,
            &format!("top product by sales for {region}"),
            None,
        )
        .await;
        let top = alone.completed("fetchingData")["payload"]["data"][0].clone();
        assert_eq!(top["product"], products[0].0.as_str(), "{region}");
        assert_eq!(top["total_sales"].as_f64(), Some(products[0].1), "{region}");
    }
    assert!(
        answer.message()["responses"]["interpretation"]
            .as_str()
            .unwrap()
            .ends_with("keeping the 2 highest in each region."),
        "{}",
        answer.message()["responses"]["interpretation"]
    );
}

/// A column named like a period ("day": the day of the month) next to the date column must not
/// stand in for the period: grouping by day is by date, and "how many days" counts days.
#[tokio::test]
async fn a_column_named_like_a_period_does_not_stand_in_for_it() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    // 61 days from May 1st: every day of the month but the 31st comes twice. Ozone is the
    // day's number from the start, so the last day is the highest.
    let start = chrono::NaiveDate::from_ymd_opt(2020, 5, 1).unwrap();
    let mut csv = String::from("date,day,ozone\n");
    for i in 0..61u64 {
        let date = start + chrono::Days::new(i);
        csv.push_str(&format!("{date},{},{i}\n", chrono::Datelike::day(&date)));
    }
    add_csv(&server, "readings", &csv);
    let answer = ask(&mut client, "highest ozone by day", None).await;
    let rows = answer.completed("fetchingData")["payload"]["data"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 61, "one row per date");
    let answer = ask(&mut client, "which day had the highest ozone", None).await;
    let row = answer.completed("fetchingData")["payload"]["data"][0].clone();
    assert_eq!(row["day"], "2020-06-30", "{row}");
    // Days 51 to 60, though their days of the month are only 21 to 30.
    let answer = ask(&mut client, "how many days had ozone above 50", None).await;
    let row = answer.completed("fetchingData")["payload"]["data"][0].clone();
    assert_eq!(row["row_count"], 10, "{row}");
}

/// Weeks cut by the ends of the data (the first starts before 2022-01-01, the last ends after
/// 2024-12-31) are named as partial and not compared as if whole; whole months are compared.
#[tokio::test]
async fn periods_the_data_covers_only_in_part_are_not_compared_as_whole() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let weekly = ask(&mut client, "total sales by week", None).await;
    let summary = weekly.message()["responses"]["messages"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        summary.contains("the lowest 2021-12-27 (only partly in the data)"),
        "{summary}"
    );
    assert!(
        summary.contains("The data covers the weeks 2021-12-27 and 2024-12-30 only in part, so they are not compared."),
        "{summary}"
    );
    assert!(!summary.contains("From 2021-12-27"), "{summary}");
    let monthly = ask(&mut client, "total sales by month", None).await;
    let summary = monthly.message()["responses"]["messages"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        summary.contains("From 2022-01 to 2024-12 it rose"),
        "{summary}"
    );
    assert!(!summary.contains("partly"), "{summary}");
}
