//! Clients that hold connections open without finishing a request (slowloris) are dropped
//! after the header time limit, and the server keeps answering everyone else.

mod common;

use common::{TestServer, PATIENCE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn slow_partial_headers_are_dropped_and_the_server_keeps_answering() {
    let server =
        TestServer::start_with(&["--max-connections", "16", "--header-read-timeout-secs", "1"]);
    // More half-sent requests than the server serves connections at once.
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: skein\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    let health = server.health().await;
    assert_eq!(health["status"], "ok", "{health}");
    // Every slow connection is closed by the server, none left hanging.
    for mut stream in slow {
        let closed = tokio::time::timeout(PATIENCE, async {
            let mut buffer = [0u8; 1024];
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a slow connection was left open");
    }
}
