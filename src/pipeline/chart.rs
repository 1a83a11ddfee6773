//! An answer's chart: `chart_config` names the columns (`type`, `x`, `y`, `series`, `unit`)
//! and carries a complete Vega-Lite spec (`vega_lite`) of them, so any client with Vega-Lite
//! draws the same chart; the rows go in as the data set named `rows`, and the client picks the
//! size.
//!
//! The rules, all from the result's shape and the plan's meaning, none from a question:
//! - a single number is a `single_value` with its unit;
//! - periods go on a time axis (a line), quarters and calendar cycles on an ordered one;
//! - other groups are bars in the query's order (a ranking stays ranked);
//! - a second grouping becomes one series per value: lines, or bars grouped side by side,
//!   stacked only when the values add up (sums and counts; never averages or shares).

use super::planner::{additive, Derived, Group, Plan};
use super::timeframe::Grain;
use crate::datasets::QueryResult;
use crate::model::ColumnType;
use serde_json::{json, Value};

/// What the x axis holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Axis {
    /// Dates at a grain Vega-Lite reads (`utcyearmonth`, …).
    Time(&'static str),
    /// Ordered labels drawn in the result's order (quarters, months of the year).
    Ordered,
    /// Categories drawn in the result's order.
    Categories,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Line,
    Bar,
    StackedBar,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Line => "line",
            Kind::Bar => "bar",
            Kind::StackedBar => "stacked_bar",
        }
    }
}

/// A chart of two or more columns.
struct Shape<'a> {
    kind: Kind,
    x: &'a str,
    y: &'a str,
    series: Option<&'a str>,
    axis: Axis,
    x_title: String,
    y_title: String,
    unit: Option<String>,
    /// Points on a line mark each row only while few enough to read.
    rows: usize,
    /// Distinct values of x and of the series: labels lie flat while few, and enough
    /// colours are picked for every series.
    categories: usize,
    series_count: usize,
}

/// (chart_config, chart_recommendations) for an answer the planner made.
pub fn chart(plan: &Plan, result: &QueryResult) -> (Value, Value) {
    if plan.listing {
        // Whole rows read best as the table itself.
        return no_chart();
    }
    let y = plan.value_alias();
    let unit = match &plan.derived {
        Some(Derived::Share) => Some("%".to_string()),
        _ => plan.measure.unit.clone(),
    };
    let x = result
        .columns
        .first()
        .map(|c| c.name.as_str())
        .unwrap_or("");
    let Some(group) = &plan.group else {
        return single_value(&y, &plan.measure.label, unit);
    };
    if result.rows.len() == 1 {
        return single_value(&y, x, unit);
    }
    let series = plan
        .split
        .as_deref()
        .and_then(|split| result.columns.iter().find(|c| c.name == split))
        .map(|c| c.name.as_str())
        .filter(|&name| name != x);
    let axis = match group {
        Group::Time { grain, .. } => grain_axis(*grain),
        Group::Cycle { .. } => Axis::Ordered,
        Group::Dimension { .. } => Axis::Categories,
    };
    let kind = match (axis, series) {
        (Axis::Time(_), _) if plan.ranking.is_none() => Kind::Line,
        (_, Some(_)) if plan.derived.is_none() && additive(&plan.measure) => Kind::StackedBar,
        _ => Kind::Bar,
    };
    let measure_title = match &plan.derived {
        None => plan.measure.label.clone(),
        Some(_) => title_of(&y),
    };
    draw(Shape {
        kind,
        x,
        y: &y,
        series,
        axis,
        x_title: title_of(&group.unit()),
        y_title: measure_title,
        unit,
        rows: result.rows.len(),
        categories: result.distinct(x).unwrap_or(0),
        series_count: series.and_then(|s| result.distinct(s)).unwrap_or(0),
    })
}

/// A chart for a result whatever SQL made it: a single number, a line over a date-like first
/// column, else bars of the first column against the last numeric one; a second text column
/// before the number makes one series per value.
pub fn chart_for_result(result: &QueryResult) -> (Value, Value) {
    let Some(y) = result.columns.iter().rev().find(|c| c.kind.is_numeric()) else {
        return no_chart();
    };
    if result.columns.len() == 1 || result.rows.len() == 1 {
        return single_value(&y.name, &y.name, None);
    }
    let x = &result.columns[0];
    let texts: Vec<Option<&str>> = result.rows.iter().map(|row| row[0].as_str()).collect();
    let axis = match x.kind {
        ColumnType::Date | ColumnType::Timestamp => Axis::Time(date_grain(&texts)),
        _ if texts.iter().all(|t| t.is_some_and(looks_like_date)) => Axis::Time(date_grain(&texts)),
        _ if texts.iter().all(|t| t.is_some_and(starts_with_year)) => Axis::Ordered,
        _ => Axis::Categories,
    };
    let series = result
        .columns
        .get(1)
        .filter(|c| result.columns.len() >= 3 && !c.kind.is_numeric() && c.name != y.name)
        .map(|c| c.name.as_str());
    let kind = if matches!(axis, Axis::Time(_)) {
        Kind::Line
    } else {
        Kind::Bar
    };
    draw(Shape {
        kind,
        x: &x.name,
        y: &y.name,
        series,
        axis,
        x_title: title_of(&x.name),
        y_title: title_of(&y.name),
        unit: None,
        rows: result.rows.len(),
        categories: result.distinct(&x.name).unwrap_or(0),
        series_count: series.and_then(|s| result.distinct(s)).unwrap_or(0),
    })
}

