//! The access matrix: owner, editor, viewer, same-org stranger, org admin and another org's
//! admin, on every route, plus broadcasts never reaching anyone without access.

mod common;

use common::{mentions, new_thread_id, Client, TestServer, TestUser};
use serde_json::json;

struct Cast {
    owner: TestUser,
    editor: TestUser,
    viewer: TestUser,
    stranger: TestUser,
    admin: TestUser,
    outsider_admin: TestUser,
}

fn cast(server: &TestServer) -> Cast {
    server.cli(&["org", "add", "Acme"]);
    Cast {
        owner: server.add_user("Owner", "owner@local.test"),
        editor: server.add_user("Editor", "editor@local.test"),
        viewer: server.add_user("Viewer", "viewer@local.test"),
        stranger: server.add_user("Stranger", "stranger@local.test"),
        admin: server.add_user_with("Admin", "admin@local.test", &["--admin"]),
        outsider_admin: server.add_user_with(
            "Outsider",
            "boss@acme.test",
            &["--admin", "--org", "Acme"],
        ),
    }
}

/// A thread of `owner` shared with the editor and the viewer.
async fn shared_thread(server: &TestServer, cast: &Cast, prompt: &str) -> String {
    let mut owner = Client::connect(server, &cast.owner.token).await;
    let id = new_thread_id(&mut owner, prompt).await;
    owner
        .ok(
            "/threads/update",
            json!({"id": id, "share": [
                {"email": cast.editor.email, "role": "editor"},
                {"user_id": cast.viewer.id, "role": "viewer"}
            ]}),
        )
        .await;
    id
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    Ok,
    NotFound,
    Unauthorized,
}

async fn check(
    client: &mut Client,
    route: &str,
    data: serde_json::Value,
    expect: Expect,
    who: &str,
) {
    let reply = client.request(route, data.clone()).await;
    let got = match reply["error"]["code"].as_str() {
        None => Expect::Ok,
        Some("NOT_FOUND") => Expect::NotFound,
        Some("UNAUTHORIZED") => Expect::Unauthorized,
        Some(other) => panic!("{who} {route}: unexpected {other}: {reply}"),
    };
    assert_eq!(got, expect, "{who} {route} {data}: {reply}");
}

#[tokio::test]
async fn every_role_on_every_route() {
    use Expect::*;
    let server = TestServer::start();
    let cast = cast(&server);
    let id = shared_thread(&server, &cast, "quarterly revenue").await;

    // (user, sees in list, get, post, update title, change shares, unsubscribe)
    let rows: [(&TestUser, bool, Expect, Expect, Expect, Expect, Expect); 6] = [
        (&cast.owner, true, Ok, Ok, Ok, Ok, Ok),
        (&cast.editor, true, Ok, Ok, Ok, Unauthorized, Ok),
        (
            &cast.viewer,
            true,
            Ok,
            Unauthorized,
            Unauthorized,
            Unauthorized,
            Ok,
        ),
        (
            &cast.stranger,
            false,
            NotFound,
            NotFound,
            NotFound,
            NotFound,
            NotFound,
        ),
        (&cast.admin, true, Ok, Ok, Ok, Ok, Ok),
        (
            &cast.outsider_admin,
            false,
            NotFound,
            NotFound,
            NotFound,
            NotFound,
            NotFound,
        ),
    ];
    for (user, listed, get, post, update, share, unsubscribe) in rows {
        let who = user.name.as_str();
        let mut client = Client::connect(&server, &user.token).await;
        let list = client.ok("/threads/list", json!({})).await;
        assert_eq!(
            mentions(&[list["payload"].clone()], &id),
            listed,
            "{who} list"
        );
        check(&mut client, "/threads/get", json!({"id": id}), get, who).await;
        check(
            &mut client,
            "/threads/post",
            json!({"prompt": format!("from {who}"), "thread_id": id}),
            post,
            who,
        )
        .await;
        check(
            &mut client,
            "/threads/update",
            json!({"id": id, "title": format!("renamed by {who}")}),
            update,
            who,
        )
        .await;
        check(
            &mut client,
            "/threads/update",
            json!({"id": id, "status": "verified"}),
            update,
            who,
        )
        .await;
        check(
            &mut client,
            "/threads/update",
            json!({"id": id, "share": [{"email": cast.stranger.email, "role": "none"}]}),
            share,
            who,
        )
        .await;
        check(
            &mut client,
            "/threads/unsubscribe",
            json!({"id": id}),
            unsubscribe,
            who,
        )
        .await;
    }

    // Delete: only the owner and the org admin, each on a thread of their own to delete.
    for (user, expect) in [
        (&cast.editor, Unauthorized),
        (&cast.viewer, Unauthorized),
        (&cast.stranger, NotFound),
        (&cast.outsider_admin, NotFound),
        (&cast.owner, Ok),
    ] {
        let id = shared_thread(&server, &cast, "to be deleted").await;
        let mut client = Client::connect(&server, &user.token).await;
        check(
            &mut client,
            "/threads/delete",
            json!({"id": [id]}),
            expect,
            &user.name,
        )
        .await;
    }
    let id = shared_thread(&server, &cast, "admin deletes").await;
    let mut admin = Client::connect(&server, &cast.admin.token).await;
    check(
        &mut admin,
        "/threads/delete",
        json!({"id": [id]}),
        Ok,
        "admin",
    )
    .await;
    let mut owner = Client::connect(&server, &cast.owner.token).await;
    owner
        .fails("/threads/get", json!({"id": id}), "NOT_FOUND")
        .await;
}

