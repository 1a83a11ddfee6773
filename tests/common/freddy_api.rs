//! A client of the Freddy API (`/v1`) for the tests.
#![allow(dead_code)]

use super::{Client, TestServer, TestUser};
use serde_json::{json, Value};

/// A Freddy client with one user's token.
pub struct Freddy {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Freddy {
    pub fn new(server: &TestServer, token: &str) -> Freddy {
        Freddy {
            base: format!("http://{}/v1", server.addr),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        super::json_reply(request).await
    }

    /// A call that must answer `status`; returns the body.
    pub async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (got, body) = self.call(method, path, body).await;
        assert_eq!(got, status, "{method} {path}: {body}");
        body
    }

    /// A call that must fail with `status` and Freddy `code`.
    pub async fn fails(
        &self,
        status: u16,
        code: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) {
        let body = self.expect(status, method, path, body).await;
        assert_eq!(body["success"], false, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert_eq!(body["error"]["status"], status, "{body}");
        assert!(body["error"]["trace_id"].is_string(), "{body}");
        assert!(body["error"]["timestamp"].is_string(), "{body}");
    }

    /// A new user, Bob, of the default org; his client and his org's id.
    pub async fn bob(server: &TestServer) -> (Freddy, String) {
        let bob = server.add_user("Bob", "bob@example.com");
        let org = org_of(server, &bob).await;
        (Freddy::new(server, &bob.token), org)
    }

    pub async fn create(&self, org: &str, body: Value) -> Value {
        let mut body = body;
        body["organizationId"] = json!(org);
        self.expect(200, "POST", "/threads", Some(body)).await
    }

    pub async fn ids(&self, query: &str) -> (Vec<String>, Value) {
        let list = self
            .expect(200, "GET", &format!("/threads{query}"), None)
            .await;
        let ids = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        (ids, list)
    }
}

/// The user's organization id, from the WebSocket `/users/me`.
pub async fn org_of(server: &TestServer, user: &TestUser) -> String {
    let mut client = Client::connect(server, &user.token).await;
    let me = client.ok("/users/me", json!({})).await;
    me["payload"]["org"]["id"].as_str().unwrap().to_string()
}

/// The thread's UUID in a `thread_…` id.
pub fn uuid_of(freddy_id: &str) -> String {
    uuid::Uuid::try_parse(freddy_id.strip_prefix("thread_").unwrap())
        .unwrap()
        .to_string()
}

/// The LangGraph API's state of a thread given by its Freddy id.
pub async fn langgraph_state(server: &TestServer, token: &str, freddy_id: &str) -> Value {
    reqwest::Client::new()
        .get(format!(
            "http://{}/threads/{}/state",
            server.addr,
            uuid_of(freddy_id)
        ))
        .header("x-api-key", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