/// Whether a chart config still names columns of `result`.
pub fn chart_fits(config: &Value, result: &QueryResult) -> bool {
    let has = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_str)
            .is_none_or(|name| result.columns.iter().any(|c| c.name == name))
    };
    config.get("type").is_some() && has("x") && has("y") && has("value") && has("series")
}

fn no_chart() -> (Value, Value) {
    (json!({}), json!({"recommended": null, "alternatives": []}))
}

fn single_value(value: &str, label: &str, unit: Option<String>) -> (Value, Value) {
    (
        json!({"type": "single_value", "value": value, "label": label, "unit": unit}),
        json!({"recommended": "single_value", "alternatives": []}),
    )
}

fn draw(shape: Shape<'_>) -> (Value, Value) {
    let alternatives: Vec<&str> = match (shape.kind, shape.series) {
        (Kind::Line, _) => vec!["bar"],
        (_, Some(_)) => vec![if shape.kind == Kind::Bar {
            "stacked_bar"
        } else {
            "bar"
        }],
        _ => vec!["line"],
    };
    let mut config = json!({
        "type": shape.kind.name(),
        "x": shape.x,
        "y": shape.y,
        "unit": shape.unit,
        "vega_lite": vega_lite(&shape),
    });
    if let Some(series) = shape.series {
        config["series"] = series.into();
    }
    let recommendations = json!({"recommended": shape.kind.name(), "alternatives": alternatives});
    (config, recommendations)
}

/// The Vega-Lite spec of a shape; its data is the set named `rows` (the result's rows as
/// objects), which the client supplies, as it sizes the chart to its page. Tooltips come from
/// the encoding (titles, time units) with their number format in `config`: spelling each
/// tooltip field out again doubled the spec, and every answer of a thread state carries one.
fn vega_lite(shape: &Shape<'_>) -> Value {
    let y_title = match shape.unit.as_deref() {
        Some(unit) if unit != "USD" => format!("{} ({unit})", shape.y_title),
        _ => shape.y_title.clone(),
    };
    // Exact amounts in tooltips; the axis abbreviates money ($170k).
    let config = match shape.unit.as_deref() {
        Some("USD") => {
            json!({"tooltipFormat": {"numberFormat": "$,.2f"}, "axisY": {"format": "$~s"}})
        }
        _ => json!({"tooltipFormat": {"numberFormat": ",.2~f"}}),
    };
    let mut x = json!({"field": field(shape.x), "title": shape.x_title});
    match shape.axis {
        Axis::Time(unit) => {
            x["type"] = "temporal".into();
            x["timeUnit"] = unit.into();
        }
        Axis::Ordered | Axis::Categories => {
            x["type"] = if shape.axis == Axis::Ordered {
                "ordinal"
            } else {
                "nominal"
            }
            .into();
            // The query's order: a ranking stays ranked, quarters stay in order.
            x["sort"] = Value::Null;
            let angle = if shape.categories <= 12 { 0 } else { -40 };
            x["axis"] = json!({"labelOverlap": "greedy", "labelLimit": 140, "labelAngle": angle});
        }
    }
    let y = json!({"field": field(shape.y), "type": "quantitative", "title": y_title});
    let mut encoding = json!({"x": x, "y": y});
    if let Some(series) = shape.series {
        let title = title_of(series);
        encoding["color"] =
            json!({"field": field(series), "type": "nominal", "title": title, "sort": null});
        // Vega-Lite's ten colours (tableau10), or twenty when there are more series than that.
        if shape.series_count > 10 {
            encoding["color"]["scale"] = json!({"scheme": "tableau20"});
        }
        if shape.kind == Kind::Bar {
            // Titled like the colour, so a tooltip names the series once.
            encoding["xOffset"] = json!({"field": field(series), "sort": null, "title": title});
        }
    }
    let mark = match shape.kind {
        Kind::Line => json!({"type": "line", "point": shape.rows <= 60, "tooltip": true}),
        Kind::Bar | Kind::StackedBar => json!({"type": "bar", "tooltip": true}),
    };
    json!({
        "config": config,
        "data": {"name": "rows"},
        "mark": mark,
        "encoding": encoding,
    })
}

fn grain_axis(grain: Grain) -> Axis {
    match grain {
        Grain::Day | Grain::Week => Axis::Time("utcyearmonthdate"),
        Grain::Month => Axis::Time("utcyearmonth"),
        Grain::Quarter => Axis::Ordered,
        Grain::Year => Axis::Time("utcyear"),
    }
}

