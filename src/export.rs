//! `skein export` and `skein import`: threads as JSON Lines, one thread per line, for moving
//! threads between servers and into other tools.
//!
//! A line (schema version 1, documented in the README) holds the thread, its messages with
//! their analyses, its org and the people it names (owner, shares, authors):
//! `{"skein_export": 1, "org": {id, name}, "people": [{id, email, name}], "thread": {…},
//! "messages": [{…}]}`. JSON that a message keeps as text (`responses`, `chart_config`, an
//! analysis step's `fields`, …) is nested as JSON.
//!
//! An import checks every line before it writes anything and names the first bad line. People
//! are matched by email and orgs by name; missing ones are created (people without a token:
//! `skein user token` issues one). A thread whose id is already there is left as it is, so
//! importing the same file again changes nothing.

use crate::error::{Code, Error};
use crate::model::{Message, Org, Thread, User};
use crate::store::Store;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use uuid::Uuid;

const VERSION: u32 = 1;
/// Message fields kept as JSON text in the store, nested in an export.
const JSON_FIELDS: [&str; 5] = [
    "responses",
    "chart_config",
    "chart_recommendations",
    "data_metadata",
    "plan",
];

/// Which threads to export.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Filter {
    /// An org's name.
    pub org: Option<String>,
    /// Threads this user (by email) owns or has a share of.
    pub user: Option<String>,
    /// Threads changed on or after this day.
    pub since: Option<NaiveDate>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    skein_export: u32,
    org: OrgRef,
    people: Vec<Person>,
    thread: Value,
    messages: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgRef {
    id: Uuid,
    name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Person {
    id: Uuid,
    email: String,
    name: String,
}

/// Writes the threads `filter` picks (deleted ones left out) to `to`; returns what it wrote.
pub async fn export(store: &Store, filter: &Filter, to: &Path) -> Result<String, Error> {
    let orgs: HashMap<Uuid, Org> = store.orgs().await?.into_iter().map(|o| (o.id, o)).collect();
    let users: HashMap<Uuid, User> = store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let org = match &filter.org {
        Some(name) => Some(store.org_by_name(name).await?.ok_or_else(|| {
            Error::new(Code::OrgNotFound, format!("no organization named {name:?}"))
        })?),
        None => None,
    };
    let user = match &filter.user {
        Some(email) => Some(store.user_by_email(email).await?.ok_or_else(|| {
            Error::new(Code::UserNotFound, format!("no user with email {email:?}"))
        })?),
        None => None,
    };
    let partial = PathBuf::from(format!("{}.partial", to.display()));
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&partial).map_err(|e| Error::file(&partial, e))?,
    );
    let (mut threads, mut messages) = (0, 0);
    for id in store.thread_ids().await? {
        let Some(thread) = store.thread(id).await? else {
            continue;
        };
        let picked = thread.deleted_at.is_none()
            && org.as_ref().is_none_or(|o| o.id == thread.org_id)
            && user
                .as_ref()
                .is_none_or(|u| thread.members().any(|m| m == u.id))
            && filter
                .since
                .is_none_or(|day| thread.last_edited.date_naive() >= day);
        if !picked {
            continue;
        }
        let thread_messages = store.messages_in_bulk(id).await?;
        let named: BTreeSet<Uuid> = thread
            .members()
            .chain([thread.updated_by])
            .chain(thread_messages.iter().map(|m| m.sent_by))
            .collect();
        let line = Line {
            skein_export: VERSION,
            org: orgs
                .get(&thread.org_id)
                .map(|o| OrgRef {
                    id: o.id,
                    name: o.name.clone(),
                })
                .ok_or_else(|| Error::internal(format!("thread {id} has no org")))?,
            people: named
                .iter()
                .filter_map(|id| users.get(id))
                .map(|u| Person {
                    id: u.id,
                    email: u.email.clone(),
                    name: u.name.clone(),
                })
                .collect(),
            thread: serde_json::to_value(&thread).expect("threads serialize"),
            messages: thread_messages.iter().map(nested).collect(),
        };
        serde_json::to_writer(&mut out, &line).expect("lines serialize");
        out.write_all(b"\n").map_err(|e| Error::file(&partial, e))?;
        threads += 1;
        messages += thread_messages.len();
    }
    let file = out
        .into_inner()
        .map_err(|e| Error::file(&partial, e.into_error()))?;
    file.sync_all().map_err(|e| Error::file(&partial, e))?;
    std::fs::rename(&partial, to).map_err(|e| Error::file(to, e))?;
    Ok(format!(
        "exported {threads} threads ({messages} messages) to {}",
        to.display()
    ))
}

