//! The Freddy threads API (`/v1/threads`, seed 003) against the real binary: the thread
//! object, every endpoint's success and error paths, the metadata and title limits at the edge
//! and one past it, and cursor paging. `freddy_rules.rs` has the access matrix, lock and
//! archive rules on every interface, and the live and search views.

mod common;

use common::freddy_api::{langgraph_state, org_of, Freddy};
use common::TestServer;
use serde_json::{json, Value};

#[tokio::test]
async fn the_thread_object_create_get_and_the_limits() {
    let server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let org = org_of(&server, &bob).await;
    let api = Freddy::new(&server, &bob.token);

    let thread = api
        .create(
            &org,
            json!({"title": "Revenue questions", "metadata": {"priority": "high", "tags": ["a", "b"]},
               "assistantId": "asst_1", "visibleInUi": true,
               "messages": [{"role": "user", "content": "what was revenue in march"},
                            {"role": "assistant", "content": "revenue in march was 1,200"}]}),
        )
        .await;
    let mut fields: Vec<&str> = thread
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "assistantId",
            "createdAt",
            "id",
            "messageCount",
            "metadata",
            "object",
            "organizationId",
            "state",
            "status",
            "title",
            "updatedAt",
            "userId",
            "visibleInUi"
        ]
    );
    let id = thread["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("thread_") && id.len() == 39, "{id}");
    assert_eq!(thread["object"], "thread");
    assert!(thread["createdAt"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(thread["organizationId"], org);
    assert_eq!(thread["userId"], bob.id);
    assert_eq!(thread["title"], "Revenue questions");
    assert_eq!(thread["assistantId"], "asst_1");
    assert_eq!(thread["messageCount"], 2);
    assert_eq!(thread["status"], "inactive");
    assert_eq!(thread["state"], "open");
    assert_eq!(thread["metadata"]["tags"], json!(["a", "b"]));
    assert_eq!(
        api.expect(200, "GET", &format!("/threads/{id}"), None)
            .await,
        thread
    );

    // The messages were stored in order: the LangGraph view of the same thread shows them.
    let state = langgraph_state(&server, &bob.token, &id).await;
    let turns = state["values"]["messages"].as_array().unwrap();
    assert_eq!(turns[0]["content"], "what was revenue in march");
    assert_eq!(turns[0]["type"], "human");
    assert_eq!(turns[1]["content"], "revenue in march was 1,200");
    assert_eq!(turns[1]["type"], "ai");

    // Defaults.
    let plain = api.create(&org, json!({})).await;
    assert_eq!(plain["visibleInUi"], true);
    assert_eq!(plain["assistantId"], Value::Null);
    assert_eq!(plain["messageCount"], 0);
    assert_eq!(plain["metadata"], json!({}));

    // Limits at the edge pass; one past is 422 naming the field and the limit, storing nothing.
    let pairs = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("k{i}"), json!("v")))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let (before, _) = api.ids("?limit=100").await;
    let long = |n: usize| "x".repeat(n);
    for (ok, body) in [
        (true, json!({"metadata": pairs(16)})),
        (false, json!({"metadata": pairs(17)})),
        (true, json!({"metadata": {long(64): "v"}})),
        (false, json!({"metadata": {long(65): "v"}})),
        (true, json!({"metadata": {"k": long(512)}})),
        (false, json!({"metadata": {"k": long(513)}})),
        // A value that is not a string counts by its JSON text: 510 characters and quotes.
        (true, json!({"metadata": {"k": [long(508)]}})),
        (false, json!({"metadata": {"k": [long(510)]}})),
        (true, json!({"title": long(200)})),
        (false, json!({"title": long(201)})),
        (false, json!({"title": "   "})),
        (
            false,
            json!({"messages": [{"role": "robot", "content": "hi"}]}),
        ),
        (
            false,
            json!({"messages": [{"role": "user", "content": "   "}]}),
        ),
        (false, json!({"metadata": "not an object"})),
    ] {
        let mut body = body;
        body["organizationId"] = json!(org);
        let (status, reply) = api.call("POST", "/threads", Some(body.clone())).await;
        if ok {
            assert_eq!(status, 200, "{body}: {reply}");
            api.expect(
                200,
                "DELETE",
                &format!("/threads/{}", reply["id"].as_str().unwrap()),
                None,
            )
            .await;
        } else {
            assert_eq!(status, 422, "{body}: {reply}");
            let message = reply["error"]["message"].as_str().unwrap();
            assert!(
                ["metadata", "title", "messages"]
                    .iter()
                    .any(|f| message.contains(f)),
                "{message}"
            );
        }
    }
    let (after, _) = api.ids("?limit=100").await;
    assert_eq!(before, after, "refused creates stored nothing");

    // The organization is the caller's; other errors.
    api.fails(422, "VALIDATION_ERROR", "POST", "/threads", Some(json!({})))
        .await;
    api.fails(
        403,
        "ORGANIZATION_ACCESS_DENIED",
        "POST",
        "/threads",
        Some(json!({"organizationId": uuid::Uuid::new_v4()})),
    )
    .await;
    api.fails(
        400,
        "INVALID_REQUEST",
        "POST",
        "/threads",
        Some(json!([1, 2])),
    )
    .await;
    api.fails(
        422,
        "VALIDATION_ERROR",
        "GET",
        "/threads/not-a-thread",
        None,
    )
    .await;
    api.fails(
        404,
        "RESOURCE_NOT_FOUND",
        "GET",
        &format!("/threads/thread_{}", uuid::Uuid::new_v4().simple()),
        None,
    )
    .await;
    api.fails(405, "METHOD_NOT_ALLOWED", "PUT", "/threads", None)
        .await;
    api.fails(404, "ENDPOINT_NOT_FOUND", "GET", "/nothing", None)
        .await;
    let anonymous = Freddy::new(&server, "");
    anonymous
        .fails(401, "AUTHENTICATION_REQUIRED", "GET", "/threads", None)
        .await;
    let forged = Freddy::new(&server, "skn_forged");
    forged
        .fails(401, "INVALID_API_KEY", "GET", "/threads", None)
        .await;
    // X-API-Key works as well as Bearer.
    let listed = reqwest::Client::new()
        .get(format!("http://{}/v1/threads", server.addr))
        .header("x-api-key", &bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
}

#[tokio::test]
async fn modify_merge_rename_metadata_and_delete() {
    let server = TestServer::start();
    let (api, org) = Freddy::bob(&server).await;
    let thread = api
        .create(&org, json!({"metadata": {"a": 1, "b": 2}}))
        .await;
    let path = format!("/threads/{}", thread["id"].as_str().unwrap());

    let changed = api
        .expect(
            200,
            "POST",
            &path,
            Some(json!({"metadata": {"b": 3, "c": 4}, "title": "Renamed",
            "visibleInUi": false, "assistantId": "asst_9"})),
        )
        .await;
    assert_eq!(changed["metadata"], json!({"a": 1, "b": 3, "c": 4}));
    assert_eq!(changed["title"], "Renamed");
    assert_eq!(changed["visibleInUi"], false);
    assert_eq!(changed["assistantId"], "asst_9");
    // A merge past 16 pairs is refused whole: the title does not change either.
    let many: serde_json::Map<String, Value> =
        (0..14).map(|i| (format!("n{i}"), json!(i))).collect();
    api.fails(
        422,
        "VALIDATION_ERROR",
        "POST",
        &path,
        Some(json!({"metadata": many, "title": "Never"})),
    )
    .await;
    api.fails(422, "VALIDATION_ERROR", "POST", &path, Some(json!({})))
        .await;
    assert_eq!(api.expect(200, "GET", &path, None).await, changed);

    let patched = api
        .expect(
            200,
            "PATCH",
            &format!("{path}/metadata"),
            Some(json!({"metadata": {"a": "one"}, "visibleInUi": true})),
        )
        .await;
    assert_eq!(patched["id"], thread["id"]);
    assert_eq!(patched["metadata"]["a"], "one");
    assert_eq!(patched["visibleInUi"], true);
    assert!(patched["updatedAt"].is_i64());

    let renamed = api
        .expect(
            200,
            "PUT",
            &format!("{path}/rename"),
            Some(json!({"title": "Q3 revenue"})),
        )
        .await;
    assert_eq!(
        renamed,
        json!({"success": true, "threadId": thread["id"], "newTitle": "Q3 revenue",
               "message": "Thread renamed successfully"})
    );
    api.fails(
        422,
        "VALIDATION_ERROR",
        "PUT",
        &format!("{path}/rename"),
        Some(json!({})),
    )
    .await;
    api.fails(
        405,
        "METHOD_NOT_ALLOWED",
        "GET",
        &format!("{path}/rename"),
        None,
    )
    .await;

    let deleted = api.expect(200, "DELETE", &path, None).await;
    assert_eq!(
        deleted,
        json!({"id": thread["id"], "deleted": true, "object": "thread.deleted"})
    );
    api.fails(404, "RESOURCE_NOT_FOUND", "GET", &path, None)
        .await;
    api.fails(404, "RESOURCE_NOT_FOUND", "DELETE", &path, None)
        .await;
}

#[tokio::test]
async fn cursor_paging_in_both_directions_with_concurrent_inserts() {
    let server = TestServer::start();
    let (api, org) = Freddy::bob(&server).await;
    let mut made = Vec::new();
    for n in 0..7 {
        let thread = api.create(&org, json!({"title": format!("t{n}")})).await;
        made.push(thread["id"].as_str().unwrap().to_string());
    }

    for descending in [true, false] {
        let order = if descending { "desc" } else { "asc" };
        let mut expected = made.clone();
        if descending {
            expected.reverse();
        }
        // Forward with `after`, while new threads keep arriving.
        let mut seen = Vec::new();
        let (mut page, mut list) = api.ids(&format!("?limit=3&order={order}")).await;
        loop {
            seen.extend(page.clone());
            api.create(&org, json!({"title": "arrived while paging"}))
                .await;
            if list["hasMore"] == false {
                break;
            }
            assert_eq!(list["lastId"].as_str(), page.last().map(String::as_str));
            let last = list["lastId"].as_str().unwrap().to_string();
            (page, list) = api
                .ids(&format!("?limit=3&order={order}&after={last}"))
                .await;
        }
        let ours: Vec<&String> = seen.iter().filter(|id| made.contains(id)).collect();
        let expected_refs: Vec<&String> = expected.iter().collect();
        if descending {
            // Newer threads sort first: the pages hold exactly the threads that existed.
            assert_eq!(seen, expected, "desc: no gaps or repeats");
        } else {
            // Oldest first: our threads in order, then the ones that arrived, none twice.
            assert_eq!(ours, expected_refs, "asc: no gaps");
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "asc: no repeats");
        }
        // Backward with `before` from the last page gives the pages before it.
        let last_page: Vec<String> = expected[expected.len() - 2..].to_vec();
        let anchor = &last_page[0];
        let (back, list) = api
            .ids(&format!("?limit=2&order={order}&before={anchor}"))
            .await;
        let at = expected.iter().position(|id| id == anchor).unwrap();
        assert_eq!(back, expected[at - 2..at].to_vec(), "{order} before");
        assert_eq!(list["hasMore"], true);
    }

    // Bounds and filters.
    api.fails(422, "VALIDATION_ERROR", "GET", "/threads?limit=0", None)
        .await;
    api.fails(422, "VALIDATION_ERROR", "GET", "/threads?limit=101", None)
        .await;
    api.fails(422, "VALIDATION_ERROR", "GET", "/threads?order=up", None)
        .await;
    api.fails(
        422,
        "VALIDATION_ERROR",
        "GET",
        "/threads?after=thread_x",
        None,
    )
    .await;
    let (all, _) = api.ids("?limit=100").await;
    assert!(all.len() > 7);
    let hidden = api
        .create(&org, json!({"visibleInUi": false, "assistantId": "asst_h"}))
        .await;
    let hidden_id = hidden["id"].as_str().unwrap().to_string();
    let (invisible, _) = api.ids("?visibleInUi=false").await;
    assert_eq!(invisible, vec![hidden_id.clone()]);
    let (by_assistant, _) = api.ids("?assistantId=asst_h").await;
    assert_eq!(by_assistant, vec![hidden_id.clone()]);
    api.expect(200, "POST", &format!("/threads/{hidden_id}/archive"), None)
        .await;
    let (unarchived, _) = api.ids("?assistantId=asst_h").await;
    assert!(unarchived.is_empty());
    let (with_archived, _) = api.ids("?assistantId=asst_h&includeArchived=true").await;
    assert_eq!(with_archived, vec![hidden_id]);
}

