//! Clients that hold connections open without finishing a request (slowloris) are dropped
//! after the header time limit, a flood of connections cannot take the descriptors the server
//! needs for its own files, and the server keeps answering everyone else.

mod common;

use common::searching::{has_thread, search_until};
use common::{Client, TestServer, PATIENCE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

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

#[tokio::test]
async fn a_connection_flood_under_a_low_open_files_limit_leaves_the_server_working() {
    // 256 open files: the server fits its bounds to them (32 HTTP connections, 96 WebSockets)
    // and keeps the rest for its own files.
    let server = TestServer::start_with_open_files(&["--header-read-timeout-secs", "1"], 256);
    let bob = server.add_user("Bob", "bob@example.com");
    let mut victim = Client::connect(&server, &bob.token).await;

    // More WebSockets than the server has descriptors for: the excess is refused with 429.
    let mut sockets = Vec::new();
    let mut refused = 0;
    for _ in 0..200 {
        let mut request = server.ws_url().into_client_request().unwrap();
        request.headers_mut().insert(
            "Authorization",
            format!("Bearer {}", bob.token).parse().unwrap(),
        );
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => sockets.push(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 429);
                refused += 1;
            }
            Err(err) => panic!("a WebSocket neither served nor refused cleanly: {err}"),
        }
    }
    assert!(refused > 0 && !sockets.is_empty(), "{refused} refused");
    // And more half-sent requests than descriptors left.
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        let _ = stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: skein\r\nX-Slow: ")
            .await;
        slow.push(stream);
    }

    // Meanwhile the server answers, stores, runs the analyst (SQLite) and indexes (tantivy
    // commits open new files).
    let thread = common::create_thread(&mut victim, "total revenue during the flood").await;
    let id = thread["id"].as_str().unwrap().to_string();
    search_until(&mut victim, "revenue flood", |r| has_thread(r, &id)).await;
    let health = server.health().await;
    assert_eq!(health["status"], "ok", "{health}");
    let log = server.log();
    assert!(!log.contains("Too many open files"), "{log}");

    // Once the flood is gone, new WebSockets are served again.
    drop(sockets);
    drop(slow);
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let mut request = server.ws_url().into_client_request().unwrap();
        request.headers_mut().insert(
            "Authorization",
            format!("Bearer {}", bob.token).parse().unwrap(),
        );
        if tokio_tungstenite::connect_async(request).await.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no WebSocket after the flood"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
