//! A REST client for the tests of the LangGraph-compatible API.
#![allow(dead_code)]

use super::common::TestServer;
use serde_json::Value;

/// A REST client with one user's token.
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Api {
    pub fn new(server: &TestServer, token: &str) -> Api {
        Api {
            base: format!("http://{}", server.addr),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
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

    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", &self.token)
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// A call that must answer `status`; returns the body.
    pub async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let reply = self.call(method, path, body).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        reply.body
    }

    pub async fn create(&self, body: Value) -> Value {
        self.expect(200, "POST", "/threads", Some(body)).await
    }

    pub async fn search(&self, body: Value) -> Vec<Value> {
        let found = self
            .expect(200, "POST", "/threads/search", Some(body))
            .await;
        found.as_array().unwrap().clone()
    }
}

pub fn detail(body: &Value) -> &str {
    body["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail: {body}"))
}

pub fn ids(threads: &[Value]) -> Vec<String> {
    threads
        .iter()
        .map(|t| t["thread_id"].as_str().unwrap().to_string())
        .collect()
}

/// A UUID that names no thread.
pub fn uuid_like(n: u8) -> String {
    format!("00000000-0000-4000-8000-0000000000{n:02}")
}
