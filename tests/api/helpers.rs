//! `spawn_app()`: the real server on its own port with its own database (SQLite in a temp dir, or
//! a fresh PostgreSQL database when EXALATE_TEST_DATABASE_URL is set), plus a stand-in for
//! Atlassian's install-key service. Helpers sign requests the way Jira does.

use base64::Engine;
use connect_jwt::{Audience, Claims};
use exalate::configuration::{self, Settings};
use exalate::startup::{Application, BuildOptions};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};
use std::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const KID: &str = "test-install-key-1";
pub const APP_KEY: &str = "com.exalate.jiracloud";
pub const PRIVATE_KEY: &[u8] = include_bytes!("../fixtures/install-key.pem");
pub const PUBLIC_KEY: &[u8] = include_bytes!("../fixtures/install-key.pub.pem");
pub const ATTACKER_KEY: &[u8] = include_bytes!("../fixtures/attacker-key.pem");

pub struct TestApp {
    pub address: String,
    pub base_url: String,
    pub db: DatabaseConnection,
    pub http: reqwest::Client,
    pub keys: MockServer,
    pub settings: Settings,
    pub state: exalate::state::AppState,
    _dir: tempfile::TempDir,
}

#[derive(Debug, Clone)]
pub struct TestTenant {
    pub client_key: String,
    pub secret: String,
    pub base_url: String,
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A database URL of its own for one test.
async fn test_database_url(dir: &std::path::Path) -> String {
    match std::env::var("EXALATE_TEST_DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            let name = format!("exalate_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to EXALATE_TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let mut url = url::Url::parse(&admin_url).expect("postgres URL");
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        _ => format!("sqlite://{}/exalate.db?mode=rwc", dir.display()),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    exalate::telemetry::init(
        &std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into()),
        false,
    );
    let keys = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{KID}")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(PUBLIC_KEY))
        .mount(&keys)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&keys)
        .await;

    let dir = tempfile::tempdir().expect("temp dir");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = listener.local_addr().unwrap().port();
    let base_url = format!("http://127.0.0.1:{port}");

    let mut settings = configuration::load(None).expect("default configuration");
    settings.server.listen = "127.0.0.1:0".into();
    settings.server.base_url = base_url.clone();
    settings.server.workers = 2;
    settings.database.url = test_database_url(dir.path()).await;
    settings.database.max_connections = 5;
    settings.security.encryption_key =
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    settings.connect.install_keys_url = keys.uri();
    settings.jira.allowed_hosts = vec!["*.atlassian.net".into(), "127.0.0.1".into()];
    settings.jira.allow_http = true;
    // Tests wait on real time: retry and poll quickly (production backs off from 500 ms).
    settings.sync.retry_base_ms = 50;
    settings.sync.poll_ms = 100;
    customise(&mut settings);
    let base_url = settings.server.base_url.clone();

    let app = Application::build_with_listener(settings.clone(), listener, BuildOptions::default())
        .await
        .expect("application builds");
    let db = app.db.clone();
    let state = app.state.clone();
    tokio::spawn(app.into_server());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        base_url,
        db,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A request that never gets an answer fails its test with the URL instead of
            // hanging the whole run.
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .unwrap(),
        keys,
        settings,
        state,
        _dir: dir,
    }
}

impl TestApp {
    /// The body Jira posts to lifecycle URLs.
    pub fn lifecycle_body(&self, t: &TestTenant, event: &str) -> Value {
        json!({
            "key": APP_KEY,
            "clientKey": t.client_key,
            "sharedSecret": t.secret,
            "baseUrl": t.base_url,
            "displayUrl": t.base_url,
            "productType": "jira",
            "description": "Atlassian JIRA at https://example.atlassian.net",
            "serverVersion": "100275",
            "pluginsVersion": "1001.0.0-SNAPSHOT",
            "eventType": event,
        })
    }

    /// An RS256 lifecycle token as Atlassian signs it (signed install).
    pub fn install_token(&self, client_key: &str, lifecycle_path: &str) -> String {
        let claims = self.install_claims(client_key, lifecycle_path);
        connect_jwt::mint_rs256(&claims, PRIVATE_KEY, KID).unwrap()
    }

    pub fn install_claims(&self, client_key: &str, lifecycle_path: &str) -> Claims {
        let mut c = connect_jwt::request_claims(
            client_key,
            "POST",
            &format!("{}{lifecycle_path}", self.base_url),
            &self.base_url,
            now(),
            180,
        );
        c.aud = Some(Audience::Many(vec![self.base_url.clone()]));
        c.sub = Some("557058:connect-installer".into());
        c
    }

    pub async fn post_lifecycle(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut rb = self.http.post(format!("{}{path}", self.address)).json(body);
        if let Some(t) = token {
            rb = rb.header("Authorization", format!("JWT {t}"));
        }
        rb.send().await.expect("request sent")
    }

    pub fn new_tenant(&self) -> TestTenant {
        let id = uuid::Uuid::new_v4().simple().to_string();
        TestTenant {
            client_key: format!("client-{id}"),
            secret: format!("secret-{id}-{}", uuid::Uuid::new_v4().simple()),
            base_url: format!("https://site-{}.atlassian.net", &id[..12]),
        }
    }

    /// Installs a new tenant through the signed `installed` hook.
    pub async fn install(&self) -> TestTenant {
        let t = self.new_tenant();
        let resp = self
            .post_lifecycle(
                "/lifecycle/installed",
                &self.lifecycle_body(&t, "installed"),
                Some(&self.install_token(&t.client_key, "/lifecycle/installed")),
            )
            .await;
        assert_eq!(
            resp.status().as_u16(),
            204,
            "{}",
            resp.text().await.unwrap()
        );
        t
    }

    /// An HS256 token as Jira signs iframe URLs and webhooks for `method path_and_query`.
    pub fn jira_token(&self, t: &TestTenant, method: &str, path_and_query: &str) -> String {
        let mut c = connect_jwt::request_claims(
            &t.client_key,
            method,
            &format!("{}{path_and_query}", self.base_url),
            &self.base_url,
            now(),
            180,
        );
        c.sub = Some("557058:admin-account".into());
        c.context = Some(json!({"jira": {"project": {"key": "TEST"}}}));
        connect_jwt::mint_hs256(&c, t.secret.as_bytes()).unwrap()
    }

    pub fn sign_claims(&self, claims: &Claims, secret: &str) -> String {
        connect_jwt::mint_hs256(claims, secret.as_bytes()).unwrap()
    }

    pub async fn get(
        &self,
        path_and_query: &str,
        authorization: Option<&str>,
    ) -> reqwest::Response {
        let mut rb = self.http.get(format!("{}{path_and_query}", self.address));
        if let Some(a) = authorization {
            rb = rb.header("Authorization", a);
        }
        rb.send().await.expect("request sent")
    }

    pub async fn tenant_count(&self) -> i64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        exalate::entities::tenants::Entity::find()
            .count(&self.db)
            .await
            .unwrap() as i64
    }

    pub async fn tenant_row(&self, client_key: &str) -> Option<exalate::entities::tenants::Model> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        exalate::entities::tenants::Entity::find()
            .filter(exalate::entities::tenants::Column::ClientKey.eq(client_key))
            .one(&self.db)
            .await
            .unwrap()
    }
}

pub async fn error_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or("<no code>")
            .to_owned(),
    )
}
