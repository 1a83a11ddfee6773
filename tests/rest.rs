//! The LangGraph-compatible REST API through the real server: every endpoint and its error
//! paths, over real HTTP with the same tokens, and the same threads the WebSocket API sees.

mod common;
#[path = "common/fake_llm.rs"]
mod fake_llm;

use common::{answered, create_thread, Client, TestServer};
use serde_json::{json, Value};

/// A REST client with one user's token.
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Api {
    fn new(server: &TestServer, token: &str) -> Api {
        Api {
            base: format!("http://{}", server.addr),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", &self.token)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// A call that must answer `status`; returns the body.
    async fn expect(&self, status: u16, method: &str, path: &str, body: Option<Value>) -> Value {
        let reply = self.call(method, path, body).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        reply.body
    }

    async fn create(&self, body: Value) -> Value {
        self.expect(200, "POST", "/threads", Some(body)).await
    }

    async fn search(&self, body: Value) -> Vec<Value> {
        let found = self
            .expect(200, "POST", "/threads/search", Some(body))
            .await;
        found.as_array().unwrap().clone()
    }
}

fn detail(body: &Value) -> &str {
    body["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail: {body}"))
}

fn ids(threads: &[Value]) -> Vec<String> {
    threads
        .iter()
        .map(|t| t["thread_id"].as_str().unwrap().to_string())
        .collect()
}

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
fn uuid_like(n: u8) -> String {
    format!("00000000-0000-4000-8000-0000000000{n:02}")
}

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

#[tokio::test]
async fn one_thread_two_faces() {
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let api = Api::new(&server, &token);
    let mut ws = Client::connect(&server, &token).await;

    // A thread made over WebSockets: its messages are the state's values.
    let thread = create_thread(&mut ws, "total sales by region").await;
    let id = thread["id"].as_str().unwrap().to_string();
    let got = api
        .expect(200, "GET", &format!("/threads/{id}"), None)
        .await;
    let messages = got["values"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{got}");
    assert_eq!(messages[0]["type"], "human");
    assert_eq!(messages[0]["content"], "total sales by region");
    assert_eq!(messages[1]["type"], "ai");
    assert!(!messages[1]["content"].as_str().unwrap().is_empty());
    assert!(got["values"]["analysis"]["sql"]
        .as_str()
        .unwrap()
        .contains("SELECT"));
    assert_eq!(got["status"], "idle");
    let found = api
        .search(json!({"ids": [id], "extract": {"last": "values.messages[-1]"}}))
        .await;
    assert_eq!(found[0]["extracted"]["last"], messages[1]);

    // State written over REST shows in the WebSocket view and reaches its watchers.
    let mut watcher = Client::connect(&server, &token).await;
    watcher.ok("/threads/get", json!({"id": id})).await;
    let written = api
        .expect(200, "POST", &format!("/threads/{id}/state"), Some(json!({"values": {
            "messages": [{"type": "human", "content": "a note from the SDK"}, {"type": "ai", "content": "noted"}],
            "priority": "high"}})))
        .await;
    let checkpoint = written["checkpoint"]["checkpoint_id"]
        .as_str()
        .unwrap()
        .to_string();
    let update = watcher.expect("/threads/get", "updateThreadState").await;
    let ws_messages = update["payload"][0]["messages"].as_array().unwrap();
    assert_eq!(
        ws_messages.last().unwrap()["message"],
        "a note from the SDK"
    );
    assert_eq!(ws_messages.last().unwrap()["id"], checkpoint);
    let state = api
        .expect(200, "GET", &format!("/threads/{id}/state"), None)
        .await;
    assert_eq!(state["values"]["priority"], "high");
    assert_eq!(state["values"]["messages"].as_array().unwrap().len(), 4);
    assert_eq!(state["checkpoint"]["checkpoint_id"], checkpoint);

    // An existing message replaced by id (add_messages), not appended.
    let ai_id = state["values"]["messages"][3]["id"].clone();
    api.expect(200, "POST", &format!("/threads/{id}/state"),
        Some(json!({"values": {"messages": [{"type": "ai", "content": "noted, twice", "id": ai_id}]}}))).await;
    let state = api
        .expect(200, "GET", &format!("/threads/{id}/state"), None)
        .await;
    assert_eq!(state["values"]["messages"].as_array().unwrap().len(), 4);
    assert_eq!(state["values"]["messages"][3]["content"], "noted, twice");

    // History: one checkpoint per message, newest first, `before` and `limit` page back.
    let history = api
        .expect(
            200,
            "POST",
            &format!("/threads/{id}/history"),
            Some(json!({"limit": 5})),
        )
        .await;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["checkpoint"]["checkpoint_id"], checkpoint);
    assert_eq!(
        history[1]["values"]["messages"].as_array().unwrap().len(),
        2
    );
    assert_eq!(history[0]["parent_checkpoint"], history[1]["checkpoint"]);
    let older = api
        .expect(
            200,
            "GET",
            &format!("/threads/{id}/history?limit=1&before={checkpoint}"),
            None,
        )
        .await;
    assert_eq!(older[0]["checkpoint"], history[1]["checkpoint"]);
    api.expect(422, "GET", &format!("/threads/{id}/history?limit=0"), None)
        .await;
    api.expect(
        422,
        "POST",
        &format!("/threads/{id}/state"),
        Some(json!({"values": {"messages": [{"type": "system", "content": "x"}]}})),
    )
    .await;
    api.expect(
        422,
        "POST",
        &format!("/threads/{id}/state"),
        Some(json!({"values": 3})),
    )
    .await;

    // Copy: a new thread with the messages and values; the source is untouched.
    let copy = api
        .expect(200, "POST", &format!("/threads/{id}/copy"), None)
        .await;
    assert_ne!(copy["thread_id"], json!(id));
    assert_eq!(copy["values"]["priority"], "high");
    assert_eq!(copy["values"]["messages"].as_array().unwrap().len(), 4);
    api.expect(
        404,
        "POST",
        &format!("/threads/{}/copy", uuid_like(9)),
        None,
    )
    .await;

    // Deleting over REST tells the WebSocket watcher.
    let deleted = api.call("DELETE", &format!("/threads/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    let gone = watcher.expect("/threads/get", "deleteThreadState").await;
    assert_eq!(gone["payload"], json!([id]));
    ws.fails("/threads/get", json!({"id": id}), "NOT_FOUND")
        .await;

    // Prune: listed threads go, unknown ones are skipped; bad ids are 422.
    let keep = api.create(json!({})).await;
    let drop = api.create(json!({})).await;
    let pruned = api
        .expect(
            200,
            "POST",
            "/threads/prune",
            Some(json!({"thread_ids": [drop["thread_id"], copy["thread_id"], uuid_like(3)]})),
        )
        .await;
    assert_eq!(pruned, json!({"pruned_count": 2}));
    api.expect(
        200,
        "GET",
        &format!("/threads/{}", keep["thread_id"].as_str().unwrap()),
        None,
    )
    .await;
    api.expect(
        422,
        "POST",
        "/threads/prune",
        Some(json!({"thread_ids": ["x"]})),
    )
    .await;
    let missing = api
        .expect(422, "POST", "/threads/prune", Some(json!({})))
        .await;
    assert!(detail(&missing).contains("\"thread_ids\" is a required property"));
}

#[tokio::test]
async fn status_is_busy_while_the_analyst_runs_and_error_after_it_fails() {
    let fake = fake_llm::FakeLlm::start().await;
    fake.script([fake_llm::Reply::Stall]);
    let server = TestServer::start_with(&[
        "--llm-base-url",
        &fake.base_url,
        "--llm-model",
        "m",
        "--llm-first-token-timeout-secs",
        "3",
    ]);
    let token = server.admin_token.clone().unwrap();
    let api = Api::new(&server, &token);
    let mut ws = Client::connect(&server, &token).await;
    let reply = ws
        .ok(
            "/threads/post",
            json!({"prompt": "what is the meaning of life", "thread_id": null}),
        )
        .await;
    let id = reply["payload"]["id"].clone();
    let path = format!("/threads/{}", id.as_str().unwrap());
    assert_eq!(api.expect(200, "GET", &path, None).await["status"], "busy");
    assert_eq!(api.search(json!({"status": "busy"})).await.len(), 1);
    let refused = api
        .expect(
            409,
            "POST",
            &format!("{path}/state"),
            Some(json!({"values": {"x": 1}})),
        )
        .await;
    assert!(detail(&refused).contains("busy"));
    answered(&mut ws, &id).await;
    assert_eq!(api.expect(200, "GET", &path, None).await["status"], "error");
    assert_eq!(
        api.expect(
            200,
            "POST",
            "/threads/count",
            Some(json!({"status": "error"}))
        )
        .await,
        json!(1)
    );
}

#[tokio::test]
async fn users_see_only_their_threads_and_roles_hold() {
    let server = TestServer::start();
    let owner = server.add_user("Owner", "owner@local.test");
    let viewer = server.add_user("Viewer", "viewer@local.test");
    let stranger = server.add_user("Stranger", "stranger@local.test");
    let owner_api = Api::new(&server, &owner.token);
    let thread = owner_api
        .create(json!({"metadata": {"secret": true}}))
        .await;
    let id = thread["thread_id"].as_str().unwrap().to_string();
    let mut ws = Client::connect(&server, &owner.token).await;
    common::share(&mut ws, &id, &viewer, "viewer").await;

    let stranger_api = Api::new(&server, &stranger.token);
    stranger_api
        .expect(404, "GET", &format!("/threads/{id}"), None)
        .await;
    assert_eq!(stranger_api.search(json!({})).await.len(), 0);
    assert_eq!(
        stranger_api
            .expect(200, "POST", "/threads/count", None)
            .await,
        json!(0)
    );
    stranger_api
        .expect(
            404,
            "PATCH",
            &format!("/threads/{id}"),
            Some(json!({"metadata": {"x": 1}})),
        )
        .await;
    stranger_api
        .expect(404, "DELETE", &format!("/threads/{id}"), None)
        .await;
    stranger_api
        .expect(404, "POST", &format!("/threads/{id}/copy"), None)
        .await;
    // Taking the id of someone else's thread is refused, not a way to read it.
    stranger_api
        .expect(
            409,
            "POST",
            "/threads",
            Some(json!({"thread_id": id, "if_exists": "do_nothing"})),
        )
        .await;
    let pruned = stranger_api
        .expect(
            200,
            "POST",
            "/threads/prune",
            Some(json!({"thread_ids": [id]})),
        )
        .await;
    assert_eq!(pruned["pruned_count"], 0);

    let viewer_api = Api::new(&server, &viewer.token);
    assert_eq!(
        viewer_api
            .expect(200, "GET", &format!("/threads/{id}"), None)
            .await["metadata"]["secret"],
        true
    );
    viewer_api
        .expect(
            403,
            "PATCH",
            &format!("/threads/{id}"),
            Some(json!({"metadata": {"x": 1}})),
        )
        .await;
    viewer_api
        .expect(
            403,
            "POST",
            &format!("/threads/{id}/state"),
            Some(json!({"values": {"x": 1}})),
        )
        .await;
    viewer_api
        .expect(403, "DELETE", &format!("/threads/{id}"), None)
        .await;
    let after = owner_api
        .expect(200, "GET", &format!("/threads/{id}"), None)
        .await;
    assert_eq!(after["metadata"], json!({"secret": true}));
}

#[tokio::test]
async fn threads_whose_ttl_runs_out_are_deleted_for_everyone() {
    let server = TestServer::start_with(&["--ttl-sweep-secs", "1"]);
    let token = server.admin_token.clone().unwrap();
    let api = Api::new(&server, &token);
    let mut lists = Client::connect(&server, &token).await;
    lists.ok("/threads/list", json!({})).await;
    let short = api.create(json!({"ttl": {"ttl": 0.01}})).await;
    let long = api.create(json!({"ttl": {"ttl": 600}})).await;
    let forever = api.create(json!({})).await;
    let short_id = short["thread_id"].as_str().unwrap().to_string();
    let gone = lists
        .take(|m| m["event"] == "deleteThreadState" && m["payload"] == json!([short_id]))
        .await;
    assert_eq!(gone["route"], "/threads/list");
    api.expect(404, "GET", &format!("/threads/{short_id}"), None)
        .await;
    for kept in [&long, &forever] {
        api.expect(
            200,
            "GET",
            &format!("/threads/{}", kept["thread_id"].as_str().unwrap()),
            None,
        )
        .await;
    }
    // A TTL set by PATCH counts from the change.
    let patched = api
        .expect(
            200,
            "PATCH",
            &format!("/threads/{}", forever["thread_id"].as_str().unwrap()),
            Some(json!({"ttl": {"ttl": 0.01}})),
        )
        .await;
    let patched_id = patched["thread_id"].as_str().unwrap().to_string();
    lists
        .take(|m| m["event"] == "deleteThreadState" && m["payload"] == json!([patched_id]))
        .await;
}
