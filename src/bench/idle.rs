//! `skein bench idle`: what an idle WebSocket costs the server in resident memory. The server
//! (this binary or `--server`) is measured before and after N connections that each asked for
//! the thread list once and then stay silent.

use super::server::start_server;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Opens `connections` idle WebSockets; reports the server's RSS growth per connection.
pub async fn idle(
    connections: usize,
    server_binary: Option<&Path>,
    as_json: bool,
) -> Result<String, String> {
    // The client side holds as many sockets as the server.
    crate::listener::raise_open_files_limit();
    let server = start_server(server_binary)?;
    let url = format!("ws://{}/ws?token={}", server.addr, server.token);
    let open = || async {
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let list = json!({"route": "/threads/list", "data": {}, "request_id": 1});
        socket
            .send(Message::text(list.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        while let Some(frame) = socket.next().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if frame.to_text().is_ok_and(|t| t.contains("getThreadsList")) {
                return Ok(socket);
            }
        }
        Err::<_, String>("the server closed a connection".into())
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
