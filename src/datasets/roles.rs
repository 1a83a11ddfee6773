//! What a column is for, inferred at import when the describe file does not say: its role
//! (id, time, dimension, measure). How a measure's values combine is
//! [`crate::model::aggregate::infer_aggregate`].

use crate::model::{ColumnRole, ColumnType};

/// Numbers are measures, except row ids (`id`, `*_id`) and calendar parts (`year`, `month`…),
/// which identify or group rows; dates are time; text is a dimension.
pub fn default_role(name: &str, kind: ColumnType) -> ColumnRole {
    match kind {
        ColumnType::Date | ColumnType::Timestamp => ColumnRole::Time,
        ColumnType::Text => ColumnRole::Dimension,
        ColumnType::Integer | ColumnType::Real => {
            let lower = name.to_ascii_lowercase();
            if lower == "id" || lower.ends_with("_id") {
                ColumnRole::Id
            } else if kind == ColumnType::Integer && is_calendar_part(&lower) {
                ColumnRole::Dimension
            } else {
                ColumnRole::Measure
            }
        }
    }
}

fn is_calendar_part(name: &str) -> bool {
    let last = name.rsplit('_').next().unwrap_or(name);
    matches!(
        last,
        "year" | "yr" | "quarter" | "month" | "week" | "day" | "weekday" | "hour"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_parts_group_rows() {
        assert_eq!(
            default_role("year", ColumnType::Integer),
            ColumnRole::Dimension
        );
        assert_eq!(
            default_role("model_year", ColumnType::Integer),
            ColumnRole::Dimension
        );
        assert_eq!(default_role("year", ColumnType::Real), ColumnRole::Measure);
        assert_eq!(
            default_role("customer_id", ColumnType::Integer),
            ColumnRole::Id
        );
        assert_eq!(
            default_role("weight", ColumnType::Real),
            ColumnRole::Measure
        );
    }
}
