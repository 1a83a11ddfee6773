//! Domain types: organizations, users, threads, messages and the enums they carry.
//!
//! These are storage-neutral: `store` encodes them, `ws` renders them on the wire.
//! Free-form JSON attributes (chart config, step context, …) are kept as [`Json`], which
//! encodes as a string so the binary record format never needs a self-describing decoder.

pub mod aggregate;
pub mod analysis;
mod json;

pub use analysis::{Analysis, Progress, Step, StepRecord};
use chrono::{DateTime, Utc};
pub use json::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub type Timestamp = DateTime<Utc>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub created_at: Timestamp,
}

/// What a share grants; owners and org admins are implied, never stored as shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShareRole {
    Viewer,
    Editor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub user_id: Uuid,
    pub role: ShareRole,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub id: Uuid,
    pub org_id: Uuid,
    pub title: String,
    pub titled_by: TitleSource,
    pub created_by: Uuid,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Uuid,
    pub deleted_at: Option<Timestamp>,
    /// Ordering key of thread lists: the time of the last change of any kind.
    pub last_edited: Timestamp,
    pub shares: Vec<Share>,
    /// Number of messages ever appended; also the position the next message takes.
    pub message_count: u32,
    pub dashboard_id: Option<Uuid>,
    pub folder_id: Option<Uuid>,
    /// What the other thread APIs add: metadata, TTL, extra state values, UI visibility.
    pub api: ThreadApi,
    /// Open, locked or archived: which changes the thread takes, on every interface.
    pub lifecycle: Lifecycle,
}

/// One entry of a thread's conversation: a stored message (a question and its answer), or a
/// system turn.
pub enum Turn<'a> {
    Message(&'a Message),
    System(&'a SystemTurn),
}

/// Which changes a thread takes (Freddy's thread states, held on every interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    Open,
    /// Read-only, except its metadata and UI visibility.
    Locked,
    /// No changes at all, and left out of thread lists unless they ask for archived threads.
    Archived,
}

impl Lifecycle {
    pub fn name(self) -> &'static str {
        match self {
            Lifecycle::Open => "open",
            Lifecycle::Locked => "locked",
            Lifecycle::Archived => "archived",
        }
    }
}

/// A thread's REST-facing attributes (see `rest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadApi {
    /// Free-form metadata, always a JSON object; searched by containment.
    pub metadata: Json,
    pub ttl: Option<ThreadTtl>,
    /// State values other than `messages` (which are the thread's messages), always an object.
    pub values: Json,
    /// When those values were last written; message times count as state changes too.
    pub state_updated_at: Option<Timestamp>,
    /// Freddy's `visibleInUi`: `false` leaves the thread out of the web UI's list.
    pub visible_in_ui: bool,
    /// Freddy's `assistantId`, kept as given.
    pub assistant_id: Option<String>,
    /// System messages of a conversation written over Freddy or LangGraph, in order among
    /// the questions. The WebSocket protocol has no system messages and does not show them.
    pub system_turns: Vec<SystemTurn>,
}

/// A system message, kept before the message at `position` (or after the last one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemTurn {
    pub id: Uuid,
    pub position: u32,
    pub text: String,
}

impl Default for ThreadApi {
    fn default() -> Self {
        ThreadApi {
            metadata: Json::new(serde_json::json!({})),
            ttl: None,
            values: Json::new(serde_json::json!({})),
            state_updated_at: None,
            visible_in_ui: true,
            assistant_id: None,
            system_turns: Vec::new(),
        }
    }
}

/// Delete the thread after this many minutes without a change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThreadTtl {
    pub minutes: f64,
}

/// Where a thread's title came from: a person's rename is never overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TitleSource {
    /// Shortened first prompt, until the analyst names the metric.
    Prompt,
    /// The metric title of the first answer.
    Analysis,
    User,
}