#[tokio::test]
async fn failed_requests_by_the_unauthorized_change_nothing() {
    let server = TestServer::start();
    let cast = cast(&server);
    let id = shared_thread(&server, &cast, "leave me alone").await;
    let mut owner = Client::connect(&server, &cast.owner.token).await;
    let before = owner.ok("/threads/get", json!({"id": id})).await["payload"].clone();

    let mut viewer = Client::connect(&server, &cast.viewer.token).await;
    viewer
        .fails(
            "/threads/update",
            json!({"id": id, "title": "hijacked"}),
            "UNAUTHORIZED",
        )
        .await;
    viewer
        .fails(
            "/threads/post",
            json!({"prompt": "hi", "thread_id": id}),
            "UNAUTHORIZED",
        )
        .await;
    viewer
        .fails("/threads/delete", json!({"id": [id]}), "UNAUTHORIZED")
        .await;
    let mut outsider = Client::connect(&server, &cast.outsider_admin.token).await;
    outsider
        .fails(
            "/threads/update",
            json!({"id": id, "title": "hijacked"}),
            "NOT_FOUND",
        )
        .await;
    outsider
        .fails("/threads/delete", json!({"id": [id]}), "NOT_FOUND")
        .await;

    let after = owner.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    assert_eq!(before, after);
}

#[tokio::test]
async fn broadcasts_never_reach_users_without_access() {
    let server = TestServer::start();
    let cast = cast(&server);
    let mut stranger = Client::connect(&server, &cast.stranger.token).await;
    let mut outsider = Client::connect(&server, &cast.outsider_admin.token).await;
    let mut admin = Client::connect(&server, &cast.admin.token).await;
    let mut viewer = Client::connect(&server, &cast.viewer.token).await;
    for client in [&mut stranger, &mut outsider, &mut admin, &mut viewer] {
        client.ok("/threads/list", json!({})).await;
    }

    let id = shared_thread(&server, &cast, "board numbers").await;
    let mut owner = Client::connect(&server, &cast.owner.token).await;
    owner.ok("/threads/get", json!({"id": id})).await;
    owner
        .ok(
            "/threads/update",
            json!({"id": id, "title": "Board numbers", "status": "verified"}),
        )
        .await;
    owner
        .ok(
            "/threads/post",
            json!({"prompt": "and by region", "thread_id": id}),
        )
        .await;
    owner.ok("/threads/delete", json!({"id": [id]})).await;
    owner.barrier().await;

    assert!(
        !mentions(&stranger.barrier().await, &id),
        "stranger saw the thread"
    );
    assert!(
        !mentions(&outsider.barrier().await, &id),
        "another org saw the thread"
    );
    let admin_saw = admin.barrier().await;
    assert!(
        mentions(&admin_saw, "Board numbers"),
        "the org admin sees every thread of the org"
    );
    assert!(admin_saw.iter().any(|m| m["event"] == "deleteThreadState"));
    assert!(
        mentions(&viewer.barrier().await, "Board numbers"),
        "a viewer sees its updates"
    );
}

#[tokio::test]
async fn users_of_another_org_cannot_be_shared_with() {
    let server = TestServer::start();
    let cast = cast(&server);
    let id = shared_thread(&server, &cast, "internal").await;
    let mut owner = Client::connect(&server, &cast.owner.token).await;
    let message = owner
        .fails(
            "/threads/update",
            json!({"id": id, "share": [{"email": cast.outsider_admin.email, "role": "viewer"}]}),
            "NOT_FOUND",
        )
        .await;
    assert!(message.contains("organization"), "{message}");
    let mut outsider = Client::connect(&server, &cast.outsider_admin.token).await;
    outsider
        .fails("/threads/get", json!({"id": id}), "NOT_FOUND")
        .await;
}

#[tokio::test]
async fn a_revoked_share_sees_nothing_of_the_change_that_revoked_it_and_is_told_it_left() {
    let server = TestServer::start();
    let cast = cast(&server);
    let id = shared_thread(&server, &cast, "plans").await;
    // The viewer watches the thread and the list; the editor watches the thread.
    let mut viewer = Client::connect(&server, &cast.viewer.token).await;
    viewer.ok("/threads/list", json!({})).await;
    viewer.ok("/threads/get", json!({"id": id})).await;
    let mut editor = Client::connect(&server, &cast.editor.token).await;
    editor.ok("/threads/get", json!({"id": id})).await;
    viewer.barrier().await;
    editor.barrier().await;

    let mut owner = Client::connect(&server, &cast.owner.token).await;
    owner
        .ok(
            "/threads/update",
            json!({"id": id, "title": "Secret plans", "status": "verified",
                   "share": [{"user_id": cast.viewer.id, "role": "none"}]}),
        )
        .await;
    owner.barrier().await;

    let seen = viewer.barrier().await;
    assert!(
        !mentions(&seen, "Secret plans"),
        "the revoked viewer saw: {seen:?}"
    );
    for route in ["/threads/get", "/threads/list"] {
        assert!(
            seen.iter().any(|m| m["route"] == route
                && m["event"] == "deleteThreadState"
                && m["payload"] == json!([id])),
            "the revoked viewer is told on {route}: {seen:?}"
        );
    }
    // The others still in the thread see the change and the viewer leave.
    let others = editor.barrier().await;
    assert!(mentions(&others, "Secret plans"), "{others:?}");
    assert!(
        others
            .iter()
            .any(|m| m["event"] == "leftThread" && m["payload"][0]["id"] == json!(cast.viewer.id)),
        "{others:?}"
    );
}