#[tokio::test]
async fn messages_list_page_edit_and_delete() {
    let server = TestServer::start();
    let (api, org) = Freddy::bob(&server).await;
    let thread = api
        .create(
            &org,
            json!({"messages": [
            {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"},
            {"role": "user", "content": "q3"}]}),
        )
        .await;
    let id = thread["id"].as_str().unwrap().to_string();
    let path = format!("/threads/{id}/messages");
    let texts = |list: &Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"][0]["text"].as_str().unwrap().to_string())
            .collect()
    };

    let all = api.expect(200, "GET", &path, None).await;
    assert_eq!(texts(&all), ["q1", "a1", "q2", "a2", "q3"]);
    let first = &all["data"][0];
    assert_eq!(first["object"], "thread.message");
    assert_eq!(first["threadId"], id);
    assert_eq!(first["role"], "user");
    assert_eq!(all["data"][1]["role"], "assistant");
    assert!(first["id"].as_str().unwrap().starts_with("msg_"));
    assert!(first["createdAt"].is_i64());
    assert_eq!(all["hasMore"], false);

    // Paging both ways, in both orders.
    let page = api
        .expect(200, "GET", &format!("{path}?limit=2"), None)
        .await;
    assert_eq!(
        (texts(&page), page["hasMore"].clone()),
        (vec!["q1".into(), "a1".into()], json!(true))
    );
    let last = page["lastId"].as_str().unwrap();
    let page = api
        .expect(200, "GET", &format!("{path}?limit=2&after={last}"), None)
        .await;
    assert_eq!(texts(&page), ["q2", "a2"]);
    let page = api
        .expect(200, "GET", &format!("{path}?limit=2&order=desc"), None)
        .await;
    assert_eq!(texts(&page), ["q3", "a2"]);
    let q3 = all["data"][4]["id"].as_str().unwrap();
    let page = api
        .expect(200, "GET", &format!("{path}?limit=2&before={q3}"), None)
        .await;
    assert_eq!(
        (texts(&page), page["hasMore"].clone()),
        (vec!["q2".into(), "a2".into()], json!(true))
    );
    api.fails(
        422,
        "VALIDATION_ERROR",
        "GET",
        &format!("{path}?limit=101"),
        None,
    )
    .await;
    api.fails(
        422,
        "VALIDATION_ERROR",
        "GET",
        &format!("{path}?after=msg_0"),
        None,
    )
    .await;

    // Edit a question's and an answer's text; metadata and unknown messages are refused.
    let q1 = all["data"][0]["id"].as_str().unwrap().to_string();
    let a1 = all["data"][1]["id"].as_str().unwrap().to_string();
    let edited = api
        .expect(
            200,
            "PATCH",
            &format!("{path}/{q1}"),
            Some(json!({"content": "q1, edited"})),
        )
        .await;
    assert_eq!(edited["content"][0]["text"], "q1, edited");
    assert_eq!(edited["id"], q1);
    api.expect(
        200,
        "PATCH",
        &format!("{path}/{a1}"),
        Some(json!({"content": "a1, edited"})),
    )
    .await;
    api.fails(
        422,
        "UNSUPPORTED",
        "PATCH",
        &format!("{path}/{q1}"),
        Some(json!({"content": "x", "metadata": {"k": "v"}})),
    )
    .await;
    api.fails(
        422,
        "VALIDATION_ERROR",
        "PATCH",
        &format!("{path}/{q1}"),
        Some(json!({"content": " "})),
    )
    .await;
    let unknown = format!("msg_{}", uuid::Uuid::new_v4().simple());
    api.fails(
        404,
        "RESOURCE_NOT_FOUND",
        "PATCH",
        &format!("{path}/{unknown}"),
        Some(json!({"content": "x"})),
    )
    .await;
    let now = api.expect(200, "GET", &path, None).await;
    assert_eq!(texts(&now), ["q1, edited", "a1, edited", "q2", "a2", "q3"]);

    // Delete an answer (its question stays), then a question (with its answer).
    let a2 = all["data"][3]["id"].as_str().unwrap().to_string();
    let q2 = all["data"][2]["id"].as_str().unwrap().to_string();
    let gone = api
        .expect(200, "DELETE", &format!("{path}/{a2}"), None)
        .await;
    assert_eq!(
        gone,
        json!({"id": a2, "deleted": true, "object": "thread.message.deleted"})
    );
    api.fails(
        404,
        "RESOURCE_NOT_FOUND",
        "DELETE",
        &format!("{path}/{a2}"),
        None,
    )
    .await;
    assert_eq!(
        texts(&api.expect(200, "GET", &path, None).await),
        ["q1, edited", "a1, edited", "q2", "q3"]
    );
    api.expect(200, "DELETE", &format!("{path}/{q1}"), None)
        .await;
    assert_eq!(
        texts(&api.expect(200, "GET", &path, None).await),
        ["q2", "q3"]
    );
    let thread = api
        .expect(200, "GET", &format!("/threads/{id}"), None)
        .await;
    assert_eq!(thread["messageCount"], 2);

    // A locked thread's messages cannot change.
    api.expect(200, "POST", &format!("/threads/{id}/lock"), None)
        .await;
    api.fails(
        409,
        "THREAD_LOCKED",
        "PATCH",
        &format!("{path}/{q2}"),
        Some(json!({"content": "x"})),
    )
    .await;
    api.fails(409, "THREAD_LOCKED", "DELETE", &path, None).await;
    api.expect(200, "POST", &format!("/threads/{id}/unlock"), None)
        .await;
    api.expect(200, "DELETE", &path, None).await;
    assert_eq!(
        texts(&api.expect(200, "GET", &path, None).await),
        Vec::<String>::new()
    );
    api.fails(405, "METHOD_NOT_ALLOWED", "PUT", &path, None)
        .await;
}

