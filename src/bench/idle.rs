//! `skein bench idle`: what an idle WebSocket costs the server in resident memory. The server
//! (this binary or `--server`) is measured before and after N connections that each asked for
//! the thread list once and then stay silent.

use super::client;
use super::server::start_server;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// Opens `connections` idle WebSockets; reports the server's RSS growth per connection.
pub async fn idle(
    connections: usize,
    server_binary: Option<&Path>,
    as_json: bool,
) -> Result<String, String> {
    // The client side holds as many sockets as the server.
    crate::listener::raise_open_files_limit();
    let server = start_server(server_binary)?;
    let url = server.ws_url();
    let open = || async {
        let mut socket = client::connect(&url).await?;
        let list = json!({"route": "/threads/list", "data": {}, "request_id": 1});
        client::send(&mut socket, &list).await?;
        while client::next_event(&mut socket).await?["event"] != "getThreadsList" {}
        Ok::<_, String>(socket)
    };
    // One connection first, so the server's one-time allocations are in the baseline.
    let _warm = open().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server
        .rss_bytes()
        .ok_or("cannot read the server's memory")?;
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        sockets.push(open().await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server
        .rss_bytes()
        .ok_or("cannot read the server's memory")?;
    let per_connection = after.saturating_sub(before) as f64 / connections as f64;
    if as_json {
        return Ok(json!({
            "connections": connections,
            "rss_before_bytes": before,
            "rss_after_bytes": after,
            "bytes_per_connection": per_connection,
        })
        .to_string());
    }
    Ok(format!(
        "{connections} idle WebSockets: server RSS {:.1} MB → {:.1} MB, {:.1} KB per connection",
        before as f64 / 1e6,
        after as f64 / 1e6,
        per_connection / 1e3
    ))
}
