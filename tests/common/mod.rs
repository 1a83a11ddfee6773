//! Test harness: runs the real `skein` binary on 127.0.0.1:0 with a temporary data dir, creates
//! users through the real CLI, and talks to the server with a real WebSocket client.
#![allow(dead_code)]

pub mod answers;
pub mod cluster;
pub mod freddy_api;
pub mod postgres;
pub mod searching;

#[allow(unused_imports)] // not every suite asks
pub use postgres::{database_for, on_postgres};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something the server should send before failing (not a timing goal).
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_skein")
}

pub struct TestServer {
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    child: Option<Child>,
    pub addr: String,
    /// The admin token printed on first start.
    pub admin_token: Option<String>,
    extra_args: Vec<String>,
    extra_env: Vec<(String, String)>,
    /// The limit on open files the server starts with (soft and hard), if lowered.
    open_files: Option<u64>,
    /// The database it shares with other nodes (a cluster test); else its own, if any.
    database: Option<String>,
    /// Keeps its data in the data dir even when the run is on PostgreSQL.
    embedded: bool,
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub token: String,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// Starts a server with extra `serve` flags on a fresh data dir.
    pub fn start_with(extra: &[&str]) -> TestServer {
        Self::start_configured(extra, &[])
    }

    /// Starts a server with extra `serve` flags and environment variables.
    pub fn start_configured(extra: &[&str], env: &[(&str, &str)]) -> TestServer {
        let mut server = Self::unstarted(tempfile::tempdir().expect("temp dir"), extra);
        server.extra_env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        server.launch();
        server
    }

    /// Starts a server whose limit on open files (soft and hard) is `open_files`.
    pub fn start_with_open_files(extra: &[&str], open_files: u64) -> TestServer {
        let mut server = Self::unstarted(tempfile::tempdir().expect("temp dir"), extra);
        server.open_files = Some(open_files);
        server.launch();
        server
    }

    /// Starts a server whose data dir is `temp/data`, which the caller may have prepared (a
    /// small file system mounted there); the log goes to `temp/server.log`.
    pub fn start_in(temp: tempfile::TempDir, extra: &[&str]) -> TestServer {
        let mut server = Self::unstarted(temp, extra);
        server.launch();
        server
    }

    /// Starts a server on a copy of the data dir `source` (a checked-in fixture), which is
    /// left untouched.
    pub fn start_on_copy(source: &Path) -> TestServer {
        let temp = tempfile::tempdir().expect("temp dir");
        copy_dir(source, &temp.path().join("data"));
        Self::start_in(temp, &[])
    }

    /// A server on `temp/data`, not running yet.
    fn unstarted(temp: tempfile::TempDir, extra: &[&str]) -> TestServer {
        TestServer {
            dir: temp.path().join("data"),
            _temp: Some(temp),
            child: None,
            addr: String::new(),
            admin_token: None,
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            extra_env: Vec::new(),
            open_files: None,
            database: None,
            embedded: false,
        }
    }

    /// Starts a server on the embedded store whatever the run (a source to migrate from).
    pub fn start_embedded() -> TestServer {
        let mut server = Self::unstarted(tempfile::tempdir().expect("temp dir"), &[]);
        server.embedded = true;
        server.launch();
        server
    }

    /// Starts one node of a cluster: a fresh data dir, the shared `database`, extra flags.
    pub fn start_node(database: &str, extra: &[&str]) -> TestServer {
        let mut server = Self::unstarted(tempfile::tempdir().expect("temp dir"), extra);
        server.database = Some(database.to_string());
        server.launch();
        server
    }

    /// The database this server keeps its data in, if not the data dir.
    pub fn database(&self) -> Option<String> {
        if self.embedded {
            return None;
        }
        self.database.clone().or_else(|| database_for(&self.dir))
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.parent().unwrap().join("server.log"))
            .unwrap();
        let mut command = Command::new(binary());
        if let Some(open_files) = self.open_files {
            use std::os::unix::process::CommandExt;
            let limit = libc::rlimit {
                rlim_cur: open_files,
                rlim_max: open_files,
            };
            // SAFETY: setrlimit is async-signal-safe and `limit` is a valid rlimit.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        if let Some(url) = self.database() {
            command.arg("--database").arg(url);
        }
        let mut child = command
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(&self.dir)
            .args(&self.extra_args)
            .envs(self.extra_env.iter().cloned())
            .env(
                "SKEIN_LOG",
                std::env::var("SKEIN_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start skein");
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.child = Some(child);
        loop {
            let line = lines_rx
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|_| panic!("server did not start; log: {}", self.log()));
            if let Some(token) = line.split("?token=").nth(1) {
                self.admin_token = Some(token.trim().to_string());
            }
            if let Some(addr) = line.strip_prefix("listening on http://") {
                self.addr = addr.trim().to_string();
            }
            if line.starts_with("login:") || line.starts_with("sign in") {
                break;
            }
        }
        assert!(!self.addr.is_empty());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.parent().unwrap().join("server.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM, then wait for a clean exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().expect("wait for server").success()
    }

