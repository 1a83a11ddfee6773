//! Liveness and fan-out limits: a client that cannot keep up is closed with a reason and does
//! not hold anyone else back; a client that stops answering pings is closed.

mod common;

use common::{new_thread_id, Client, TestServer};
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_slow_client_is_closed_and_others_get_everything() {
    const RENAMES: usize = 60;
    let server = TestServer::start_with(&["--send-queue", "16"]);
    let bob = server.add_user("Bob", "bob@example.com");
    let mut writer = Client::connect(&server, &bob.token).await;
    let id = new_thread_id(&mut writer, "big thread").await;
    // About 900 KB of thread state per update, in one message's chart config.
    let big = "x".repeat(900_000);
    writer
        .ok(
            "/threads/update",
            json!({"id": id, "chart_config": {"padding": big}}),
        )
        .await;

    // The slow client: a tiny receive buffer, subscribed, never reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr.parse().unwrap()).await.unwrap();
    let mut request = server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", bob.token).parse().unwrap(),
    );
    let (mut slow, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    use futures_util::SinkExt;
    slow.send(
        json!({"route": "/threads/get", "data": {"id": id}})
            .to_string()
            .into(),
    )
    .await
    .unwrap();

    // A fast watcher reads everything as it comes.
    let mut fast = Client::connect(&server, &bob.token).await;
    fast.ok("/threads/get", json!({"id": id})).await;
    let fast_reader = tokio::spawn(async move {
        let mut updates = 0;
        while updates < RENAMES {
            let message = fast.next().await;
            if message["event"] == "updateThreadState" {
                updates += 1;
            }
        }
        updates
    });

    let renames = tokio::spawn(async move {
        for n in 0..RENAMES {
            writer
                .ok(
                    "/threads/update",
                    json!({"id": id, "title": format!("rename {n}")}),
                )
                .await;
        }
    });

    // Like a client that was stalled and comes back: once the server has given up on the slow
    // client (its log says so), read what was in flight, then a close frame saying why.
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while !server.log().contains("send queue full") {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow client was never closed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let close = loop {
        match slow.next().await {
            Some(Ok(Message::Close(frame))) => break frame.expect("close frame with a code"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    renames.await.unwrap();
    assert_eq!(
        fast_reader.await.unwrap(),
        RENAMES,
        "the fast client got every update"
    );
    assert_eq!(u16::from(close.code), 1008);
    assert!(close.reason.contains("too slow"), "{}", close.reason);
    server
        .metric_reaches("skein_slow_client_closes_total", 1.0)
        .await;
    assert!(server.metric("skein_messages_dropped_total").await >= 1.0);
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_closed() {
    let server = TestServer::start_with(&["--ping-interval-secs", "1", "--pong-timeout-secs", "2"]);
    let bob = server.add_user("Bob", "bob@example.com");
    let mut silent = Client::connect(&server, &bob.token).await;
    let mut lively = Client::connect(&server, &bob.token).await;
    // Not reading means not answering the server's pings.
    let pause = tokio::time::sleep(std::time::Duration::from_secs(4));
    tokio::pin!(pause);
    loop {
        tokio::select! {
            _ = &mut pause => break,
            // The lively client keeps reading, so its pings are answered.
            frame = lively.ws.next() => { frame.unwrap().unwrap(); }
        }
    }
    let (code, reason) = silent.closed().await;
    assert_eq!(code, 1001);
    assert!(reason.contains("no pong"), "{reason}");
    lively.ok("/threads/list", json!({})).await;
}
