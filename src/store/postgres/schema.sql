-- Skein's schema, version 1. Records are bincode over the model's serde derives (the same bytes
-- the embedded store keeps); the columns beside them are what queries select and join on.

CREATE TABLE meta (
    key text PRIMARY KEY,
    value bigint NOT NULL
);

CREATE TABLE orgs (
    id uuid PRIMARY KEY,
    -- Names are unique ignoring ASCII case.
    name_key text NOT NULL UNIQUE,
    record bytea NOT NULL
);

CREATE TABLE users (
    id uuid PRIMARY KEY,
    -- Emails are unique ignoring case (lower-cased by Skein, not by the database's locale).
    email_key text NOT NULL UNIQUE,
    disabled boolean NOT NULL DEFAULT false,
    record bytea NOT NULL
);

CREATE TABLE tokens (
    -- SHA-256 of the bearer token.
    hash bytea PRIMARY KEY,
    user_id uuid NOT NULL
);

CREATE TABLE threads (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL,
    -- Has a TTL and is not deleted.
    expiring boolean NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX threads_org ON threads (org_id);
CREATE INDEX threads_expiring ON threads (id) WHERE expiring;

-- Owners and shares: who may see a thread.
CREATE TABLE thread_members (
    user_id uuid NOT NULL,
    thread_id uuid NOT NULL,
    PRIMARY KEY (user_id, thread_id)
);
CREATE INDEX thread_members_thread ON thread_members (thread_id);

CREATE TABLE messages (
    id uuid PRIMARY KEY,
    thread_id uuid NOT NULL,
    -- 0, 1, … within the thread, counted by the thread's message_count.
    position integer NOT NULL,
    record bytea NOT NULL,
    UNIQUE (thread_id, position)
);

-- The change sequence: one row per thread a transaction changed. A row's position is its
-- transaction's id, and readers take only rows of transactions older than every running one,
-- so no row can later appear below a position a reader has passed.
CREATE TABLE changes (
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    thread_id uuid NOT NULL
);
CREATE INDEX changes_xid ON changes (xid);

-- Questions the analyst owes an answer, and the node that is answering.
CREATE TABLE pending_analyses (
    message_id uuid PRIMARY KEY,
    thread_id uuid NOT NULL,
    node uuid NOT NULL
);

CREATE TABLE datasets (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL,
    record bytea NOT NULL
);

-- Derived, per node (each node keeps its own, like its text index).
CREATE TABLE vectors (
    node uuid NOT NULL,
    model text NOT NULL,
    message_id uuid NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (node, model, message_id)
);
CREATE TABLE vector_models (
    node uuid NOT NULL,
    model text NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (node, model)
);

CREATE TABLE slack_teams (
    team text PRIMARY KEY,
    org_id uuid NOT NULL
);
CREATE TABLE slack_users (
    team text NOT NULL,
    slack_user text NOT NULL,
    user_id uuid NOT NULL,
    PRIMARY KEY (team, slack_user)
);
CREATE TABLE slack_threads (
    team text NOT NULL,
    channel text NOT NULL,
    ts text NOT NULL,
    thread_id uuid NOT NULL,
    PRIMARY KEY (team, channel, ts)
);
-- Event ids seen (kept an hour to catch Slack's retries), and events not handled yet.
CREATE TABLE slack_events (
    event_id text PRIMARY KEY,
    received_ms bigint NOT NULL
);
CREATE TABLE slack_inbox (
    event_id text PRIMARY KEY,
    received_ms bigint NOT NULL,
    body bytea NOT NULL,
    -- The node that took the event handles it (another, once that node is gone).
    node uuid NOT NULL
);

-- The nodes serving from this database, each with its heartbeat and how far its index got.
CREATE TABLE nodes (
    id uuid PRIMARY KEY,
    host text NOT NULL,
    started_at timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    indexed bigint NOT NULL DEFAULT 0
);
