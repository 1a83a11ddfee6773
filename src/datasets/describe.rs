//! The optional TOML description of a dataset (`--describe FILE.toml`): display name,
//! description, per-column notes and business terms. See `assets/sample/sales_summary.toml`.

use super::roles::default_role;
use crate::model::aggregate::infer_aggregate;
use crate::model::{Aggregate, Column, ColumnRole, ColumnType, Term};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Describe {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnNotes>,
    #[serde(default)]
    pub terms: Vec<TermNotes>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnNotes {
    pub meaning: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
    pub unit: Option<String>,
    /// `id`, `time`, `dimension` or `measure`; inferred from the type when absent.
    pub role: Option<String>,
    /// `integer`, `real`, `date`, `timestamp` or `text`; enforces the type on import.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// For measures: `sum`, `avg`, `min`, `max` or `last`; inferred when absent.
    pub aggregate: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermNotes {
    pub name: String,
    pub definition: Option<String>,
    pub sql: String,
    pub unit: Option<String>,
}

impl Describe {
    pub fn parse(text: &str) -> Result<Describe, String> {
        toml::from_str(text).map_err(|err| format!("invalid describe file: {err}"))
    }

    /// Column types the file declares, checked to be known names.
    pub fn declared_types(&self) -> Result<BTreeMap<String, ColumnType>, String> {
        let mut types = BTreeMap::new();
        for (name, notes) in &self.columns {
            if let Some(kind) = &notes.kind {
                types.insert(name.clone(), parse_type(kind)?);
            }
        }
        Ok(types)
    }

    /// Builds the dataset's columns from the table's (name, type) pairs and these notes.
    pub fn columns(&self, table_columns: &[(String, ColumnType)]) -> Result<Vec<Column>, String> {
        for name in self.columns.keys() {
            if !table_columns.iter().any(|(column, _)| column == name) {
                let known: Vec<&str> = table_columns.iter().map(|(c, _)| c.as_str()).collect();
                return Err(format!(
                    "the describe file notes column {name:?}, which the table does not have (it has {})",
                    known.join(", ")
                ));
            }
        }
        table_columns
            .iter()
            .map(|(name, kind)| {
                let notes = self.columns.get(name).cloned().unwrap_or_default();
                let role = match &notes.role {
                    Some(role) => parse_role(role)?,
                    None => default_role(name, *kind),
                };
                let aggregate = match (&notes.aggregate, role) {
                    (Some(text), ColumnRole::Measure) => Some(Aggregate::parse(text).ok_or_else(|| {
                        format!("unknown aggregate {text:?} for column {name:?}; use sum, avg, min, max or last")
                    })?),
                    (Some(_), _) => {
                        return Err(format!(
                            "column {name:?} has an aggregate but is not a measure"
                        ))
                    }
                    (None, ColumnRole::Measure) => Some(infer_aggregate(
                        name,
                        notes.meaning.as_deref(),
                        notes.unit.as_deref(),
                        &notes.synonyms,
                    )),
                    (None, _) => None,
                };
                Ok(Column {
                    name: name.clone(),
                    kind: *kind,
                    role,
                    meaning: notes.meaning,
                    synonyms: notes.synonyms,
                    unit: notes.unit,
                    aggregate,
                })
            })
            .collect()
    }

    pub fn terms(&self) -> Vec<Term> {
        self.terms
            .iter()
            .map(|term| Term {
                id: Uuid::new_v4(),
                name: term.name.clone(),
                definition: term.definition.clone(),
                sql: term.sql.clone(),
                unit: term.unit.clone(),
            })
            .collect()
    }
}

fn parse_type(text: &str) -> Result<ColumnType, String> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "integer" | "int" => ColumnType::Integer,
        "real" | "float" | "number" => ColumnType::Real,
        "date" => ColumnType::Date,
        "timestamp" | "datetime" => ColumnType::Timestamp,
        "text" | "string" => ColumnType::Text,
        other => {
            return Err(format!(
                "unknown column type {other:?}; use integer, real, date, timestamp or text"
            ))
        }
    })
}

fn parse_role(text: &str) -> Result<ColumnRole, String> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "id" => ColumnRole::Id,
        "time" => ColumnRole::Time,
        "dimension" => ColumnRole::Dimension,
        "measure" => ColumnRole::Measure,
        other => {
            return Err(format!(
                "unknown column role {other:?}; use id, time, dimension or measure"
            ))
        }
    })
}
