//! What one question says, settled from its words ([`super::read`]) before it becomes a plan.

use super::{Condition, Derived, Filter, Group, Measure, Ranking};
use crate::pipeline::timeframe::TimeRange;

/// What one question says, before it is settled into a plan.
#[derive(Debug, Default)]
pub(super) struct Intent {
    pub(super) measure: Option<Measure>,
    pub(super) group: Option<Group>,
    pub(super) filters: Vec<Filter>,
    pub(super) range: Option<TimeRange>,
    pub(super) ranking: Option<Ranking>,
    /// "that", "now", "instead", "only": the question refers to the previous one.
    pub(super) refers_back: bool,
    pub(super) conditions: Vec<Condition>,
    pub(super) split: Option<String>,
    /// The rows themselves, ranked by the measure ("the heaviest penguin").
    pub(super) listing: bool,
    /// A share of the total or a change between periods.
    pub(super) derived: Option<Derived>,
    /// The measure is a row count only because the rows were named ("penguins by island"),
    /// not asked for: a follow-up keeps its previous measure.
    pub(super) implied_count: bool,
    pub(super) understood: Vec<String>,
    /// Words not accounted for: any makes the question unanswerable by the planner.
    pub(super) leftover: Vec<String>,
}
