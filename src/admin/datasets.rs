//! `skein dataset …`: adding, listing, describing, replacing and removing datasets, run by
//! the admin socket's server or by the CLI on a stopped one.

use super::{unreadable, AdminCommand, AdminResult};
use crate::auth;
use crate::datasets::{Datasets, Describe};
use crate::error::{Code, Error};
use crate::model::{Dataset, DatasetSource, Org};
use crate::store::Store;

pub async fn execute(store: &Store, datasets: &Datasets, command: AdminCommand) -> AdminResult {
    match command {
        AdminCommand::AddDataset {
            name,
            csv,
            sqlite,
            table,
            describe,
            org,
        } => {
            let org = org_named(store, org.as_deref()).await?;
            let describe = match describe {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
                    Some(Describe::parse(&text).map_err(Error::invalid)?)
                }
                None => None,
            };
            let dataset = match (csv, sqlite, table) {
                (Some(csv), None, None) => {
                    let bytes = std::fs::read(&csv).map_err(|e| unreadable(&csv, e))?;
                    datasets.add_csv(org.id, &name, bytes, describe).await
                }
                (None, Some(file), Some(table)) => {
                    datasets
                        .add_sqlite(org.id, &name, &file, &table, describe)
                        .await
                }
                _ => {
                    return Err(Error::invalid(
                        "give either --csv FILE, or --sqlite FILE --table TABLE",
                    ))
                }
            }?;
            let columns: Vec<String> = dataset
                .columns
                .iter()
                .map(|c| format!("{} {}", c.name, c.kind.pg_name()))
                .collect();
            Ok(format!(
                "added dataset {} (table {}, {} columns: {})\nid: {}",
                dataset.name,
                dataset.table,
                columns.len(),
                columns.join(", "),
                dataset.id
            ))
        }
        AdminCommand::ListDatasets => {
            let orgs = store.orgs().await?;
            let all = store.datasets().await?;
            let mut lines = vec!["ID\tNAME\tTABLE\tORG\tSOURCE".to_string()];
            lines.extend(all.iter().map(|d| {
                let org = orgs
                    .iter()
                    .find(|o| o.id == d.org_id)
                    .map_or("?", |o| o.name.as_str());
                let source = match &d.source {
                    DatasetSource::Imported => "imported".to_string(),
                    DatasetSource::External { path } => path.clone(),
                };
                format!("{}\t{}\t{}\t{}\t{}", d.id, d.name, d.table, org, source)
            }));
            Ok(lines.join("\n"))
        }
        AdminCommand::DescribeDataset { dataset, org } => {
            let dataset = find(store, org.as_deref(), &dataset).await?;
            describe(datasets, &dataset).await
        }
        AdminCommand::ReplaceDataset { dataset, csv, org } => {
            let dataset = find(store, org.as_deref(), &dataset).await?;
            let bytes = std::fs::read(&csv).map_err(|e| unreadable(&csv, e))?;
            let replaced = datasets.replace_csv(&dataset, bytes).await?;
            let (rows, _) = datasets.sample(&replaced).await?;
            Ok(format!(
                "replaced the rows of {} ({rows} rows, {} columns)",
                replaced.name,
                replaced.columns.len()
            ))
        }
        AdminCommand::RemoveDataset { dataset, org } => {
            let dataset = find(store, org.as_deref(), &dataset).await?;
            datasets.remove(&dataset).await?;
            Ok(format!("removed dataset {} ({})", dataset.name, dataset.id))
        }
        other => unreachable!("not a dataset command: {other:?}"),
    }
}

async fn org_named(store: &Store, org: Option<&str>) -> Result<Org, Error> {
    let org_name = org.unwrap_or(auth::DEFAULT_ORG);
    store.org_by_name(org_name).await?.ok_or_else(|| {
        Error::new(
            Code::OrgNotFound,
            format!("no organization named {org_name:?}"),
        )
    })
}

/// A dataset of the org by id, name or table name (ignoring case).
async fn find(store: &Store, org: Option<&str>, key: &str) -> Result<Dataset, Error> {
    let org = org_named(store, org).await?;
    store
        .datasets()
        .await?
        .into_iter()
        .filter(|d| d.org_id == org.id)
        .find(|d| {
            d.id.to_string() == key
                || d.name.eq_ignore_ascii_case(key)
                || d.table.eq_ignore_ascii_case(key)
        })
        .ok_or_else(|| {
            Error::new(
                Code::DatasetNotFound,
                format!("{} has no dataset {key:?}", org.name),
            )
        })
}

/// The notes the analyst reads, the row count and example questions, as text.
async fn describe(datasets: &Datasets, dataset: &Dataset) -> AdminResult {
    let (rows, _) = datasets.sample(dataset).await?;
    let source = match &dataset.source {
        DatasetSource::Imported => "imported".to_string(),
        DatasetSource::External { path } => format!("{path} (read only)"),
    };
    let mut lines = vec![
        format!(
            "{} (table {}, {rows} rows, {source})",
            dataset.name, dataset.table
        ),
        format!("id: {}", dataset.id),
    ];
    if let Some(description) = &dataset.description {
        lines.push(description.clone());
    }
    lines.push(String::new());
    lines.push("COLUMN\tTYPE\tROLE\tAGGREGATE\tUNIT\tMEANING".into());
    for column in &dataset.columns {
        lines.push(format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            column.name,
            column.kind.pg_name(),
            column.role.name(),
            column.aggregate.map_or("-", |a| a.name()),
            column.unit.as_deref().unwrap_or("-"),
            column.meaning.as_deref().unwrap_or("-"),
        ));
    }
    for term in &dataset.terms {
        lines.push(format!("term {}: {}", term.name, term.sql));
    }
    let examples = crate::pipeline::example_questions(datasets, dataset).await;
    if !examples.is_empty() {
        lines.push(String::new());
        lines.push(format!("questions to try: {}", examples.join("; ")));
    }
    Ok(lines.join("\n"))
}
