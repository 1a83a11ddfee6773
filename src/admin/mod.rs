//! Account administration shared by the CLI and a running server.
//!
//! sled lets one process open a data dir. While a server runs, CLI commands reach it through a
//! Unix socket inside the data dir (mode 0600, so only the dir's owner can use it) and the
//! server runs them; with no server, the CLI opens the store itself. Either way the same
//! [`execute`] does the work. Protocol: one JSON command line in, one JSON result line out.

mod datasets;

use crate::auth::{self, NewUser};
use crate::datasets::Datasets;
use crate::error::{Code, Error};
use crate::search::Search;
use crate::services::Services;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AdminCommand {
    AddUser {
        name: String,
        email: String,
        admin: bool,
        org: Option<String>,
    },
    ListUsers,
    IssueToken {
        email: String,
    },
    ListTokens {
        email: Option<String>,
    },
    RevokeToken {
        id: String,
    },
    DisableUser {
        email: String,
    },
    EnableUser {
        email: String,
    },
    AddOrg {
        name: String,
    },
    ListOrgs,
    LinkSlackTeam {
        team: String,
        org: String,
    },
    AddDataset {
        name: String,
        csv: Option<PathBuf>,
        sqlite: Option<PathBuf>,
        table: Option<String>,
        describe: Option<PathBuf>,
        org: Option<String>,
    },
    ListDatasets,
    /// A dataset's notes (what the analyst reads), row count and example questions.
    DescribeDataset {
        dataset: String,
        org: Option<String>,
    },
    /// New rows for an imported dataset, from a CSV.
    ReplaceDataset {
        dataset: String,
        csv: PathBuf,
        org: Option<String>,
    },
    RemoveDataset {
        dataset: String,
        org: Option<String>,
    },
    /// A backup of everything durable, to one file.
    Backup {
        to: PathBuf,
    },
    /// Threads as JSON Lines.
    Export {
        to: PathBuf,
        filter: crate::export::Filter,
    },
    Import {
        from: PathBuf,
    },
    Reindex,
}

/// The text the CLI prints, or an error from the table.
pub type AdminResult = Result<String, Error>;

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

/// Runs one command against the store.
pub async fn execute(store: &Store, datasets: &Datasets, command: AdminCommand) -> AdminResult {
    match command {
        AdminCommand::AddUser {
            name,
            email,
            admin,
            org,
        } => {
            let request = NewUser {
                name,
                email,
                admin,
                org,
            };
            let (user, token) = auth::create_user(store, request).await?;
            Ok(format!(
                "created {} {} <{}>\nid: {}\ntoken: {}\ntoken id: {}",
                if user.admin { "admin" } else { "user" },
                user.name,
                user.email,
                user.id,
                token,
                auth::token_id(&auth::hash_token(&token))
            ))
        }
        AdminCommand::ListUsers => {
            let orgs = store.orgs().await?;
            let org_name = |id| {
                orgs.iter()
                    .find(|org| org.id == id)
                    .map_or("?", |org| org.name.as_str())
            };
            let users = store.users().await?;
            let mut lines = vec!["ID\tEMAIL\tNAME\tORG\tADMIN".to_string()];
            lines.extend(users.iter().map(|user| {
                format!(
                    "{}\t{}\t{}\t{}\t{}",
                    user.id,
                    user.email,
                    user.name,
                    org_name(user.org_id),
                    if user.admin { "yes" } else { "no" }
                )
            }));
            Ok(lines.join("\n"))
        }
        AdminCommand::IssueToken { email } => {
            let (user, token) = auth::issue_token(store, &email).await?;
            Ok(format!(
                "new token for {}\ntoken: {}\ntoken id: {}",
                user.email,
                token,
                auth::token_id(&auth::hash_token(&token))
            ))
        }
        AdminCommand::ListTokens { email } => {
            let mut lines = vec!["TOKEN ID\tEMAIL\tUSER DISABLED".to_string()];
            for (id, user) in auth::list_tokens(store, email.as_deref()).await? {
                let disabled = if store.is_disabled(user.id).await? {
                    "yes"
                } else {
                    "no"
                };
                lines.push(format!("{id}\t{}\t{disabled}", user.email));
            }
            Ok(lines.join("\n"))
        }
        AdminCommand::RevokeToken { id } => {
            let (_, user) = auth::revoke_token(store, &id).await?;
            Ok(format!("revoked token {} of {}", id.trim(), user.email))
        }
        AdminCommand::DisableUser { email } => {
            let user = auth::set_user_disabled(store, &email, true).await?;
            Ok(format!(
                "disabled {}: their tokens no longer work",
                user.email
            ))
        }
        AdminCommand::EnableUser { email } => {
            let user = auth::set_user_disabled(store, &email, false).await?;
            Ok(format!("enabled {}: their tokens work again", user.email))
        }
        AdminCommand::AddOrg { name } => {
            let org = auth::create_org(store, &name).await?;
            Ok(format!("created organization {}\nid: {}", org.name, org.id))
        }
        AdminCommand::LinkSlackTeam { team, org } => {
            let team = team.trim();
            if team.is_empty() {
                return Err(Error::invalid("give the Slack workspace's team id (T…)"));
            }
            let found = match uuid::Uuid::try_parse(&org) {
                Ok(id) => store.org(id).await?,
                Err(_) => store.org_by_name(&org).await?,
            };
            let org = found
                .ok_or_else(|| Error::new(Code::OrgNotFound, format!("no organization {org:?}")))?;
            store.link_slack_team(team, org.id).await?;
            Ok(format!(
                "Slack workspace {team} now answers in organization {}",
                org.name
            ))
        }
        command @ (AdminCommand::AddDataset { .. }
        | AdminCommand::ListDatasets
        | AdminCommand::DescribeDataset { .. }
        | AdminCommand::ReplaceDataset { .. }
        | AdminCommand::RemoveDataset { .. }) => datasets::execute(store, datasets, command).await,
        AdminCommand::Backup { to } => crate::backup::backup(store, datasets.dir(), &to).await,
        AdminCommand::Export { to, filter } => crate::export::export(store, &filter, &to).await,
        AdminCommand::Import { from } => crate::export::import(store, &from).await,
        AdminCommand::Reindex => Err(Error::new(
            Code::Unsupported,
            "reindex needs the search index; run it through `skein reindex`",
        )),
        AdminCommand::ListOrgs => {
            let orgs = store.orgs().await?;
            let mut lines = vec!["ID\tNAME".to_string()];
            lines.extend(orgs.iter().map(|org| format!("{}\t{}", org.id, org.name)));
            Ok(lines.join("\n"))
        }
    }
}

