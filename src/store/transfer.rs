//! `skein migrate`: copies an embedded data dir's records into PostgreSQL, table by table, and
//! checks every copied row by reading it back.
//!
//! Safe to run again: rows already there (by key) are left as they are, so a second run copies
//! nothing new and verifies the same. Derived data (vectors, the change log) is not copied:
//! nodes rebuild their indexes from the database on start. Analyses that were pending in the data
//! dir are the next starting node's to mark interrupted (they belong to no live node).

use super::postgres::Cell;
use super::{codec, Backend, Error, Store};
use crate::model::{Dataset, Message, Org, Thread, User};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// One table's copy: rows in the data dir, how many were new to the database, and the SHA-256
/// of the rows (in key order) as read back from the database.
pub struct TableCopy {
    pub table: &'static str,
    pub rows: usize,
    pub inserted: u64,
    pub checksum: String,
    /// Every row read back equals the one copied.
    pub verified: bool,
}

impl Store {
    /// Copies this embedded store's records into the PostgreSQL store `to` (see the module).
    pub async fn copy_into(&self, to: &Store) -> Result<Vec<TableCopy>, Error> {
        let (Backend::Sled(from), Backend::Postgres(to)) = (&self.backend, &to.backend) else {
            return Err(Error::Unsupported(
                "migrate copies an embedded data dir into PostgreSQL",
            ));
        };
        let mut report = Vec::new();
        for (table, rows) in tables(from)? {
            let inserted = to.insert_missing(&table, &rows).await?;
            let stored = to.read_back(&table, &rows).await?;
            report.push(TableCopy {
                table: table.name,
                rows: rows.len(),
                inserted,
                checksum: checksum(&stored),
                verified: stored == rows,
            });
        }
        Ok(report)
    }
}

/// A table of the PostgreSQL schema as the copy fills it: its columns, the first `key` of which
/// are its primary key.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub key: usize,
}

const fn table(name: &'static str, columns: &'static [&'static str], key: usize) -> Table {
    Table { name, columns, key }
}

fn checksum(rows: &[Vec<Cell>]) -> String {
    let mut hash = Sha256::new();
    for row in rows {
        for cell in row {
            cell.hash_into(&mut hash);
        }
    }
    hex::encode(hash.finalize())
}

type Rows = Vec<Vec<Cell>>;

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("an undecodable {what} in the data dir"))
}

fn uuid(raw: &[u8]) -> Result<Uuid, Error> {
    Uuid::from_slice(raw).map_err(|_| corrupt("id"))
}

fn decode<T: serde::de::DeserializeOwned>(raw: &[u8], what: &str) -> Result<T, Error> {
    codec::decode(raw).map_err(|_| corrupt(what))
}