impl Thread {
    /// Its messages as the APIs with system messages show them: each stored message, with the
    /// system turns kept before it, in order.
    pub fn with_system_turns<'a>(
        &'a self,
        messages: &'a [Message],
    ) -> impl Iterator<Item = Turn<'a>> + 'a {
        let before = |position: usize| {
            self.api
                .system_turns
                .iter()
                .filter(move |turn| turn.position as usize == position)
                .map(Turn::System)
        };
        let last = messages.len();
        messages
            .iter()
            .enumerate()
            .flat_map(move |(position, message)| before(position).chain([Turn::Message(message)]))
            .chain(
                self.api
                    .system_turns
                    .iter()
                    .filter(move |turn| turn.position as usize >= last)
                    .map(Turn::System),
            )
    }

    /// A new thread of `owner` in `org`, with no messages yet.
    pub fn new(
        id: Uuid,
        org_id: Uuid,
        owner: Uuid,
        title: String,
        titled_by: TitleSource,
        at: Timestamp,
    ) -> Self {
        Thread {
            id,
            org_id,
            title,
            titled_by,
            created_by: owner,
            created_at: at,
            updated_at: None,
            updated_by: owner,
            deleted_at: None,
            last_edited: at,
            shares: Vec::new(),
            message_count: 0,
            dashboard_id: None,
            folder_id: None,
            api: ThreadApi::default(),
            lifecycle: Lifecycle::Open,
        }
    }

    /// Whether the expiry sweep has this thread to look at: it has a time to live and is not
    /// deleted already. Each store keeps an index of such threads.
    pub fn is_expiring(&self) -> bool {
        self.api.ttl.is_some() && self.deleted_at.is_none()
    }

    /// The users a thread belongs to by ownership or share (org admins see it without being one).
    pub fn members(&self) -> impl Iterator<Item = Uuid> + '_ {
        std::iter::once(self.created_by).chain(self.shares.iter().map(|share| share.user_id))
    }

    /// This thread soft-deleted at `at` by `by` (or, when nobody did it, by its last editor).
    pub fn deleted(&self, by: Option<Uuid>, at: Timestamp) -> Thread {
        Thread {
            deleted_at: Some(at),
            last_edited: at,
            updated_at: Some(at),
            updated_by: by.unwrap_or(self.updated_by),
            ..self.clone()
        }
    }

    /// When a thread with a TTL expires: that many minutes after its last change.
    pub fn expires_at(&self) -> Option<Timestamp> {
        let ttl = self.api.ttl?;
        let millis = (ttl.minutes * 60_000.0).min(i64::MAX as f64 / 2.0) as i64;
        self.last_edited
            .checked_add_signed(chrono::Duration::milliseconds(millis))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verification {
    NotVerified,
    Verified,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Feedback {
    Positive,
    Negative,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub sent_by: Uuid,
    /// The user's prompt.
    pub message: String,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub dataset_id: Option<Uuid>,
    pub code: Option<String>,
    pub title: Option<String>,
    pub time_frame: Option<String>,
    pub feedback: Option<Feedback>,
    pub status: Verification,
    pub responses: Option<Json>,
    /// What the analyst did (its steps), once it ran.
    pub analysis: Option<Analysis>,
    pub chart_config: Option<Json>,
    pub chart_recommendations: Option<Json>,
    pub data_metadata: Option<Json>,
    /// The analyst's plan for this question, kept so follow-ups can change it.
    pub plan: Option<Json>,
}

impl Message {
    /// A fresh user message with nothing generated yet.
    pub fn new(thread_id: Uuid, sent_by: Uuid, prompt: String, at: Timestamp) -> Self {
        Message {
            id: Uuid::new_v4(),
            thread_id,
            sent_by,
            message: prompt,
            created_at: at,
            updated_at: None,
            deleted_at: None,
            dataset_id: None,
            code: None,
            title: None,
            time_frame: None,
            feedback: None,
            status: Verification::NotVerified,
            responses: None,
            analysis: None,
            chart_config: None,
            chart_recommendations: None,
            data_metadata: None,
            plan: None,
        }
    }

    /// The answer's texts, first the one that answers (a summary, or what went wrong).
    pub fn set_responses(&mut self, texts: &[&str]) {
        self.responses = Some(Json::new(serde_json::json!({ "messages": texts })));
    }

    /// The analyst's answer: its summary, how the data was pulled, and what was computed.
    pub fn set_answer(&mut self, summary: &str, explanation: &str, interpretation: &str) {
        self.responses = Some(Json::new(serde_json::json!({
            "messages": [summary, explanation],
            "interpretation": interpretation,
        })));
    }

    /// The text that answers the prompt, if it was answered.
    pub fn answer(&self) -> Option<&str> {
        self.responses.as_ref()?.value()["messages"][0].as_str()
    }

    /// The rows of the answer's result, as objects keyed by column name (kept in the
    /// `fetchingData` step's record), if it has one.
    pub fn rows(&self) -> Option<&[serde_json::Value]> {
        let record = self
            .analysis
            .as_ref()?
            .steps
            .iter()
            .find(|record| record.step == Step::FetchingData)?;
        record
            .fields
            .value()
            .get("data")?
            .as_array()
            .map(Vec::as_slice)
    }

    /// The first `limit` rows of the answer's result, if it has one.
    pub fn result_rows(&self, limit: usize) -> Option<Vec<serde_json::Value>> {
        Some(self.rows()?.iter().take(limit).cloned().collect())
    }

    /// The analyst ran on the message and failed: it recorded its steps but no data.
    pub fn analysis_failed(&self) -> bool {
        self.analysis.is_some() && self.data_metadata.is_none()
    }
}

/// A queryable table: imported from CSV into its own SQLite file, or a table of an existing
/// SQLite file opened read-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub id: Uuid,
    pub org_id: Uuid,
    /// Display name ("Sales Dataset").
    pub name: String,
    /// The SQL table name queries use ("sales_summary").
    pub table: String,
    pub description: Option<String>,
    pub source: DatasetSource,
    pub columns: Vec<Column>,
    pub terms: Vec<Term>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DatasetSource {
    /// Imported data in `DATA_DIR/datasets/<id>.sqlite`.
    Imported,
    /// A table of a SQLite file elsewhere, never written to.
    External { path: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnType {
    Integer,
    Real,
    Date,
    Timestamp,
    Text,
}

impl ColumnType {
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Real)
    }

    /// The PostgreSQL-style name clients see in `data_metadata`.
    pub fn pg_name(self) -> &'static str {
        match self {
            ColumnType::Integer => "int8",
            ColumnType::Real => "float8",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Text => "text",
        }
    }
}

/// What a column is for when planning questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnRole {
    /// Identifies a row (counted, never summed).
    Id,
    /// A date or timestamp to group and filter by.
    Time,
    /// A category to group and filter by.
    Dimension,
    /// A number to aggregate.
    Measure,
}

