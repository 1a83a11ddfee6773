//! Defence in depth for the web UI and the API: every response carries the security headers.

mod common;

use common::TestServer;

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    for (path, authorized) in [
        ("/", false),
        ("/assets/app.js", false),
        ("/healthz", false),
        ("/threads/search", true),
        ("/no/such/page", false),
    ] {
        let mut request = if path == "/threads/search" {
            http.post(format!("{base}{path}"))
                .json(&serde_json::json!({}))
        } else {
            http.get(format!("{base}{path}"))
        };
        if authorized {
            request = request.bearer_auth(&token);
        }
        let response = request.send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
    }
}
