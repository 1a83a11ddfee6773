//! The LangGraph-compatible REST API through the real server: every endpoint and its error
//! paths over real HTTP. How its threads meet the WebSocket API's is `rest_threads.rs`.

mod common;
#[path = "common/rest_api.rs"]
mod rest_api;

use common::TestServer;
use rest_api::{detail, ids, uuid_like, Api};
use serde_json::{json, Value};

#[tokio::test]
async fn create_get_patch_delete_with_their_errors() {
    let server = TestServer::start();
    let api = Api::new(&server, server.admin_token.as_deref().unwrap());

    // Open endpoints.
    let anonymous = Api::new(&server, "");
    let ok = anonymous
        .send(reqwest::Client::new().get(format!("{}/ok", api.base)))
        .await;
    assert_eq!(
        (ok.status, ok.body.clone()),
        (200, json!({"ok": true, "services": {}}))
    );
    let openapi = anonymous
        .send(reqwest::Client::new().get(format!("{}/openapi.json", api.base)))
        .await;
    assert_eq!(openapi.status, 200);
    assert!(openapi.body["paths"]["/threads/search"]["post"].is_object());
    assert_eq!(
        anonymous
            .send(reqwest::Client::new().get(format!("{}/info", api.base)))
            .await
            .status,
        200
    );

    // Authentication: none or a wrong token is 401; Bearer works like X-Api-Key.
    let none = anonymous
        .send(
            reqwest::Client::new()
                .post(format!("{}/threads", api.base))
                .json(&json!({})),
        )
        .await;
    assert_eq!(none.status, 401);
    assert!(detail(&none.body).contains("X-Api-Key"));
    assert_eq!(
        Api::new(&server, "skn_wrong")
            .call("POST", "/threads", Some(json!({})))
            .await
            .status,
        401
    );
    let bearer = api
        .send(
            reqwest::Client::new()
                .post(format!("{}/threads", api.base))
                .bearer_auth(&api.token)
                .json(&json!({})),
        )
        .await;
    assert_eq!(bearer.status, 200);

    // Create: a server-made id, reserved metadata keys dropped, a new thread's shape.
    let created = api
        .create(json!({"metadata": {"owner": "ana", "run_id": "x", "tags": ["a", "b"]}}))
        .await;
    let id = created["thread_id"].as_str().unwrap().to_string();
    assert_eq!(
        created["metadata"],
        json!({"owner": "ana", "tags": ["a", "b"]})
    );
    assert_eq!(created["status"], "idle");
    assert_eq!(created["values"], json!({"messages": []}));
    assert_eq!(created["config"], json!({}));
    assert_eq!(created["interrupts"], json!({}));
    assert!(created["created_at"].as_str().unwrap().ends_with("+00:00"));
    assert!(created.get("ttl").is_none());

    // Given ids, in any form Python's uuid takes, come back canonical; a second create is 409
    // (raise) or the existing thread unchanged (do_nothing).
    let mine = "6F9619FF8B86D011B42D00C04FC964FF";
    let made = api
        .create(json!({"thread_id": mine, "metadata": {"v": 1}}))
        .await;
    assert_eq!(made["thread_id"], "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    let again = api
        .expect(409, "POST", "/threads", Some(json!({"thread_id": mine})))
        .await;
    assert_eq!(
        detail(&again),
        "Thread with ID 6f9619ff-8b86-d011-b42d-00c04fc964ff already exists"
    );
    let same = api
        .create(json!({"thread_id": mine, "if_exists": "do_nothing", "metadata": {"v": 2}}))
        .await;
    assert_eq!(same["metadata"], json!({"v": 1}));
    assert_eq!(same["created_at"], made["created_at"]);

    // Bad input: 422 naming the field, and nothing is created.
    let count = api
        .expect(200, "POST", "/threads/count", Some(json!({})))
        .await;
    for (body, needle) in [
        (json!({"metadata": null}), "null is not of type \"object\""),
        (json!({"metadata": [1]}), "instance[\"metadata\"]"),
        (
            json!({"thread_id": "nope"}),
            "Invalid thread ID: must be a UUID",
        ),
        (
            json!({"if_exists": "replace"}),
            "\"replace\" is not one of \"raise\" or \"do_nothing\"",
        ),
        (json!({"ttl": 5}), "5 is not of type \"object\""),
        (
            json!({"ttl": {"ttl": 5, "strategy": "keep_latest"}}),
            "keep_latest",
        ),
        (json!({"ttl": {"ttl": -1}}), "positive"),
    ] {
        let body = api
            .expect(422, "POST", "/threads", Some(body.clone()))
            .await;
        assert!(detail(&body).contains(needle), "{body} lacks {needle}");
    }
    let raw = api
        .send(api.request("POST", "/threads").body("{not json"))
        .await;
    assert_eq!(
        (raw.status, detail(&raw.body)),
        (422, "Invalid JSON in request body")
    );
    let huge = api
        .send(
            api.request("POST", "/threads")
                .body(vec![b' '; 9 * 1024 * 1024]),
        )
        .await;
    assert_eq!(huge.status, 413);
    assert!(detail(&huge.body).contains("Request body too large"));
    assert_eq!(
        api.expect(200, "POST", "/threads/count", Some(json!({})))
            .await,
        count
    );

    // Get, with and without the TTL; bad and unknown ids.
    let got = api
        .expect(200, "GET", &format!("/threads/{id}"), None)
        .await;
    assert_eq!(got["metadata"], created["metadata"]);
    let ttl = api
        .create(json!({"ttl": {"ttl": 90, "strategy": "delete"}}))
        .await;
    let ttl_id = ttl["thread_id"].as_str().unwrap();
    let with = api
        .expect(200, "GET", &format!("/threads/{ttl_id}?include=ttl"), None)
        .await;
    assert_eq!(with["ttl"]["strategy"], "delete");
    assert_eq!(with["ttl"]["ttl_minutes"], 90.0);
    assert!(with["ttl"]["expires_at"].is_string());
    let bad = api.expect(422, "GET", "/threads/not-a-uuid", None).await;
    assert_eq!(detail(&bad), "Invalid thread ID: must be a UUID");
    let unknown = uuid_like(7);
    let missing = api
        .expect(404, "GET", &format!("/threads/{unknown}"), None)
        .await;
    assert_eq!(
        detail(&missing),
        format!("Thread with ID {unknown} not found")
    );
    assert_eq!(api.call("GET", "/threads", None).await.status, 405);
    // No body at all is not an empty object: 422 as the reference server, and nothing made.
    let before = api
        .expect(200, "POST", "/threads/count", Some(json!({})))
        .await;
    api.expect(422, "POST", "/threads", None).await;
    let after = api
        .expect(200, "POST", "/threads/count", Some(json!({})))
        .await;
    assert_eq!(after, before);
    assert_eq!(
        api.call("PUT", &format!("/threads/{id}"), None)
            .await
            .status,
        405
    );
    assert_eq!(api.call("GET", "/threads/search", None).await.status, 422);

    // Patch: a shallow merge (nested objects replaced, null stored), updated_at moves,
    // state_updated_at does not; `Prefer: return=minimal` is 204.
    api.expect(
        200,
        "PATCH",
        &format!("/threads/{id}"),
        Some(json!({"metadata": {"n": {"a": 1}}})),
    )
    .await;
    let patched = api
        .expect(
            200,
            "PATCH",
            &format!("/threads/{id}"),
            Some(json!({"metadata": {"n": {"b": 2}, "owner": null}})),
        )
        .await;
    assert_eq!(
        patched["metadata"],
        json!({"owner": null, "tags": ["a", "b"], "n": {"b": 2}})
    );
    assert!(patched["updated_at"].as_str() > created["updated_at"].as_str());
    assert_eq!(patched["state_updated_at"], created["state_updated_at"]);
    let minimal = api
        .send(
            api.request("PATCH", &format!("/threads/{id}"))
                .header("prefer", "return=minimal")
                .json(&json!({"metadata": {"m": 1}})),
        )
        .await;
    assert_eq!((minimal.status, minimal.body), (204, Value::Null));
    assert_eq!(
        api.expect(200, "GET", &format!("/threads/{id}"), None)
            .await["metadata"]["m"],
        1
    );
    let missing = api
        .expect(
            404,
            "PATCH",
            &format!("/threads/{unknown}"),
            Some(json!({})),
        )
        .await;
    assert!(detail(&missing).contains("not found"));
    api.expect(
        422,
        "PATCH",
        &format!("/threads/{id}"),
        Some(json!({"metadata": "x"})),
    )
    .await;

    // Delete: 204, then it is gone.
    let deleted = api.call("DELETE", &format!("/threads/{id}"), None).await;
    assert_eq!((deleted.status, deleted.body), (204, Value::Null));
    api.expect(404, "GET", &format!("/threads/{id}"), None)
        .await;
    api.expect(404, "DELETE", &format!("/threads/{id}"), None)
        .await;
}

/// A UUID nobody made.

#[tokio::test]
async fn search_filters_sorts_pages_selects_and_extracts() {
    let server = TestServer::start();
    let api = Api::new(&server, server.admin_token.as_deref().unwrap());
    let mut made = Vec::new();
    for n in 0..5 {
        let tags: Vec<&str> = ["x", "y", "z"].into_iter().take(n % 3 + 1).collect();
        let thread = api
            .create(
                json!({"metadata": {"n": n, "even": n % 2 == 0, "tags": tags, "nested": {"k": n}}}),
            )
            .await;
        api.expect(200, "POST", &format!("/threads/{}/state", thread["thread_id"].as_str().unwrap()),
            Some(json!({"values": {"messages": [{"type": "human", "content": format!("question {n}")}, {"type": "ai", "content": format!("answer {n}")}]}}))).await;
        made.push(thread["thread_id"].as_str().unwrap().to_string());
    }

    // Default: most recently changed first, 10 at most.
    let all = api.search(json!({})).await;
    assert_eq!(ids(&all), made.iter().rev().cloned().collect::<Vec<_>>());

    // Containment: scalars, nested objects, arrays as subsets; ANDed with ids.
    assert_eq!(
        ids(&api.search(json!({"metadata": {"even": true}})).await).len(),
        3
    );
    let with_z = api
        .search(json!({"metadata": {"tags": ["z"]}, "sort_by": "created_at", "sort_order": "asc"}))
        .await;
    assert_eq!(ids(&with_z), vec![made[2].clone()]);
    let with_y = api
        .search(json!({"metadata": {"tags": ["y"]}, "sort_by": "created_at", "sort_order": "asc"}))
        .await;
    assert_eq!(
        ids(&with_y),
        vec![made[1].clone(), made[2].clone(), made[4].clone()]
    );
    assert_eq!(
        ids(&api.search(json!({"metadata": {"nested": {"k": 3}}})).await),
        vec![made[3].clone()]
    );
    assert_eq!(api.search(json!({"metadata": {"n": "3"}})).await.len(), 0);
    let picked = api
        .search(json!({"ids": [made[0], made[3]], "metadata": {"even": true}}))
        .await;
    assert_eq!(ids(&picked), vec![made[0].clone()]);
    let by_values = api
        .search(json!({"values": {"messages": [{"content": "answer 4"}]}}))
        .await;
    assert_eq!(ids(&by_values), vec![made[4].clone()]);
    assert_eq!(api.search(json!({"status": "idle"})).await.len(), 5);
    assert_eq!(api.search(json!({"status": "busy"})).await.len(), 0);
    assert_eq!(
        api.expect(
            200,
            "POST",
            "/threads/count",
            Some(json!({"metadata": {"even": false}}))
        )
        .await,
        json!(2)
    );
    assert_eq!(
        api.expect(200, "POST", "/threads/count", None).await,
        json!(5)
    );

    // Sorting, with thread_id breaking ties both ways.
    let asc = api
        .search(json!({"sort_by": "created_at", "sort_order": "asc"}))
        .await;
    assert_eq!(ids(&asc), made);
    let mut by_id = made.clone();
    by_id.sort();
    assert_eq!(
        ids(&api
            .search(json!({"sort_by": "thread_id", "sort_order": "asc"}))
            .await),
        by_id
    );
    by_id.reverse();
    assert_eq!(
        ids(&api.search(json!({"sort_by": "thread_id"})).await),
        by_id
    );
    let mut tied = made.clone();
    tied.sort();
    assert_eq!(
        ids(&api
            .search(json!({"sort_by": "status", "sort_order": "desc"}))
            .await),
        tied
    );

    // Pages and their headers.
    let page = api
        .call(
            "POST",
            "/threads/search",
            Some(json!({"limit": 2, "offset": 1, "sort_by": "created_at", "sort_order": "asc"})),
        )
        .await;
    assert_eq!(ids(page.body.as_array().unwrap()), made[1..3].to_vec());
    assert_eq!(page.headers["x-pagination-next"], "3");
    assert_eq!(page.headers["x-pagination-total"], "4");
    let last = api
        .call(
            "POST",
            "/threads/search",
            Some(json!({"limit": 2, "offset": 4})),
        )
        .await;
    assert_eq!(last.body.as_array().unwrap().len(), 1);
    assert!(last.headers.get("x-pagination-next").is_none());
    assert_eq!(last.headers["x-pagination-total"], "5");
    let past = api
        .call("POST", "/threads/search", Some(json!({"offset": 9})))
        .await;
    assert_eq!(
        (
            past.body.clone(),
            past.headers["x-pagination-total"].to_str().unwrap()
        ),
        (json!([]), "9")
    );

    // select and extract (negative indexes, misses are null).
    let projected = api
        .search(json!({"ids": [made[1]], "select": ["thread_id", "metadata"],
            "extract": {"last": "values.messages[-1].content", "first": "values.messages[0].content",
                        "tag": "metadata.tags[1]", "oob": "values.messages[9]", "k": "metadata.nested.k"}}))
        .await;
    assert_eq!(
        projected[0],
        json!({
            "thread_id": made[1],
            "metadata": {"n": 1, "even": false, "tags": ["x", "y"], "nested": {"k": 1}},
            "extracted": {"last": "answer 1", "first": "question 1", "tag": "y", "oob": null, "k": 1},
        })
    );

    // Validation, as the reference server words it.
    for (body, status, needle) in [
        (
            json!({"limit": 1001}),
            422,
            "1001 is greater than the maximum of 1000",
        ),
        (json!({"limit": 0}), 422, "0 is less than the minimum of 1"),
        (
            json!({"limit": "5"}),
            422,
            "\"5\" is not of type \"integer\"",
        ),
        (json!({"offset": -1}), 422, "instance[\"offset\"]"),
        (
            json!({"sort_order": "ASC"}),
            422,
            "\"ASC\" is not one of \"asc\" or \"desc\"",
        ),
        (
            json!({"sort_by": "title"}),
            422,
            "schema[\"properties\"][\"sort_by\"]",
        ),
        (json!({"status": "done"}), 422, "\"done\" is not one of"),
        (
            json!({"select": ["context"]}),
            422,
            "\"context\" is not one of",
        ),
        (json!({"ids": ["nope"]}), 400, "Invalid thread ID nope"),
        (
            json!({"extract": {"bad-alias": "values"}}),
            422,
            "Extract key 'bad-alias' must be a valid identifier",
        ),
        (
            json!({"extract": {"status": "values"}}),
            422,
            "Extract keys cannot use reserved field names: ['status']",
        ),
        (
            json!({"extract": {"a": ""}}),
            422,
            "Extract path for 'a' must be a non-empty string",
        ),
        (
            json!({"extract": {"a": "thread_id"}}),
            422,
            "Extract path 'thread_id' must start with one of: config, interrupts, metadata, values",
        ),
        (
            json!({"extract": (0..11).map(|i| (format!("a{i}"), json!("values"))).collect::<serde_json::Map<_, _>>()}),
            422,
            "has more than 10 properties",
        ),
    ] {
        let reply = api
            .call("POST", "/threads/search", Some(body.clone()))
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert!(
            detail(&reply.body).contains(needle),
            "{body}: {} lacks {needle}",
            reply.body
        );
    }
}