    /// SIGKILL: no shutdown code runs at all.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts the server again on the same data dir (after stop or kill9).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server first");
        self.launch();
    }

    /// Changes the extra `serve` flags and environment used by the next [`Self::restart`].
    pub fn reconfigure(&mut self, extra: &[&str], env: &[(&str, &str)]) {
        self.extra_args = extra.iter().map(|s| s.to_string()).collect();
        self.extra_env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    /// A series of `GET /metrics` (read with the admin's token), or 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = reqwest::Client::new()
            .get(format!("http://{}/metrics", self.addr))
            .bearer_auth(
                self.admin_token
                    .as_deref()
                    .expect("the first start's admin"),
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metric_in(&text, series)
    }

    /// Waits until a metric reaches `at_least`.
    pub async fn metric_reaches(&self, series: &str, at_least: f64) {
        let deadline = std::time::Instant::now() + PATIENCE;
        while self.metric(series).await < at_least {
            assert!(
                std::time::Instant::now() < deadline,
                "{series} stayed below {at_least}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Value {
        reqwest::get(format!("http://{}/healthz", self.addr))
            .await
            .expect("healthz")
            .json()
            .await
            .expect("healthz JSON")
    }

    /// Polls `/healthz` until `ready` holds of it (within [`PATIENCE`]); returns it.
    pub async fn health_until(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let health = self.health().await;
            if ready(&health) {
                return health;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited for {what}; /healthz says {health}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs a `skein` subcommand against this data dir and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = cli_on(&self.dir, self.database(), args);
        assert!(
            out.status.success(),
            "skein {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs the CLI on this server's data dir; its output, whether it succeeded or not.
    pub fn try_cli(&self, args: &[&str]) -> std::process::Output {
        cli_on(&self.dir, self.database(), args)
    }

    pub fn add_user(&self, name: &str, email: &str) -> TestUser {
        self.add_user_with(name, email, &[])
    }

    pub fn add_user_with(&self, name: &str, email: &str, extra: &[&str]) -> TestUser {
        let mut args = vec!["user", "add", "--name", name, "--email", email];
        args.extend_from_slice(extra);
        let out = self.cli(&args);
        TestUser {
            id: field(&out, "id: "),
            name: name.to_string(),
            email: email.to_string(),
            token: field(&out, "token: "),
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!(
                "--- server log ---\n{}--- end of server log ---",
                self.log()
            );
        }
    }
}

/// A series' value in Prometheus text (`name{labels} value`), or 0 when absent.
pub fn metric_in(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

pub fn run_cli(data_dir: &Path, args: &[&str]) -> std::process::Output {
    cli_on(data_dir, database_for(data_dir), args)
}

fn cli_on(data_dir: &Path, database: Option<String>, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(binary());
    if let Some(url) = database {
        command.arg("--database").arg(url);
    }
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run skein")
}

fn field(output: &str, prefix: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {output:?}"))
        .trim()
        .to_string()
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client that keeps messages it was not looking for yet.
pub struct Client {
    pub ws: Socket,
    next_request: u64,
    backlog: VecDeque<Value>,
}

impl Client {
    pub async fn connect(server: &TestServer, token: &str) -> Client {
        let mut request = server.ws_url().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connect");
        Client {
            ws,
            next_request: 0,
            backlog: VecDeque::new(),
        }
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws.send(Message::text(text.into())).await.unwrap();
    }

    /// Sends a request with a fresh request_id and returns the first reply carrying it.
    pub async fn request(&mut self, route: &str, data: Value) -> Value {
        self.next_request += 1;
        let id = format!("r{}", self.next_request);
        let frame = json!({"route": route, "data": data, "request_id": id});
        self.send_text(frame.to_string()).await;
        self.take(|m| m["request_id"] == json!(id)).await
    }

    /// A request that must succeed; returns its reply.
    pub async fn ok(&mut self, route: &str, data: Value) -> Value {
        let reply = self.request(route, data.clone()).await;
        assert!(reply["error"].is_null(), "{route} {data} failed: {reply}");
        reply
    }

    /// A request that must fail with `code`; returns the error message.
    pub async fn fails(&mut self, route: &str, data: Value, code: &str) -> String {
        let reply = self.request(route, data.clone()).await;
        assert_eq!(reply["error"]["code"], code, "{route} {data}: {reply}");
        assert!(reply["payload"].is_null(), "{reply}");
        reply["error"]["message"].as_str().unwrap().to_string()
    }

    /// The next message of any kind.
    pub async fn next(&mut self) -> Value {
        if let Some(message) = self.backlog.pop_front() {
            return message;
        }
        self.read().await
    }

    async fn read(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("timed out waiting for a message")
                .expect("connection ended")
                .expect("read failed");
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Close(close) => panic!("connection closed: {close:?}"),
                _ => continue,
            }
        }
    }

    /// The first message (kept or new) matching `matches`; others are kept for later.
    pub async fn take(&mut self, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(pos) = self.backlog.iter().position(&matches) {
            return self.backlog.remove(pos).unwrap();
        }
        loop {
            let message = self.read().await;
            if matches(&message) {
                return message;
            }
            self.backlog.push_back(message);
        }
    }

    /// The first message with this route and event.
    pub async fn expect(&mut self, route: &str, event: &str) -> Value {
        self.take(|m| m["route"] == route && m["event"] == event)
            .await
    }

    /// Everything received up to now, in order. Any request this connection sent earlier has
    /// been fully handled (requests are handled in order), and so has anything another client
    /// finished before calling this.
    pub async fn barrier(&mut self) -> Vec<Value> {
        self.next_request += 1;
        let id = format!("barrier{}", self.next_request);
        let frame = json!({"route": "/barrier", "data": {}, "request_id": id});
        self.send_text(frame.to_string()).await;
        let mut seen: Vec<Value> = self.backlog.drain(..).collect();
        loop {
            let message = self.read().await;
            if message["request_id"] == json!(id) {
                return seen;
            }
            seen.push(message);
        }
    }

    /// Waits for the server to close the connection and returns (code, reason).
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("timed out waiting for close");
            match frame {
                Some(Ok(Message::Close(Some(close)))) => {
                    return (close.code.into(), close.reason.to_string())
                }
                Some(Ok(Message::Close(None))) => return (1005, String::new()),
                Some(Ok(_)) => continue,
                Some(Err(err)) => panic!("connection failed without a close frame: {err}"),
                None => panic!("connection ended without a close frame"),
            }
        }
    }
}

/// Posts a new thread, waits until the analyst has finished with it, and returns the
/// initializeThread payload.
pub async fn create_thread(client: &mut Client, prompt: &str) -> Value {
    let reply = client
        .ok(
            "/threads/post",
            json!({"prompt": prompt, "thread_id": null, "dataset_id": null}),
        )
        .await;
    assert_eq!(reply["event"], "initializeThread");
    client.expect("/threads/post", "joinedThread").await;
    let id = reply["payload"]["id"].clone();
    answered(client, &id).await;
    reply["payload"].clone()
}

/// Waits for the analyst's final `updateThreadState` of a thread and returns it.
pub async fn answered(client: &mut Client, thread_id: &Value) -> Value {
    client
        .take(|m| {
            m["route"] == "/threads/post"
                && m["event"] == "updateThreadState"
                && m["payload"][0]["id"] == *thread_id
        })
        .await
}

/// True if any of `messages` mentions `needle` anywhere.
pub fn mentions(messages: &[Value], needle: &str) -> bool {
    messages.iter().any(|m| m.to_string().contains(needle))
}

/// Posts a new thread and returns its id.
pub async fn new_thread_id(client: &mut Client, prompt: &str) -> String {
    create_thread(client, prompt).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Shares (or with role "none" unshares) a thread with a user.
pub async fn share(client: &mut Client, thread_id: &str, user: &TestUser, role: &str) {
    client
        .ok(
            "/threads/update",
            json!({"id": thread_id, "share": [{"user_id": user.id, "role": role}]}),
        )
        .await;
}

/// Runs `skein serve` on `data_dir`, which must fail; returns what it printed on stderr.
pub fn serve_fails(data_dir: &Path) -> String {
    let mut command = Command::new(binary());
    if let Some(url) = database_for(data_dir) {
        command.arg("--database").arg(url);
    }
    let out = command
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve should have failed");
    String::from_utf8(out.stderr).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Sends an HTTP request; its status and JSON body (null if the body is not JSON).
pub async fn json_reply(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls `check` every 100 ms until it holds, for at most `patience`.
pub async fn eventually<F: std::future::Future<Output = bool>>(
    patience: std::time::Duration,
    check: impl Fn() -> F,
) {
    let deadline = std::time::Instant::now() + patience;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "did not happen in {patience:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
