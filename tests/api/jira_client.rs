//! The Jira client against a stand-in Jira (wiremock on loopback): signed requests, retries,
//! Retry-After, per-site budget, SSRF refusal, typed errors.

use crate::helpers::*;
use exalate::jira::{JiraClient, JiraError};
use exalate::tenants::{crypto::Secret, Tenant, TenantState};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Matches requests whose Connect JWT is valid for exactly that request, as Jira checks it.
struct SignedByApp {
    secret: String,
    base_url: String,
}

impl wiremock::Match for SignedByApp {
    fn matches(&self, req: &Request) -> bool {
        let Some(auth) = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(raw) = auth.strip_prefix("JWT ") else {
            return false;
        };
        let Ok(token) = connect_jwt::decode_unverified(raw) else {
            return false;
        };
        if token.verify_hs256(self.secret.as_bytes()).is_err() || token.claims.iss != APP_KEY {
            return false;
        }
        let qsh = connect_jwt::query_string_hash(&connect_jwt::canonical_request_from_url(
            req.method.as_str(),
            req.url.as_str(),
            &self.base_url,
        ));
        token
            .validate(&connect_jwt::Validation {
                now: now(),
                leeway: 0,
                qsh: Some(connect_jwt::QshRule::Exact(&qsh)),
                audience: None,
            })
            .is_ok()
    }
}

async fn jira_and_client(app: &TestApp) -> (MockServer, JiraClient) {
    let jira = MockServer::start().await;
    let t = TestTenant {
        base_url: jira.uri(),
        ..app.new_tenant()
    };
    let resp = app
        .post_lifecycle(
            "/lifecycle/installed",
            &app.lifecycle_body(&t, "installed"),
            Some(&app.install_token(&t.client_key, "/lifecycle/installed")),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 204);
    let tenant = app.state.tenants.get(&t.client_key).await.unwrap().unwrap();
    let client = app.state.jira.for_tenant(tenant).unwrap();
    // Every call must be signed correctly, or the stand-in answers 401 like Jira.
    let signed = SignedByApp {
        secret: t.secret.clone(),
        base_url: t.base_url.clone(),
    };
    Mock::given(move |r: &Request| !wiremock::Match::matches(&signed, r))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(1)
        .mount(&jira)
        .await;
    (jira, client)
}

#[tokio::test]
async fn calls_are_jwt_signed_and_typed() {
    let app = spawn_app().await;
    let (jira, client) = jira_and_client(&app).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/serverInfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "baseUrl": jira.uri(), "version": "1001.0.0-SNAPSHOT", "deploymentType": "Cloud", "serverTitle": "Jira"
        })))
        .mount(&jira)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/permissions/check"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"globalPermissions": ["ADMINISTER"], "projectPermissions": []}),
            ),
        )
        .mount(&jira)
        .await;
    let info = client.server_info().await.unwrap();
    assert_eq!(info.deployment_type.as_deref(), Some("Cloud"));
    assert!(client.is_admin("557058:admin").await.unwrap());
    let sent = &jira.received_requests().await.unwrap()[1];
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        body,
        json!({"accountId": "557058:admin", "globalPermissions": ["ADMINISTER"]})
    );

    // A query string is part of the signature too.
    Mock::given(method("GET"))
        .and(path("/rest/api/3/project/search"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"values": [], "isLast": true})),
        )
        .mount(&jira)
        .await;
    let page: exalate::jira::types::PageBeanProject = client
        .get_json("/rest/api/3/project/search?query=a%20b&orderBy=name&maxResults=50")
        .await
        .unwrap();
    assert_eq!(page.is_last, Some(true));
}

#[tokio::test]
async fn jira_errors_are_typed() {
    let app = spawn_app().await;
    let (jira, client) = jira_and_client(&app).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}})))
        .mount(&jira)
        .await;
    match client.myself().await {
        Err(JiraError::NotFound(m)) => assert!(m.contains("Issue does not exist")),
        other => panic!("{other:?}"),
    }
    Mock::given(method("POST"))
        .and(path("/rest/api/3/permissions/check"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"errorMessages": [], "errors": {"accountId": "is invalid"}})),
        )
        .mount(&jira)
        .await;
    match client.is_admin("x").await {
        Err(JiraError::Rejected {
            status: 400,
            message,
        }) => assert_eq!(message, "accountId: is invalid"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rate_limits_honour_retry_after_and_are_not_errors() {
    let app = spawn_app().await;
    let (jira, client) = jira_and_client(&app).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/serverInfo"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(2)
        .with_priority(2)
        .mount(&jira)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/serverInfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"baseUrl": "x"})))
        .with_priority(3)
        .mount(&jira)
        .await;
    let started = Instant::now();
    client.server_info().await.expect("a 429 is waited out");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1900), "waited only {took:?}");
    assert_eq!(jira.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn server_errors_are_retried_for_idempotent_calls_only() {
    let app = spawn_app().await;
    let (jira, client) = jira_and_client(&app).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/serverInfo"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(2)
        .mount(&jira)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/serverInfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"baseUrl": "x"})))
        .with_priority(3)
        .mount(&jira)
        .await;
    client.server_info().await.expect("retried through 503s");

    Mock::given(method("POST"))
        .and(path("/rest/api/3/permissions/check"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&jira)
        .await;
    match client.is_admin("x").await {
        Err(
            e @ JiraError::ServerError {
                status: 500,
                attempts: 1,
            },
        ) => assert!(e.is_transient()),
        other => panic!("a POST must not be replayed blindly: {other:?}"),
    }
    let posts = jira
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 1);

    // A site that keeps failing gives up after the retry budget with a transient error.
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&jira)
        .await;
    match client.myself().await {
        Err(JiraError::ServerError {
            status: 502,
            attempts,
        }) => {
            assert_eq!(attempts, app.settings.jira.max_retries + 1)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn per_site_budget_paces_requests() {
    let app = spawn_app_with(|s| {
        s.jira.requests_per_second = 5;
        s.jira.max_concurrent_requests = 2;
    })
    .await;
    let (jira, client) = jira_and_client(&app).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/serverInfo"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"baseUrl": "x"}))
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&jira)
        .await;
    let client = Arc::new(client);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move { c.server_info().await.unwrap() }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // 10 calls of 200 ms, at most 2 at a time: at least 1 s; the rate cap (5/s, burst 4) also
    // holds the last ones back.
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn hosts_outside_the_allowlist_are_never_called() {
    let app = spawn_app().await;
    for base in [
        "http://10.0.0.1",
        "https://evil.example.com",
        "http://localhost:8080",
        "ftp://x.atlassian.net",
    ] {
        let tenant = Arc::new(Tenant {
            id: 0,
            client_key: "x".into(),
            public_id: "x".into(),
            base_url: base.into(),
            display_url: None,
            product_type: "jira".into(),
            shared_secret: Secret::new("0123456789abcdef"),
            state: TenantState::Enabled,
        });
        assert!(
            matches!(
                app.state.jira.for_tenant(tenant),
                Err(JiraError::NotAllowed(_))
            ),
            "{base}"
        );
    }
}

#[tokio::test]
async fn redirects_to_other_hosts_are_not_followed() {
    let app = spawn_app().await;
    let (jira, client) = jira_and_client(&app).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/serverInfo"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", "http://169.254.169.254/latest/meta-data"),
        )
        .mount(&jira)
        .await;
    let started = Instant::now();
    assert!(client.server_info().await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the redirect target was contacted"
    );
}
