//! The writes benchmark's second anchor: a trivial durable WebSocket server, run with the same
//! clients as Skein. Each text frame it gets is written (200 bytes) to its connection's own
//! file, over zeros as Skein's log writes, and `fdatasync`ed on tokio's blocking pool, then
//! answered with a frame as large as Skein's answers, carrying the request's `request_id`. It
//! is about the most any server could make of this disk with these clients: the round trip
//! and the clients' own work are in it, a thread store's work is not.

use super::writes::ZeroedFile;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// Serves on `listener` (in its own process, see `trivial_server`), writing its files in `dir`.
pub(super) async fn serve(listener: TcpListener, dir: PathBuf, reply_bytes: usize) {
    let padding = "x".repeat(reply_bytes.saturating_sub(64));
    for n in 0.. {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let _ = stream.set_nodelay(true);
        let (path, padding) = (dir.join(format!("echo-{n}")), padding.clone());
        tokio::spawn(async move {
            let Ok(file) = ZeroedFile::create(&path) else {
                return;
            };
            let file = std::sync::Arc::new(std::sync::Mutex::new(file));
            if let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await {
                while let Some(Ok(message)) = socket.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let request: Value = serde_json::from_str(&text).unwrap_or_default();
                    let file = file.clone();
                    let synced = tokio::task::spawn_blocking(move || {
                        file.lock().unwrap().write_synced(&[b'x'; 200])
                    })
                    .await;
                    if !matches!(synced, Ok(Ok(()))) {
                        break;
                    }
                    let reply = format!(
                        r#"{{"event":"updateThreadState","request_id":{},"payload":"{padding}"}}"#,
                        request["request_id"]
                    );
                    if socket.send(Message::text(reply)).await.is_err() {
                        break;
                    }
                }
            }
        });
    }
}