/// The grain dates like "2024", "2024-03" or "2024-03-05" are written at.
fn date_grain(texts: &[Option<&str>]) -> &'static str {
    let longest = texts.iter().flatten().map(|t| t.len()).max().unwrap_or(0);
    match longest {
        0..=4 => "utcyear",
        5..=7 => "utcyearmonth",
        8..=10 => "utcyearmonthdate",
        _ => "utcyearmonthdatehoursminutes",
    }
}

/// "2024", "2024-03", "2024-03-05", "2024-03-05 10:00": what a time axis can read.
fn looks_like_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    match bytes.len() {
        4 => digits(0..4),
        7 => digits(0..4) && bytes[4] == b'-' && digits(5..7),
        10.. => {
            digits(0..4) && bytes[4] == b'-' && digits(5..7) && bytes[7] == b'-' && digits(8..10)
        }
        _ => false,
    }
}

/// "2024-Q1": ordered by the text, but no date.
fn starts_with_year(text: &str) -> bool {
    text.len() >= 4 && text.as_bytes()[..4].iter().all(u8::is_ascii_digit)
}

/// "total_sales" → "Total sales".
fn title_of(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A column name as a Vega-Lite field: dots and brackets would mean nested fields.
fn field(name: &str) -> String {
    name.replace('\\', "\\\\")
        .replace('.', "\\.")
        .replace('[', "\\[")
        .replace(']', "\\]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::ResultColumn;

    fn result(columns: &[(&str, ColumnType)], rows: Vec<Vec<Value>>) -> QueryResult {
        QueryResult {
            columns: columns
                .iter()
                .map(|(name, kind)| ResultColumn {
                    name: name.to_string(),
                    kind: *kind,
                })
                .collect(),
            rows,
            truncated: false,
            row_cap: 1000,
        }
    }

    #[test]
    fn months_of_sql_results_go_on_a_time_axis() {
        let rows = vec![json!(["2024-01", 3.0]).as_array().unwrap().clone(); 3];
        let (config, _) = chart_for_result(&result(
            &[("month", ColumnType::Text), ("total", ColumnType::Real)],
            rows,
        ));
        assert_eq!(config["type"], "line");
        let x = &config["vega_lite"]["encoding"]["x"];
        assert_eq!(x["type"], "temporal");
        assert_eq!(x["timeUnit"], "utcyearmonth");
        // Tooltips from the encoding, numbers in them to two decimals.
        let spec = &config["vega_lite"];
        assert_eq!(spec["mark"]["tooltip"], true);
        assert_eq!(spec["config"]["tooltipFormat"]["numberFormat"], ",.2~f");
        assert_eq!(spec["config"]["axisY"], Value::Null);
    }

    #[test]
    fn quarters_and_categories_keep_the_query_order() {
        let rows = vec![json!(["2024-Q1", 3.0]).as_array().unwrap().clone(); 3];
        let (config, _) = chart_for_result(&result(
            &[("quarter", ColumnType::Text), ("total", ColumnType::Real)],
            rows,
        ));
        assert_eq!(config["type"], "bar");
        assert_eq!(config["vega_lite"]["encoding"]["x"]["type"], "ordinal");
        assert_eq!(config["vega_lite"]["encoding"]["x"]["sort"], Value::Null);
    }

    #[test]
    fn a_second_text_column_makes_series() {
        let rows = vec![json!(["a", "x", 1.0]).as_array().unwrap().clone(); 4];
        let (config, recommendations) = chart_for_result(&result(
            &[
                ("region", ColumnType::Text),
                ("segment", ColumnType::Text),
                ("n", ColumnType::Integer),
            ],
            rows,
        ));
        assert_eq!(config["series"], "segment");
        assert_eq!(
            config["vega_lite"]["encoding"]["xOffset"]["field"],
            "segment"
        );
        // Titled like the colour, so a tooltip names the series once.
        assert_eq!(
            config["vega_lite"]["encoding"]["xOffset"]["title"],
            config["vega_lite"]["encoding"]["color"]["title"]
        );
        assert_eq!(recommendations["alternatives"], json!(["stacked_bar"]));
    }

    #[test]
    fn money_tooltips_are_exact_while_the_axis_abbreviates() {
        let spec = vega_lite(&Shape {
            kind: Kind::Bar,
            x: "region",
            y: "sales",
            series: None,
            axis: Axis::Categories,
            x_title: "Region".into(),
            y_title: "Sales".into(),
            unit: Some("USD".into()),
            rows: 5,
            categories: 5,
            series_count: 0,
        });
        assert_eq!(spec["config"]["tooltipFormat"]["numberFormat"], "$,.2f");
        assert_eq!(spec["config"]["axisY"]["format"], "$~s");
        assert_eq!(spec["encoding"]["y"]["title"], "Sales");
    }

    #[test]
    fn field_names_with_dots_are_escaped() {
        assert_eq!(field("a.b[0]"), "a\\.b\\[0\\]");
        assert!(looks_like_date("2024-03-05 10:00"));
        assert!(!looks_like_date("2024-Q1"));
        assert_eq!(title_of("total_sales"), "Total sales");
    }
}