/// One line, checked: the thread and messages as stored, and whom and which org they name.
struct Checked {
    line: usize,
    org: OrgRef,
    people: Vec<Person>,
    thread: Thread,
    messages: Vec<Message>,
}

/// Imports the threads of `from`; nothing is written unless every line is good.
pub async fn import(store: &Store, from: &Path) -> Result<String, Error> {
    let file = std::fs::File::open(from).map_err(|e| Error::file(from, e))?;
    let mut lines = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, text) in std::io::BufReader::new(file).lines().enumerate() {
        let number = index + 1;
        let text = text.map_err(|e| bad_line(number, &e.to_string()))?;
        if text.trim().is_empty() {
            continue;
        }
        let checked = check(number, &text)?;
        if !seen.insert(checked.thread.id) {
            return Err(bad_line(number, "the same thread is on an earlier line"));
        }
        lines.push(checked);
    }

    // Orgs by name and people by email; a person already in another org cannot join this one.
    let mut org_ids: HashMap<Uuid, Uuid> = HashMap::new();
    let mut user_ids: HashMap<Uuid, Uuid> = HashMap::new();
    let (mut new_orgs, mut new_users) = (Vec::new(), Vec::new());
    for checked in &lines {
        let org_id = match org_ids.get(&checked.org.id) {
            Some(id) => *id,
            None => {
                let id = match store.org_by_name(&checked.org.name).await? {
                    Some(org) => org.id,
                    None => {
                        let org = Org {
                            id: free_org_id(store, checked.org.id).await?,
                            name: checked.org.name.clone(),
                            created_at: Utc::now(),
                        };
                        new_orgs.push(org.clone());
                        org.id
                    }
                };
                org_ids.insert(checked.org.id, id);
                id
            }
        };
        for person in &checked.people {
            if user_ids.contains_key(&person.id) {
                continue;
            }
            let id = match store.user_by_email(&person.email).await? {
                Some(user) if user.org_id != org_id => {
                    return Err(bad_line(
                        checked.line,
                        &format!("{} belongs to another organization", person.email),
                    ))
                }
                Some(user) => user.id,
                None => {
                    let user = User {
                        id: free_user_id(store, person.id).await?,
                        org_id,
                        name: person.name.clone(),
                        email: person.email.clone(),
                        admin: false,
                        created_at: Utc::now(),
                    };
                    new_users.push(user.clone());
                    user.id
                }
            };
            user_ids.insert(person.id, id);
        }
    }

    for org in &new_orgs {
        store
            .create_org(org)
            .await
            .map_err(|e| Error::from(crate::auth::AccountRequestError::from(e)))?;
    }
    for user in &new_users {
        // No one knows this token: `skein user token` issues one the person can use.
        let unknown: [u8; 32] = rand::random();
        store
            .create_user(user, &crate::auth::hash_token(&hex::encode(unknown)))
            .await
            .map_err(|e| Error::from(crate::auth::AccountRequestError::from(e)))?;
    }
    let (mut imported, mut present, mut messages) = (0, 0, 0);
    for checked in lines {
        if store.thread(checked.thread.id).await?.is_some() {
            present += 1;
            continue;
        }
        let (thread, thread_messages) = remapped(checked, &org_ids, &user_ids);
        messages += thread_messages.len();
        store
            .write_threads::<(), Error>(move |tx| {
                let mut written = thread.clone();
                written.message_count = 0;
                for message in &thread_messages {
                    tx.append_message(&mut written, message)?;
                }
                // Positions continue where the exported thread's did.
                written.message_count = written.message_count.max(thread.message_count);
                tx.put_thread(&written)
            })
            .await?;
        imported += 1;
    }
    let mut text =
        format!("imported {imported} threads ({messages} messages); {present} were already there");
    if !new_orgs.is_empty() || !new_users.is_empty() {
        text.push_str(&format!(
            "; created {} orgs and {} users (issue them tokens with `skein user token --email`)",
            new_orgs.len(),
            new_users.len()
        ));
    }
    Ok(text)
}