/// Every table's rows from the embedded store, in the order rows may refer to each other.
fn tables(from: &super::embedded::SledStore) -> Result<Vec<(Table, Rows)>, Error> {
    use Cell::{Bool, Bytes, Int, Int4, Text, Uuid as Id};
    let disabled: Vec<Vec<u8>> = from
        .entries("disabled_users")?
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let mut orgs = Rows::new();
    for (_, raw) in from.entries("orgs")? {
        let org: Org = decode(&raw, "organization")?;
        orgs.push(vec![
            Id(org.id),
            Text(org.name.to_ascii_lowercase()),
            Bytes(raw),
        ]);
    }
    let mut users = Rows::new();
    for (key, raw) in from.entries("users")? {
        let user: User = decode(&raw, "user")?;
        let off = disabled.contains(&key);
        users.push(vec![
            Id(user.id),
            Text(user.email.to_lowercase()),
            Bool(off),
            Bytes(raw),
        ]);
    }
    let mut tokens = Rows::new();
    for (hash, user) in from.entries("tokens")? {
        tokens.push(vec![Bytes(hash), Id(uuid(&user)?)]);
    }
    let (mut threads, mut members) = (Rows::new(), Rows::new());
    for (_, raw) in from.entries("threads")? {
        let thread: Thread = decode(&raw, "thread")?;
        let expiring = thread.is_expiring();
        let mut people: Vec<Uuid> = thread.members().collect();
        people.sort();
        people.dedup();
        for user in people {
            members.push(vec![Id(user), Id(thread.id)]);
        }
        threads.push(vec![
            Id(thread.id),
            Id(thread.org_id),
            Bool(expiring),
            Bytes(raw),
        ]);
    }
    let mut messages = Rows::new();
    for (key, raw) in from.entries("messages")? {
        let message: Message = decode(&raw, "message")?;
        let position = u32::from_be_bytes(key[16..20].try_into().map_err(|_| corrupt("key"))?);
        messages.push(vec![
            Id(message.id),
            Id(uuid(&key[..16])?),
            Int4(position as i32),
            Bytes(raw),
        ]);
    }
    let mut pending = Rows::new();
    for (message, thread) in from.entries("pending_analyses")? {
        pending.push(vec![
            Id(uuid(&message)?),
            Id(uuid(&thread)?),
            Id(Uuid::nil()),
        ]);
    }
    let mut datasets = Rows::new();
    for (_, raw) in from.entries("datasets")? {
        let dataset: Dataset = decode(&raw, "dataset")?;
        datasets.push(vec![Id(dataset.id), Id(dataset.org_id), Bytes(raw)]);
    }
    let text = |raw: &[u8]| Text(String::from_utf8_lossy(raw).into_owned());
    let parts = |raw: &[u8]| -> Vec<Cell> { raw.split(|b| *b == 0).map(text).collect() };
    let mut slack_teams = Rows::new();
    for (team, org) in from.entries("slack_teams")? {
        slack_teams.push(vec![text(&team), Id(uuid(&org)?)]);
    }
    let mut slack_users = Rows::new();
    for (key, user) in from.entries("slack_users")? {
        let mut row = parts(&key);
        row.push(Id(uuid(&user)?));
        slack_users.push(row);
    }
    let mut slack_threads = Rows::new();
    for (key, thread) in from.entries("slack_threads")? {
        let mut row = parts(&key);
        row.push(Id(uuid(&thread)?));
        slack_threads.push(row);
    }
    let mut slack_events = Rows::new();
    for (id, at) in from.entries("slack_events")? {
        slack_events.push(vec![text(&id), Int(codec::decode_u64(&at) as i64)]);
    }
    let mut slack_inbox = Rows::new();
    for (key, body) in from.entries("slack_inbox")? {
        let at = codec::decode_u64(&key[..8]) as i64;
        slack_inbox.push(vec![text(&key[8..]), Int(at), Bytes(body), Id(Uuid::nil())]);
    }
    let mut all = vec![
        (table("orgs", &["id", "name_key", "record"], 1), orgs),
        (
            table("users", &["id", "email_key", "disabled", "record"], 1),
            users,
        ),
        (table("tokens", &["hash", "user_id"], 1), tokens),
        (
            table("threads", &["id", "org_id", "expiring", "record"], 1),
            threads,
        ),
        (
            table("thread_members", &["user_id", "thread_id"], 2),
            members,
        ),
        (
            table("messages", &["id", "thread_id", "position", "record"], 1),
            messages,
        ),
        (
            table("pending_analyses", &["message_id", "thread_id", "node"], 1),
            pending,
        ),
        (table("datasets", &["id", "org_id", "record"], 1), datasets),
        (table("slack_teams", &["team", "org_id"], 1), slack_teams),
        (
            table("slack_users", &["team", "slack_user", "user_id"], 2),
            slack_users,
        ),
        (
            table("slack_threads", &["team", "channel", "ts", "thread_id"], 3),
            slack_threads,
        ),
        (
            table("slack_events", &["event_id", "received_ms"], 1),
            slack_events,
        ),
        (
            table(
                "slack_inbox",
                &["event_id", "received_ms", "body", "node"],
                1,
            ),
            slack_inbox,
        ),
    ];
    // Rows in key order, as they are read back.
    for (table, rows) in &mut all {
        let key = table.key;
        rows.sort_by(|a, b| a[..key].cmp(&b[..key]));
    }
    Ok(all)
}