#[tokio::test]
async fn an_answer_says_what_was_computed() {
    let server = TestServer::start();
    let admin = server.admin_token.clone().unwrap();
    let mut ws = common::Client::connect(&server, &admin).await;
    let thread = common::create_thread(&mut ws, "total revenue by region").await;
    let id = format!("thread_{}", thread["id"].as_str().unwrap().replace('-', ""));
    let api = Freddy::new(&server, &admin);
    let messages = api
        .expect(200, "GET", &format!("/threads/{id}/messages"), None)
        .await;
    let answer = &messages["data"][1];
    assert_eq!(answer["role"], "assistant", "{messages}");
    let metadata = &answer["metadata"];
    assert!(
        metadata["sql"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("select"),
        "{metadata}"
    );
    let rows = metadata["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() <= 20, "{metadata}");
    let row_count = metadata["dataMetadata"]["row_count"].as_u64().unwrap() as usize;
    assert!(row_count >= rows.len(), "{metadata}");
    assert!(!answer["content"][0]["text"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn system_messages_are_kept_in_order_on_both_apis() {
    let server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let org = org_of(&server, &bob).await;
    let api = Freddy::new(&server, &bob.token);
    let thread = api
        .create(
            &org,
            json!({"messages": [
            {"role": "system", "content": "answer in euros"},
            {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "q2"}]}),
        )
        .await;
    assert_eq!(thread["messageCount"], 5);
    let id = thread["id"].as_str().unwrap().to_string();
    let path = format!("/threads/{id}/messages");
    let list = api.expect(200, "GET", &path, None).await;
    let shown: Vec<(String, String)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().into(),
                m["content"][0]["text"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("system", "answer in euros"),
        ("user", "q1"),
        ("assistant", "a1"),
        ("system", "be brief"),
        ("user", "q2"),
    ];
    assert_eq!(shown, expected.map(|(r, t)| (r.to_string(), t.to_string())));
    // The LangGraph view of the same thread has them in the same places.
    let state = langgraph_state(&server, &bob.token, &id).await;
    let types: Vec<&str> = state["values"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["system", "human", "ai", "system", "human"]);
    // Edited and deleted like any message.
    let brief = list["data"][3]["id"].as_str().unwrap();
    let edited = api
        .expect(
            200,
            "PATCH",
            &format!("{path}/{brief}"),
            Some(json!({"content": "be very brief"})),
        )
        .await;
    assert_eq!(edited["content"][0]["text"], "be very brief");
    assert_eq!(edited["role"], "system");
    let euros = list["data"][0]["id"].as_str().unwrap();
    api.expect(200, "DELETE", &format!("{path}/{euros}"), None)
        .await;
    let list = api.expect(200, "GET", &path, None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 4);
    assert_eq!(list["data"][2]["content"][0]["text"], "be very brief");
}