/// Parses and checks one line: its version, its records, and that it names everyone.
fn check(number: usize, text: &str) -> Result<Checked, Error> {
    let line: Line = serde_json::from_str(text).map_err(|e| bad_line(number, &e.to_string()))?;
    if line.skein_export != VERSION {
        return Err(bad_line(
            number,
            &format!("export version {} is not {VERSION}", line.skein_export),
        ));
    }
    let thread: Thread = serde_json::from_value(line.thread)
        .map_err(|e| bad_line(number, &format!("thread: {e}")))?;
    let mut messages = Vec::with_capacity(line.messages.len());
    for (i, value) in line.messages.into_iter().enumerate() {
        let message: Message = serde_json::from_value(flattened(value))
            .map_err(|e| bad_line(number, &format!("message {}: {e}", i + 1)))?;
        if message.thread_id != thread.id {
            return Err(bad_line(
                number,
                &format!("message {} is of another thread", i + 1),
            ));
        }
        messages.push(message);
    }
    if thread.org_id != line.org.id {
        return Err(bad_line(number, "the thread's org is not the line's org"));
    }
    let people: BTreeSet<Uuid> = line.people.iter().map(|p| p.id).collect();
    let named = thread
        .members()
        .chain([thread.updated_by])
        .chain(messages.iter().map(|m| m.sent_by));
    for id in named {
        if !people.contains(&id) {
            return Err(bad_line(number, &format!("user {id} is not in its people")));
        }
    }
    Ok(Checked {
        line: number,
        org: line.org,
        people: line.people,
        thread,
        messages,
    })
}

/// The thread and messages with the importing server's ids of their org and people.
fn remapped(
    checked: Checked,
    orgs: &HashMap<Uuid, Uuid>,
    users: &HashMap<Uuid, Uuid>,
) -> (Thread, Vec<Message>) {
    let user = |id: Uuid| users.get(&id).copied().unwrap_or(id);
    let mut thread = checked.thread;
    thread.org_id = orgs.get(&thread.org_id).copied().unwrap_or(thread.org_id);
    thread.created_by = user(thread.created_by);
    thread.updated_by = user(thread.updated_by);
    for share in &mut thread.shares {
        share.user_id = user(share.user_id);
    }
    let messages = checked
        .messages
        .into_iter()
        .map(|mut m| {
            m.sent_by = user(m.sent_by);
            m
        })
        .collect();
    (thread, messages)
}

/// A message as JSON, with the JSON it keeps as text nested.
fn nested(message: &Message) -> Value {
    let mut value = serde_json::to_value(message).expect("messages serialize");
    map_json_text(&mut value, |text| {
        serde_json::from_str(text).unwrap_or(Value::String(text.to_string()))
    });
    value
}

/// The reverse of [`nested`]: nested JSON back to text, as the store keeps it.
fn flattened(mut value: Value) -> Value {
    map_json_text_back(&mut value);
    value
}

fn map_json_text(message: &mut Value, parse: impl Fn(&str) -> Value) {
    for field in JSON_FIELDS {
        if let Some(Value::String(text)) = message.get(field) {
            let parsed = parse(text);
            message[field] = parsed;
        }
    }
    if let Some(steps) = message
        .pointer_mut("/analysis/steps")
        .and_then(Value::as_array_mut)
    {
        for step in steps {
            if let Some(Value::String(text)) = step.get("fields") {
                let parsed = parse(text);
                step["fields"] = parsed;
            }
        }
    }
}

fn map_json_text_back(message: &mut Value) {
    let text = |value: &Value| Value::String(value.to_string());
    for field in JSON_FIELDS {
        if let Some(value) = message.get(field).filter(|v| !v.is_null()) {
            let as_text = text(value);
            message[field] = as_text;
        }
    }
    if let Some(steps) = message
        .pointer_mut("/analysis/steps")
        .and_then(Value::as_array_mut)
    {
        for step in steps {
            if let Some(value) = step.get("fields") {
                let as_text = text(value);
                step["fields"] = as_text;
            }
        }
    }
}

/// The exported id when this server has no org with it, else a new one.
async fn free_org_id(store: &Store, id: Uuid) -> Result<Uuid, Error> {
    Ok(if store.org(id).await?.is_some() {
        Uuid::new_v4()
    } else {
        id
    })
}

async fn free_user_id(store: &Store, id: Uuid) -> Result<Uuid, Error> {
    Ok(if store.user(id).await?.is_some() {
        Uuid::new_v4()
    } else {
        id
    })
}

fn bad_line(number: usize, why: &str) -> Error {
    Error::invalid(format!("line {number}: {why}; nothing was imported"))
}
