//! Access can be taken back: a revoked token or a disabled user stops working at once, over
//! REST and over WebSockets already open (closed with 4401), and nothing else is affected.

mod common;

use common::{Client, TestServer};
use serde_json::json;

/// The value after `prefix` on the line that starts with it.
fn field(output: &str, prefix: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {output}"))
        .trim()
        .to_string()
}

async fn rest_status(server: &TestServer, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("http://{}/threads/search", server.addr))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn revoked_tokens_and_disabled_users_lose_access_at_once() {
    let mut server = TestServer::start();
    let added = server.cli(&["user", "add", "--name", "Ann", "--email", "ann@example.com"]);
    let (first, first_id) = (field(&added, "token: "), field(&added, "token id: "));
    let issued = server.cli(&["user", "token", "--email", "ann@example.com"]);
    let (second, second_id) = (field(&issued, "token: "), field(&issued, "token id: "));
    let listed = server.cli(&["token", "list", "--email", "ann@example.com"]);
    assert!(
        listed.contains(&first_id) && listed.contains(&second_id),
        "{listed}"
    );
    assert!(
        !listed.contains(&first),
        "a token itself is never shown again"
    );

    let mut with_first = Client::connect(&server, &first).await;
    let mut with_second = Client::connect(&server, &second).await;
    with_first.ok("/users/me", json!({})).await;

    // Revoking one token closes what it opened, and only that.
    server.cli(&["token", "revoke", &first_id]);
    let (code, reason) = with_first.closed().await;
    assert_eq!(
        (code, reason.as_str()),
        (4401, "token revoked; sign in again")
    );
    assert_eq!(rest_status(&server, &first).await, 401);
    with_second.ok("/users/me", json!({})).await;
    assert_eq!(rest_status(&server, &second).await, 200);

    // Disabling the user ends the rest.
    server.cli(&["user", "disable", "--email", "ann@example.com"]);
    let (code, _) = with_second.closed().await;
    assert_eq!(code, 4401);
    assert_eq!(rest_status(&server, &second).await, 401);
    let upgrade =
        tokio_tungstenite::connect_async(format!("{}?token={second}", server.ws_url())).await;
    assert!(upgrade.is_err(), "a disabled user cannot open a socket");

    // Enabled again, the remaining token works; the revoked one stays revoked.
    server.cli(&["user", "enable", "--email", "ann@example.com"]);
    assert_eq!(rest_status(&server, &second).await, 200);
    assert_eq!(rest_status(&server, &first).await, 401);

    // The same commands work with no server running, and unknown ids are a clear error.
    assert!(server.stop());
    let listed = server.cli(&["token", "list"]);
    assert!(
        listed.contains(&second_id) && !listed.contains(&first_id),
        "{listed}"
    );
    let out = common::run_cli(&server.dir, &["token", "revoke", "tok_000000000000"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("skein token list"));
}