impl ColumnRole {
    /// The role's name in description files and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ColumnRole::Id => "id",
            ColumnRole::Time => "time",
            ColumnRole::Dimension => "dimension",
            ColumnRole::Measure => "measure",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: ColumnType,
    pub role: ColumnRole,
    pub meaning: Option<String>,
    pub synonyms: Vec<String>,
    pub unit: Option<String>,
    /// How a measure combines when a question names no aggregation; `None` for other roles.
    pub aggregate: Option<Aggregate>,
}

/// How a measure's values combine over many rows. Sums mean something only for amounts,
/// quantities and counts; prices, rates, temperatures or sizes are averaged instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregate {
    Sum,
    Avg,
    Min,
    Max,
    /// The value at the latest time (levels such as a population or a balance).
    Last,
}

impl Aggregate {
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
            Aggregate::Last => "last",
        }
    }

    pub fn parse(text: &str) -> Option<Aggregate> {
        Some(match text.to_ascii_lowercase().as_str() {
            "sum" => Aggregate::Sum,
            "avg" | "average" | "mean" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "last" => Aggregate::Last,
            _ => return None,
        })
    }
}

/// A business term: a named SQL expression over the dataset's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub id: Uuid,
    pub name: String,
    pub definition: Option<String>,
    pub sql: String,
    pub unit: Option<String>,
}
