//! Running the server: open the store, bind, serve until shutdown, then close cleanly.

use crate::admin;
use crate::auth;
use crate::config::{Places, ServeArgs};
use crate::hub::CLOSE_GOING_AWAY;
use crate::listener::{self, Acceptor, ConnectionLimits};
use crate::services::Services;
use crate::store::Store;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::error::Error;
use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Connects to the shared database; without a bus, refuses to start beside another live node,
/// as each would miss the other's live updates and presence.
async fn open_shared(
    url: &str,
    data_dir: &Path,
    bus: bool,
) -> Result<Store, Box<dyn Error + Send + Sync>> {
    let store = Store::connect(url, data_dir).await?;
    let others = store.other_live_nodes().await?;
    if !others.is_empty() && !bus {
        return Err(format!(
            "another Skein node ({}) is serving from this database without a bus, so each \
             would miss the other's live updates and presence: start every node with \
             --bus nats://…, or stop the other node (or wait {} seconds after it died)",
            others[0],
            crate::store::NODE_GONE_AFTER_SECS
        )
        .into());
    }
    store.register_node().await?;
    Ok(store)
}

/// How long shutdown waits for WebSocket connections to finish closing.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves on `args.addr` with data in `places` until `shutdown` resolves.
///
/// Prints `listening on http://ADDR` once ready, and on first start the login URL of the
/// admin it created. On shutdown every socket is closed with 1001 and the store is flushed.
pub async fn run(
    args: &ServeArgs,
    places: &Places,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    let (data_dir, database) = (places.data_dir.as_path(), places.database.as_deref());
    prepare_data_dir(data_dir)?;
    if admin::send_to_server(data_dir, &admin::AdminCommand::ListOrgs)
        .await
        .is_some()
    {
        return Err(format!(
            "another Skein server is already running on {}",
            data_dir.display()
        )
        .into());
    }
    if args.bus.url.is_some() && database.is_none() {
        return Err(
            "--bus joins nodes that share a database: give --database postgres://… too".into(),
        );
    }
    let store = match database {
        None => Store::open_with_cache(data_dir, args.store_cache_mb * 1024 * 1024)?,
        Some(url) => open_shared(url, data_dir, args.bus.url.is_some()).await?,
    };
    let created_admin = auth::bootstrap(&store).await?;
    let services = Arc::new(
        Services::new(
            store.clone(),
            data_dir,
            &places.datasets_dir,
            args.settings(),
        )
        .await?,
    );
    services
        .events
        .subscribe(Arc::new(crate::ws::fanout::Renderer::start(&services)));
    // Questions a stopped server never finished answering say so instead of hanging unanswered.
    match crate::threads::analyses::mark_interrupted(&services).await {
        Ok(0) => {}
        Ok(count) => tracing::warn!(
            count,
            "marked analyses cut off by the last stop as interrupted"
        ),
        Err(err) => tracing::error!(error = %err, "could not mark interrupted analyses"),
    }
    if let (Some((admin, _)), false) = (&created_admin, args.no_sample) {
        // First start: register the sample dataset so questions work out of the box.
        if let Err(err) = services.datasets.add_sample(admin.org_id).await {
            tracing::error!(error = %err, "could not register the sample dataset");
        }
    }

    let listener =
        listen(args.addr).map_err(|err| format!("cannot listen on {}: {err}", args.addr))?;
    let addr = listener.local_addr()?;
    let stop = services.analyses.stop_token();
    let admin_task = match admin::bind(data_dir) {
        Ok(socket) => Some(tokio::spawn(admin::serve(
            socket,
            services.clone(),
            stop.clone(),
        ))),
        Err(err) => {
            tracing::warn!(error = %err, "no admin socket: `skein user …` will not work while this server runs");
            None
        }
    };

    // On a cluster: this node's events out to the others, theirs in, presence both ways. It
    // stops after the analyses, so the last of their events still reach the others.
    let cluster_stop = tokio_util::sync::CancellationToken::new();
    let cluster = match &args.bus.url {
        Some(_) => Some(crate::cluster::join(&args.bus, &services, cluster_stop.clone()).await?),
        None => None,
    };
    // Reopens the embedded store after a failed disk write (a full disk), once there is room
    // again; on PostgreSQL, keeps this node's heartbeat.
    let store_upkeep = tokio::spawn(store.clone().run_upkeep(stop.clone()));
    // Keeps the search index current, starting with what changed while the server was down.
    let indexer = tokio::spawn(services.search.clone().run_indexer(stop.clone()));
    // Embeds what the configured embedding model lacks (after a model change, or an outage).
    let vector_filler = tokio::spawn(services.search.clone().run_vector_filler(stop.clone()));
    // Deletes threads whose REST TTL ran out.
    let ttl_sweeper = tokio::spawn(crate::threads::delete::run_expiry(
        services.clone(),
        services.settings.ttl_sweep,
        stop.clone(),
    ));
    let (open_connections, mut all_closed) = mpsc::channel::<()>(1);
    // The backend of a Slack AI app, when configured: events in, answers out.
    let slack = args
        .slack()?
        .map(|config| crate::slack::Slack::new(services.clone(), &config));
    let slack_worker = slack
        .clone()
        .map(|slack| tokio::spawn(slack.run(stop.clone())));
    let limits = args.connection_limits().fit_to_descriptors();
    let websocket_slots = Arc::new(tokio::sync::Semaphore::new(limits.max_websockets));
    let routes = crate::http::routes(services.clone(), open_connections, websocket_slots, slack);

    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        match &created_admin {
            Some((user, token)) => {
                writeln!(
                    out,
                    "created org {:?} and admin {}",
                    auth::DEFAULT_ORG,
                    user.email
                )?;
                writeln!(out, "login: http://{addr}/?token={token}")?;
            }
            None => writeln!(
                out,
                "sign in with a user's token; `skein user token --email EMAIL` issues a new one"
            )?,
        }
        out.flush()?;
    }
    tracing::info!(%addr, data_dir = %data_dir.display(), "serving");

    serve_http(listener, routes, limits, shutdown).await;

    tracing::info!("shutting down: stopping analyses and background tasks");
    // Running analyses stop and mark their messages interrupted, and watchers are told, before
    // the sockets close.
    services.analyses.shut_down(SHUTDOWN_GRACE).await;
    services.settled().await;
    cluster_stop.cancel();
    tracing::info!("shutting down: closing connections");
    services
        .hub
        .close_all(CLOSE_GOING_AWAY, "server shutting down");
    // Every connection task holds a sender; recv() returns None once all of them are gone.
    drop(services);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, all_closed.recv()).await;
    for task in [
        cluster,
        Some(store_upkeep),
        slack_worker,
        Some(indexer),
        Some(vector_filler),
        Some(ttl_sweeper),
        admin_task,
    ]
    .into_iter()
    .flatten()
    {
        if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
            tracing::warn!("a background task did not stop within the shutdown grace");
        }
    }
    let _ = std::fs::remove_file(admin::socket_path(data_dir));
    store.flush().await?;
    tracing::info!("stopped; data flushed");
    Ok(())
}

/// Serves `routes` on `listener` until `shutdown`, then lets requests in flight finish (the
/// protections are `listener`'s).
async fn serve_http(
    listener: TcpListener,
    routes: impl warp::Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = Acceptor::new(listener, limits);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    while let Some((stream, slot)) = acceptor.next(&mut shutdown).await {
        let service = TowerToHyperService::new(warp::service(routes.clone()));
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let builder = listener::builder(limits);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(err) = watcher.watch(connection).await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(acceptor);
    graceful.shutdown().await;
}

/// Binds the listener with TCP_NODELAY, which accepted sockets inherit on Linux.
///
/// The analyst streams many small frames; with Nagle's algorithm each one could wait for the
/// peer's delayed ACK (about 40 ms) before leaving.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Creates the data dir readable only by its owner (tokens and the admin socket live there).
fn prepare_data_dir(data_dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if !data_dir.exists() {
        std::fs::create_dir_all(data_dir)?;
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first polled, so a
/// signal that arrives while the server is still starting is not lost. Needs a tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    }
}
