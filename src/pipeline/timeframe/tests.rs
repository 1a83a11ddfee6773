//! Ranges and grains read from questions.

use super::ranges::ymd;
use super::*;
use crate::pipeline::text::words;

fn range(q: &str) -> TimeRange {
    find_range(&words(q), ymd(2024, 12, 31)).unwrap().0
}

#[test]
fn ranges() {
    let r = range("sales in the last 30 days");
    assert_eq!((r.start, r.end), (ymd(2024, 12, 2), ymd(2025, 1, 1)));
    assert_eq!(r.label, "Last 30 days");
    let r = range("average order value last year");
    assert_eq!((r.start, r.end), (ymd(2023, 1, 1), ymd(2024, 1, 1)));
    let r = range("how many orders in 2023");
    assert_eq!(
        (r.start, r.end, r.label.as_str()),
        (ymd(2023, 1, 1), ymd(2024, 1, 1), "2023")
    );
    let r = range("this month");
    assert_eq!((r.start, r.end), (ymd(2024, 12, 1), ymd(2025, 1, 1)));
    let r = range("sales in Q3 2024");
    assert_eq!((r.start, r.end), (ymd(2024, 7, 1), ymd(2024, 10, 1)));
    let r = range("sales in march 2023");
    assert_eq!(
        (r.start, r.end, r.label.as_str()),
        (ymd(2023, 3, 1), ymd(2023, 4, 1), "March 2023")
    );
    let r = range("last month");
    assert_eq!((r.start, r.end), (ymd(2024, 11, 1), ymd(2024, 12, 1)));
    assert!(find_range(&words("sales by region"), ymd(2024, 12, 31)).is_none());
}

#[test]
fn days_spans_and_open_ranges() {
    let span = |q: &str| {
        let r = range(q);
        (r.start, r.end, r.label)
    };
    let day = ymd(2014, 7, 4);
    let next = ymd(2014, 7, 5);
    assert_eq!(span("rain on 2014-07-04"), (day, next, "2014-07-04".into()));
    assert_eq!(
        span("rain on July 4, 2014"),
        (day, next, "2014-07-04".into())
    );
    assert_eq!(
        span("rain on 4 July 2014"),
        (day, next, "2014-07-04".into())
    );
    assert_eq!(
        span("sales in 2013-02"),
        (ymd(2013, 2, 1), ymd(2013, 3, 1), "2013-02".into())
    );
    assert_eq!(
        span("from March 2013 to May 2013"),
        (
            ymd(2013, 3, 1),
            ymd(2013, 6, 1),
            "March 2013 to May 2013".into()
        )
    );
    assert_eq!(
        span("between 2013-01-05 and 2013-01-10"),
        (
            ymd(2013, 1, 5),
            ymd(2013, 1, 11),
            "2013-01-05 to 2013-01-10".into()
        )
    );
    assert_eq!(
        span("between 2001 and 2003"),
        (ymd(2001, 1, 1), ymd(2004, 1, 1), "2001–2003".into())
    );
    assert_eq!(
        span("unemployment in the 1990s"),
        (ymd(1990, 1, 1), ymd(2000, 1, 1), "1990s".into())
    );
    assert_eq!(
        span("before 1990"),
        (OPEN_START, ymd(1990, 1, 1), "Before 1990".into())
    );
    assert_eq!(
        span("after June 2005"),
        (ymd(2005, 7, 1), OPEN_END, "After June 2005".into())
    );
    // A later end than start is required; "2 to 3" is no span of years.
    assert!(
        find_range(&words("2023 to 2021"), ymd(2024, 1, 1)).is_some_and(|(r, _)| r.label == "2023")
    );
}

#[test]
fn grains() {
    let grain = |q: &str| {
        let tokens = words(q);
        find_grain(&tokens, &vec![false; tokens.len()]).map(|(g, _)| g)
    };
    assert_eq!(grain("total sales by month"), Some(Grain::Month));
    assert_eq!(
        grain("can you break that down week by week"),
        Some(Grain::Week)
    );
    assert_eq!(grain("quarterly revenue"), Some(Grain::Quarter));
    assert_eq!(grain("sales by region"), None);
}