/// Rebuilds the search index from the stored threads.
pub async fn reindex(search: &Search) -> AdminResult {
    let started = std::time::Instant::now();
    let messages = search.reindex().await.map_err(|err| {
        tracing::error!(error = %err, "reindex failed");
        Error::internal(format!("reindex failed: {err}"))
    })?;
    Ok(format!(
        "reindexed {messages} messages in {:.2} s",
        started.elapsed().as_secs_f64()
    ))
}

/// Binds the admin socket, replacing a stale one left by a killed server.
pub fn bind(data_dir: &Path) -> std::io::Result<UnixListener> {
    let path = socket_path(data_dir);
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves admin commands until `stop`.
pub async fn serve(listener: UnixListener, services: Arc<Services>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors (EMFILE) and the like: wait for some to be freed
                // instead of spinning on an accept that fails at once.
                tracing::warn!(error = %err, "admin socket accept failed; retrying shortly");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let services = services.clone();
        tokio::spawn(async move {
            if let Err(err) = answer(stream, &services).await {
                tracing::warn!(error = %err, "admin socket request failed");
            }
        });
    }
}

async fn answer(stream: UnixStream, services: &Services) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let result: AdminResult = match serde_json::from_str::<AdminCommand>(&line) {
        Ok(AdminCommand::Reindex) => reindex(&services.search).await,
        Ok(command) => {
            let result = execute(&services.store, &services.datasets, command.clone()).await;
            if result.is_ok() {
                sign_out(services, &command);
            }
            result
        }
        Err(err) => Err(Error::malformed(format!("unreadable admin command: {err}"))),
    };
    let reply = match result {
        Ok(text) => Reply::Ok(text),
        Err(err) => Reply::Err {
            code: err.code.machine().to_string(),
            message: err.message,
        },
    };
    let mut reply = serde_json::to_string(&reply).unwrap_or_default();
    reply.push('\n');
    write.write_all(reply.as_bytes()).await
}

/// Closes the WebSockets a revoked token or a disabled user still has open: access ends now,
/// not when the socket next reconnects. (REST requests check the token every time.)
fn sign_out(services: &Services, command: &AdminCommand) {
    use crate::hub::CLOSE_SIGNED_OUT;
    let closed = match command {
        AdminCommand::RevokeToken { id } => services.hub.close_where(
            |_, token| auth::token_id(token) == id.trim(),
            CLOSE_SIGNED_OUT,
            "token revoked; sign in again",
        ),
        AdminCommand::DisableUser { email } => services.hub.close_where(
            |user, _| user.email.eq_ignore_ascii_case(email.trim()),
            CLOSE_SIGNED_OUT,
            "user disabled",
        ),
        _ => return,
    };
    tracing::info!(
        closed,
        "closed the connections of a revoked token or disabled user"
    );
}

/// Sends a command to the server running on `data_dir`, if one answers there.
pub async fn send_to_server(data_dir: &Path, command: &AdminCommand) -> Option<AdminResult> {
    let stream = UnixStream::connect(socket_path(data_dir)).await.ok()?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_string(command).ok()?;
    line.push('\n');
    write.write_all(line.as_bytes()).await.ok()?;
    let mut reply = String::new();
    BufReader::new(read).read_line(&mut reply).await.ok()?;
    Some(match serde_json::from_str(&reply) {
        Ok(Reply::Ok(text)) => Ok(text),
        Ok(Reply::Err { code, message }) => Err(Error::new(
            Code::from_machine(&code).unwrap_or(Code::Internal),
            message,
        )),
        Err(err) => Err(Error::internal(format!("bad reply from server: {err}"))),
    })
}

/// An answer on the admin socket.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Ok(String),
    Err { code: String, message: String },
}

fn unreadable(path: &Path, err: std::io::Error) -> Error {
    Error::invalid(format!("{}: {err}", path.display()))
}
