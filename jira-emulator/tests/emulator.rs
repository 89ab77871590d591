//! The emulator behaves like Jira Cloud: every response checked against the OpenAPI schema of its
//! operation, ADF validated, Connect install / JWT / webhooks / iframes as Jira does them, faults.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use jira_emulator::{Emulator, EmulatorConfig, SiteConfig};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");
const USER: (&str, &str) = ("user@example.com", "user-token");

// ------------------------------------------------------------------ OpenAPI checking

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        // The repository's own copy (source and version in reference/README.md).
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../reference/jira-platform-openapi.json");
        let text = std::fs::read_to_string(path).expect("OpenAPI spec");
        serde_json::from_str(&text).expect("spec parses")
    })
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

/// Checks `body` against the schema the spec gives for `method path` answering `status`.
fn assert_openapi(method: &str, path: &str, status: u16, body: &Value) {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let key = format!("{method} {path} {status}");
    let validator = {
        let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
        cache
            .entry(key.clone())
            .or_insert_with(|| {
                let op = &spec()["paths"][path][method.to_lowercase()];
                assert!(op.is_object(), "{method} {path} is not in the spec");
                let schema =
                    &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
                assert!(!schema.is_null(), "no JSON schema for {key}");
                let root = json!({"allOf": [schema], "components": spec()["components"]});
                Arc::new(
                    jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft4)
                        // Jira's own timestamps (`+0000`) are not RFC 3339; the spec still says
                        // date-time. Shapes are checked, string formats are not.
                        .should_validate_formats(false)
                        .build(&root)
                        .unwrap_or_else(|e| panic!("schema for {key}: {e}")),
                )
            })
            .clone()
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{key} does not match the OpenAPI schema:\n{}\n{body:#}",
        errors.join("\n")
    );
}

/// Checks `value` against one component schema.
fn assert_component(name: &str, value: &Value) {
    let root =
        json!({"$ref": format!("#/components/schemas/{name}"), "components": spec()["components"]});
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(false)
        .build(&root)
        .unwrap();
    let errors: Vec<String> = v
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{name}: {}", errors.join("\n"));
}

// ------------------------------------------------------------------ harness

struct Harness {
    emu: Emulator,
    http: reqwest::Client,
}

async fn emulator() -> Harness {
    let emu = Emulator::start(EmulatorConfig {
        sites: vec![SiteConfig {
            name: "alpha".into(),
            listen: "127.0.0.1:0".into(),
        }],
        ..Default::default()
    })
    .await
    .expect("emulator starts");
    Harness {
        emu,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

impl Harness {
    fn base(&self) -> String {
        self.emu.site("alpha").base_url.clone()
    }
    async fn call(
        &self,
        method: &str,
        path: &str,
        who: (&str, &str),
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base()))
            .basic_auth(who.0, Some(who.1));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
    /// Calls and checks the answer against the spec's schema for `template`.
    async fn checked(
        &self,
        method: &str,
        path: &str,
        template: &str,
        body: Option<Value>,
        expect: u16,
    ) -> Value {
        let (status, v) = self.call(method, path, ADMIN, body).await;
        assert_eq!(status, expect, "{method} {path}: {v}");
        assert_openapi(method, template, status, &v);
        v
    }
}

fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

// ------------------------------------------------------------------ REST shapes

#[tokio::test]
async fn rest_answers_match_the_openapi_schemas() {
    let h = emulator().await;
    h.checked(
        "GET",
        "/rest/api/3/serverInfo",
        "/rest/api/3/serverInfo",
        None,
        200,
    )
    .await;
    let me = h
        .checked("GET", "/rest/api/3/myself", "/rest/api/3/myself", None, 200)
        .await;
    let account = me["accountId"].as_str().unwrap().to_owned();
    h.checked(
        "GET",
        &format!("/rest/api/3/user?accountId={account}"),
        "/rest/api/3/user",
        None,
        200,
    )
    .await;
    h.checked("GET", "/rest/api/3/field", "/rest/api/3/field", None, 200)
        .await;
    let projects = h
        .checked(
            "GET",
            "/rest/api/3/project/search?query=te",
            "/rest/api/3/project/search",
            None,
            200,
        )
        .await;
    assert_eq!(projects["values"][0]["key"], "TEST");
    let sup = h
        .checked(
            "GET",
            "/rest/api/3/project/SUP",
            "/rest/api/3/project/{projectIdOrKey}",
            None,
            200,
        )
        .await;
    let types = h
        .checked(
            "GET",
            &format!(
                "/rest/api/3/issuetype/project?projectId={}",
                sup["id"].as_str().unwrap()
            ),
            "/rest/api/3/issuetype/project",
            None,
            200,
        )
        .await;
    assert_eq!(types.as_array().unwrap().len(), 2);
    let schemes = h
        .checked(
            "GET",
            "/rest/api/3/issuetypescheme/project?projectId=10010&projectId=10000",
            "/rest/api/3/issuetypescheme/project",
            None,
            200,
        )
        .await;
    let sup_scheme = schemes["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["projectIds"][0] == "10010")
        .unwrap();
    assert_eq!(
        sup_scheme["issueTypeScheme"]["defaultIssueTypeId"], "10002",
        "SUP defaults to Bug"
    );
    let test_scheme = schemes["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["projectIds"][0] == "10000")
        .unwrap();
    assert!(
        test_scheme["issueTypeScheme"]
            .get("defaultIssueTypeId")
            .is_none(),
        "TEST has no default"
    );
    h.checked(
        "GET",
        "/rest/api/3/issue/createmeta/TEST/issuetypes",
        "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes",
        None,
        200,
    )
    .await;

    let created = h
        .checked("POST", "/rest/api/3/issue", "/rest/api/3/issue", Some(json!({"fields": {
            "project": {"key": "TEST"}, "summary": "Printer on fire", "issuetype": {"name": "Bug"}, "description": adf("Smoke everywhere")}})), 201)
        .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let issue = h
        .checked(
            "GET",
            &format!("/rest/api/3/issue/{key}"),
            "/rest/api/3/issue/{issueIdOrKey}",
            None,
            200,
        )
        .await;
    assert_eq!(issue["fields"]["description"], adf("Smoke everywhere"));
    assert_eq!(issue["fields"]["issuetype"]["name"], "Bug");
    let only = h
        .checked(
            "GET",
            &format!("/rest/api/3/issue/{key}?fields=summary"),
            "/rest/api/3/issue/{issueIdOrKey}",
            None,
            200,
        )
        .await;
    assert_eq!(only["fields"].as_object().unwrap().len(), 1);
    let (s, _) = h
        .call(
            "PUT",
            &format!("/rest/api/3/issue/{key}"),
            ADMIN,
            Some(json!({"fields": {"summary": "Printer fixed"}})),
        )
        .await;
    assert_eq!(s, 204);

    let c = h
        .checked(
            "POST",
            &format!("/rest/api/3/issue/{key}/comment"),
            "/rest/api/3/issue/{issueIdOrKey}/comment",
            Some(json!({"body": adf("first")})),
            201,
        )
        .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    h.checked(
        "PUT",
        &format!("/rest/api/3/issue/{key}/comment/{cid}"),
        "/rest/api/3/issue/{issueIdOrKey}/comment/{id}",
        Some(json!({"body": adf("edited")})),
        200,
    )
    .await;
    let restricted = h.checked("POST", &format!("/rest/api/3/issue/{key}/comment"), "/rest/api/3/issue/{issueIdOrKey}/comment",
        Some(json!({"body": adf("admins only"), "visibility": {"type": "role", "value": "Administrators"}})), 201).await;
    assert_eq!(restricted["visibility"]["value"], "Administrators");
    let page = h
        .checked(
            "GET",
            &format!("/rest/api/3/issue/{key}/comment"),
            "/rest/api/3/issue/{issueIdOrKey}/comment",
            None,
            200,
        )
        .await;
    assert_eq!(page["total"], 2);
    h.checked(
        "GET",
        &format!("/rest/api/3/issue/{key}/comment/{cid}"),
        "/rest/api/3/issue/{issueIdOrKey}/comment/{id}",
        None,
        200,
    )
    .await;

    let (s, _) = h
        .call(
            "PUT",
            &format!("/rest/api/3/issue/{key}/properties/exalate"),
            ADMIN,
            Some(json!({"status": "ok"})),
        )
        .await;
    assert_eq!(s, 201);
    h.checked(
        "GET",
        &format!("/rest/api/3/issue/{key}/properties"),
        "/rest/api/3/issue/{issueIdOrKey}/properties",
        None,
        200,
    )
    .await;
    h.checked(
        "GET",
        &format!("/rest/api/3/issue/{key}/properties/exalate"),
        "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}",
        None,
        200,
    )
    .await;
    let (s, v) = h
        .call(
            "PUT",
            &format!("/rest/api/3/issue/{key}/properties/big"),
            ADMIN,
            Some(json!({"x": "y".repeat(33 * 1024)})),
        )
        .await;
    assert_eq!(s, 400, "{v}");

    let link = h.checked("POST", &format!("/rest/api/3/issue/{key}/remotelink"), "/rest/api/3/issue/{issueIdOrKey}/remotelink",
        Some(json!({"globalId": "exalate:beta:10001", "object": {"url": "https://beta.example/browse/TEST-9", "title": "TEST-9"}})), 201).await;
    // The spec's schema for this list says "object" while its example (and Jira) answer an
    // array of RemoteIssueLink: check each element.
    let (s, links) = h
        .call(
            "GET",
            &format!("/rest/api/3/issue/{key}/remotelink"),
            ADMIN,
            None,
        )
        .await;
    assert_eq!(s, 200);
    for l in links.as_array().unwrap() {
        assert_component("RemoteIssueLink", l);
    }
    let again = h.checked("POST", &format!("/rest/api/3/issue/{key}/remotelink"), "/rest/api/3/issue/{issueIdOrKey}/remotelink",
        Some(json!({"globalId": "exalate:beta:10001", "object": {"url": "https://beta.example/browse/TEST-9", "title": "TEST-9 (moved)"}})), 200).await;
    assert_eq!(again["id"], link["id"], "same globalId updates in place");

    let found = h
        .checked(
            "GET",
            &format!("/rest/api/3/search/jql?jql=key%20%3D%20{key}&fields=summary,updated"),
            "/rest/api/3/search/jql",
            None,
            200,
        )
        .await;
    assert_eq!(found["issues"][0]["fields"]["summary"], "Printer fixed");
    let paged = h
        .checked(
            "POST",
            "/rest/api/3/search/jql",
            "/rest/api/3/search/jql",
            Some(json!({"jql": "project = TEST ORDER BY key ASC", "maxResults": 2})),
            200,
        )
        .await;
    assert_eq!(paged["issues"].as_array().unwrap().len(), 2);
    let token = paged["nextPageToken"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let next = h.checked("POST", "/rest/api/3/search/jql", "/rest/api/3/search/jql", Some(json!({"jql": "project = TEST ORDER BY key ASC", "maxResults": 2, "nextPageToken": token})), 200).await;
    assert_eq!(next["isLast"], true);
    assert!(next.get("nextPageToken").is_none());

    let grants = h
        .checked(
            "POST",
            "/rest/api/3/permissions/check",
            "/rest/api/3/permissions/check",
            Some(json!({"accountId": account, "globalPermissions": ["ADMINISTER"]})),
            200,
        )
        .await;
    assert_eq!(grants["globalPermissions"], json!(["ADMINISTER"]));
    let mine = h
        .checked(
            "GET",
            "/rest/api/3/mypermissions?permissions=ADMINISTER,BROWSE_PROJECTS",
            "/rest/api/3/mypermissions",
            None,
            200,
        )
        .await;
    assert_eq!(mine["permissions"]["ADMINISTER"]["havePermission"], true);

    // Errors are ErrorCollection with Jira's words.
    let (s, v) = h.call("GET", "/rest/api/3/issue/NOPE-1", ADMIN, None).await;
    assert_eq!(s, 404);
    assert_component("ErrorCollection", &v);
    assert_eq!(
        v["errorMessages"][0],
        "Issue does not exist or you do not have permission to see it."
    );
    let (s, v) = h
        .call(
            "POST",
            "/rest/api/3/issue",
            ADMIN,
            Some(json!({"fields": {"project": {"key": "TEST"}, "issuetype": {"name": "Task"}}})),
        )
        .await;
    assert_eq!(s, 400);
    assert_component("ErrorCollection", &v);
    assert_eq!(
        v["errors"]["summary"],
        "You must specify a summary of the issue."
    );
    let (s, _) = h
        .call("DELETE", &format!("/rest/api/3/issue/{key}"), ADMIN, None)
        .await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn adf_is_enforced_like_jira() {
    let h = emulator().await;
    let base = json!({"project": {"key": "TEST"}, "summary": "s", "issuetype": {"name": "Task"}});
    let mut f = base.clone();
    f["description"] = json!("a plain string");
    let (s, v) = h
        .call(
            "POST",
            "/rest/api/3/issue",
            ADMIN,
            Some(json!({"fields": f})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(v["errors"]["description"]
        .as_str()
        .unwrap()
        .contains("Atlassian Document"));
    let mut f = base.clone();
    f["description"] = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]});
    let (s, _) = h
        .call(
            "POST",
            "/rest/api/3/issue",
            ADMIN,
            Some(json!({"fields": f})),
        )
        .await;
    assert_eq!(s, 400, "an empty text node is invalid ADF");
    let (s, v) = h
        .call(
            "POST",
            "/rest/api/3/issue/TEST-1/comment",
            ADMIN,
            Some(json!({"body": "plain"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let rich = json!({"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps"}]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "bold", "marks": [{"type": "strong"}]}]}]}]},
        {"type": "codeBlock", "attrs": {"language": "rust"}, "content": [{"type": "text", "text": "fn main() {}"}]}]});
    let (s, v) = h
        .call(
            "PUT",
            "/rest/api/3/issue/TEST-1",
            ADMIN,
            Some(json!({"fields": {"description": rich}})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (_, v) = h
        .call(
            "GET",
            "/rest/api/3/issue/TEST-1?fields=description",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(v["fields"]["description"], rich);
}

#[tokio::test]
async fn issue_types_and_unknown_fields() {
    let h = emulator().await;
    // SUP has only Task and Bug.
    let (s, v) = h.call("POST", "/rest/api/3/issue", ADMIN, Some(json!({"fields": {"project": {"key": "SUP"}, "summary": "s", "issuetype": {"name": "Epic"}}}))).await;
    assert_eq!(s, 400);
    assert_eq!(v["errors"]["issuetype"], "Specify a valid issue type");
    let (s, v) = h
        .call(
            "PUT",
            "/rest/api/3/issue/SUP-1",
            ADMIN,
            Some(json!({"fields": {"priority": {"name": "High"}}})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = h.call("GET", "/rest/api/3/search", ADMIN, None).await;
    assert_eq!(s, 410, "the old search API is gone on Jira Cloud");
    let (s, v) = h
        .call(
            "GET",
            "/rest/api/3/search/jql?jql=order%20by%20key",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(s, 400);
    assert!(v["errorMessages"][0]
        .as_str()
        .unwrap()
        .contains("Unbounded"));
}

#[tokio::test]
async fn permissions_are_real() {
    let h = emulator().await;
    let (_, me) = h.call("GET", "/rest/api/3/myself", USER, None).await;
    let user_id = me["accountId"].as_str().unwrap().to_owned();
    let (s, v) = h
        .call(
            "POST",
            "/rest/api/3/permissions/check",
            ADMIN,
            Some(json!({"accountId": user_id, "globalPermissions": ["ADMINISTER"]})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        v["globalPermissions"],
        json!([]),
        "user@example.com is not an admin"
    );
    let (s, _) = h.call("POST", "/rest/api/3/permissions/check", USER, Some(json!({"accountId": "557058:f0a1b2c3-0000-4000-8000-00000000a001", "globalPermissions": ["ADMINISTER"]}))).await;
    assert_eq!(s, 403, "a non-admin cannot check others");
    let (_, v) = h
        .call(
            "GET",
            "/rest/api/3/mypermissions?permissions=ADMINISTER",
            USER,
            None,
        )
        .await;
    assert_eq!(v["permissions"]["ADMINISTER"]["havePermission"], false);
    let (s, _) = h
        .call(
            "GET",
            "/rest/api/3/myself",
            ("admin@example.com", "wrong"),
            None,
        )
        .await;
    assert_eq!(s, 401);
    let resp = h
        .http
        .get(format!("{}/rest/api/3/myself", h.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn attachments_upload_download_delete() {
    let h = emulator().await;
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let form = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(content.clone())
                .file_name("data.bin")
                .mime_str("application/octet-stream")
                .unwrap(),
        )
    };
    let url = format!("{}/rest/api/3/issue/TEST-1/attachments", h.base());
    let resp = h
        .http
        .post(&url)
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        403,
        "X-Atlassian-Token: no-check is required"
    );
    let resp = h
        .http
        .post(&url)
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header("X-Atlassian-Token", "no-check")
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let list: Value = resp.json().await.unwrap();
    assert_openapi(
        "POST",
        "/rest/api/3/issue/{issueIdOrKey}/attachments",
        200,
        &list,
    );
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["size"], 200_000);
    let meta = h
        .checked(
            "GET",
            &format!("/rest/api/3/attachment/{id}"),
            "/rest/api/3/attachment/{id}",
            None,
            200,
        )
        .await;
    assert_eq!(meta["filename"], "data.bin");
    // Content answers a redirect unless redirect=false.
    let resp = h
        .http
        .get(format!("{}/rest/api/3/attachment/content/{id}", h.base()))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let body = h
        .http
        .get(&location)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), content.as_slice());
    let body = h
        .http
        .get(format!(
            "{}/rest/api/3/attachment/content/{id}?redirect=false",
            h.base()
        ))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), content.as_slice());
    let (_, issue) = h
        .call(
            "GET",
            "/rest/api/3/issue/TEST-1?fields=attachment",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(issue["fields"]["attachment"][0]["id"], id);
    let (s, _) = h
        .call(
            "DELETE",
            &format!("/rest/api/3/attachment/{id}"),
            ADMIN,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = h
        .call("GET", &format!("/rest/api/3/attachment/{id}"), ADMIN, None)
        .await;
    assert_eq!(s, 404);
}

// ------------------------------------------------------------------ faults and counters

#[tokio::test]
async fn faults_can_be_switched_on_and_counted() {
    let h = emulator().await;
    let base = h.base();
    let put = |f: Value| {
        h.http
            .put(format!("{base}/_emulator/faults"))
            .json(&f)
            .send()
    };
    put(json!({"rules": [{"pathPrefix": "/rest/api/3/myself", "kind": "rate_limit", "retryAfterSecs": 7, "remaining": 1}]})).await.unwrap();
    let resp = h
        .http
        .get(format!("{base}/rest/api/3/myself"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let (s, _) = h.call("GET", "/rest/api/3/myself", ADMIN, None).await;
    assert_eq!(s, 200, "the rule was used up");

    put(json!({"rules": [{"pathPrefix": "/rest/api/3/issue", "method": "GET", "kind": "error", "status": 502}]})).await.unwrap();
    let (s, _) = h.call("GET", "/rest/api/3/issue/TEST-1", ADMIN, None).await;
    assert_eq!(s, 502);
    put(json!({"rules": [{"kind": "latency", "latencyMs": 300}]}))
        .await
        .unwrap();
    let started = Instant::now();
    let (s, _) = h.call("GET", "/rest/api/3/issue/TEST-1", ADMIN, None).await;
    assert_eq!(s, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    put(json!({"issueWriteLimit": {"maxWrites": 2, "windowMs": 60000, "retryAfterSecs": 3}}))
        .await
        .unwrap();
    for _ in 0..2 {
        let (s, _) = h
            .call(
                "PUT",
                "/rest/api/3/issue/TEST-2",
                ADMIN,
                Some(json!({"fields": {"summary": "again"}})),
            )
            .await;
        assert_eq!(s, 204);
    }
    let (s, _) = h
        .call(
            "PUT",
            "/rest/api/3/issue/TEST-2",
            ADMIN,
            Some(json!({"fields": {"summary": "too often"}})),
        )
        .await;
    assert_eq!(s, 429, "per-issue write limit");
    let (s, _) = h
        .call(
            "PUT",
            "/rest/api/3/issue/TEST-1",
            ADMIN,
            Some(json!({"fields": {"summary": "other issue"}})),
        )
        .await;
    assert_eq!(s, 204);

    let counters: Value = h
        .http
        .get(format!("{base}/_emulator/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        counters["requests"]["GET /rest/api/3/issue/{key}"]
            .as_u64()
            .unwrap()
            >= 1,
        "{counters}"
    );
    assert!(counters["faultsInjected"].as_u64().unwrap() >= 2);
    h.http
        .delete(format!("{base}/_emulator/faults"))
        .send()
        .await
        .unwrap();
    h.http
        .post(format!("{base}/_emulator/reset"))
        .send()
        .await
        .unwrap();
    let (_, v) = h
        .call(
            "GET",
            "/rest/api/3/issue/TEST-1?fields=summary",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(
        v["fields"]["summary"], "Customer cannot log in after password reset",
        "reset re-seeds"
    );
}

// ------------------------------------------------------------------ Connect

#[derive(Default)]
struct FakeApp {
    installs: Vec<(Value, String)>,
    hooks: Vec<(String, Value, String)>,
    webhooks: Vec<(Value, String, String)>,
    fail_webhooks: usize,
}

/// A minimal Connect app: serves a descriptor, records lifecycle calls and webhooks.
async fn fake_app(scopes: Value) -> (String, Arc<Mutex<FakeApp>>) {
    let state = Arc::new(Mutex::new(FakeApp::default()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let descriptor = json!({
        "key": "fake-app", "name": "Fake App", "baseUrl": base, "authentication": {"type": "jwt"},
        "apiMigrations": {"signed-install": true, "context-qsh": true}, "scopes": scopes,
        "lifecycle": {"installed": "/installed", "uninstalled": "/uninstalled", "enabled": "/enabled", "disabled": "/disabled"},
        "modules": {
            "generalPages": [{"key": "main", "name": {"value": "Fake"}, "url": "/page?x=1"}],
            "adminPages": [{"key": "admin", "name": {"value": "Fake admin"}, "url": "/admin", "conditions": [{"condition": "user_is_admin"}]}],
            "jiraIssueGlances": [{"key": "glance", "name": {"value": "Fake glance"}, "content": {"type": "label", "label": {"value": "Hello"}},
                                  "target": {"type": "web_panel", "url": "/glance?issueKey={issue.key}"}}],
            "webhooks": [{"event": "jira:issue_created", "url": "/hook"}, {"event": "jira:issue_updated", "url": "/hook"},
                         {"event": "comment_created", "url": "/hook"}, {"event": "attachment_created", "url": "/hook"}]
        }
    });
    let s = state.clone();
    let server = HttpServer::new(move || {
        let s = s.clone();
        let d = descriptor.clone();
        App::new()
            .route(
                "/atlassian-connect.json",
                web::get().to(move || {
                    let d = d.clone();
                    async move { HttpResponse::Ok().json(d) }
                }),
            )
            .route(
                "/{hook}",
                web::post().to(move |req: HttpRequest, body: web::Json<Value>| {
                    let s = s.clone();
                    async move {
                        let auth = req
                            .headers()
                            .get("Authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        let hook = req.match_info().get("hook").unwrap_or("").to_owned();
                        let mut st = s.lock().unwrap();
                        match hook.as_str() {
                            "installed" => st.installs.push((body.into_inner(), auth)),
                            "hook" => {
                                if st.fail_webhooks > 0 {
                                    st.fail_webhooks -= 1;
                                    return HttpResponse::InternalServerError().finish();
                                }
                                st.webhooks
                                    .push((body.into_inner(), auth, req.uri().to_string()));
                            }
                            _ => st.hooks.push((hook, body.into_inner(), auth)),
                        }
                        HttpResponse::NoContent().finish()
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (base, state)
}

async fn upm_install(h: &Harness, descriptor_url: &str) -> reqwest::Response {
    let resp = h
        .http
        .get(format!("{}/rest/plugins/1.0/", h.base()))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let token = resp.headers()["upm-token"].to_str().unwrap().to_owned();
    h.http
        .post(format!("{}/rest/plugins/1.0/?token={token}", h.base()))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header(
            "Content-Type",
            "application/vnd.atl.plugins.install.uri+json",
        )
        .json(&json!({"pluginUri": descriptor_url}))
        .send()
        .await
        .unwrap()
}

fn app_token(secret: &str, method: &str, url: &str, base: &str) -> String {
    let claims = connect_jwt::request_claims(
        "fake-app",
        method,
        url,
        base,
        chrono::Utc::now().timestamp(),
        60,
    );
    connect_jwt::mint_hs256(&claims, secret.as_bytes()).unwrap()
}

#[tokio::test]
async fn upm_install_signs_lifecycle_and_app_calls_are_verified() {
    let h = emulator().await;
    let (app_base, app) = fake_app(json!(["READ", "WRITE"])).await;
    // The UPM token is required and single use.
    let resp = h
        .http
        .post(format!("{}/rest/plugins/1.0/?token=guess", h.base()))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(&json!({"pluginUri": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let resp = h
        .http
        .get(format!("{}/rest/plugins/1.0/", h.base()))
        .basic_auth(USER.0, Some(USER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403, "only site admins manage apps");
    let resp = upm_install(&h, &format!("{app_base}/atlassian-connect.json")).await;
    assert_eq!(resp.status().as_u16(), 202);

    let (body, auth) = app.lock().unwrap().installs[0].clone();
    assert_eq!(body["eventType"], "installed");
    assert_eq!(body["baseUrl"], h.base());
    let secret = body["sharedSecret"].as_str().unwrap().to_owned();
    // The install is RS256-signed with a kid whose public key the site serves.
    let raw = auth.strip_prefix("JWT ").unwrap();
    let token = connect_jwt::decode_unverified(raw).unwrap();
    let kid = token.header.kid.clone().unwrap();
    let key = h
        .http
        .get(format!("{}/_emulator/install-keys/{kid}", h.base()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    token.verify_rs256(&key).unwrap();
    let qsh = connect_jwt::query_string_hash(&connect_jwt::canonical_request(
        "POST",
        "/installed",
        "",
        "",
    ));
    token
        .validate(&connect_jwt::Validation {
            now: chrono::Utc::now().timestamp(),
            leeway: 0,
            qsh: Some(connect_jwt::QshRule::Exact(&qsh)),
            audience: Some(&app_base),
        })
        .unwrap();
    assert_eq!(token.claims.iss, body["clientKey"].as_str().unwrap());

    // The app calls Jira as itself: a JWT for exactly that request.
    let url = format!("{}/rest/api/3/myself", h.base());
    let resp = h
        .http
        .get(&url)
        .header(
            "Authorization",
            format!("JWT {}", app_token(&secret, "GET", &url, &h.base())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["accountType"], "app");
    // Wrong qsh, wrong secret, expired: 401.
    let other = format!("{}/rest/api/3/serverInfo", h.base());
    let resp = h
        .http
        .get(&url)
        .header(
            "Authorization",
            format!("JWT {}", app_token(&secret, "GET", &other, &h.base())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = h
        .http
        .get(&url)
        .header(
            "Authorization",
            format!(
                "JWT {}",
                app_token("nope-nope-nope", "GET", &url, &h.base())
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // Scopes: READ+WRITE cannot DELETE.
    let del = format!("{}/rest/api/3/issue/TEST-1", h.base());
    let resp = h
        .http
        .delete(&del)
        .header(
            "Authorization",
            format!("JWT {}", app_token(&secret, "DELETE", &del, &h.base())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    // Disable, enable, uninstall: HS256 for the toggles, signed for uninstall.
    let plugin = format!("{}/rest/plugins/1.0/fake-app-key", h.base());
    let resp = h
        .http
        .put(&plugin)
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = h
        .http
        .get(&url)
        .header(
            "Authorization",
            format!("JWT {}", app_token(&secret, "GET", &url, &h.base())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "a disabled app cannot call");
    let resp = h
        .http
        .delete(&plugin)
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let hooks: Vec<String> = app
        .lock()
        .unwrap()
        .hooks
        .iter()
        .map(|(h, _, _)| h.clone())
        .collect();
    assert_eq!(hooks, ["disabled", "uninstalled"]);
    let disabled_auth = app.lock().unwrap().hooks[0].2.clone();
    let t = connect_jwt::decode_unverified(disabled_auth.strip_prefix("JWT ").unwrap()).unwrap();
    t.verify_hs256(secret.as_bytes()).unwrap();
    // A re-install keeps the clientKey and issues a new secret.
    upm_install(&h, &format!("{app_base}/atlassian-connect.json")).await;
    let st = app.lock().unwrap();
    assert_eq!(st.installs[1].0["clientKey"], st.installs[0].0["clientKey"]);
    assert_ne!(
        st.installs[1].0["sharedSecret"],
        st.installs[0].0["sharedSecret"]
    );
}

async fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    let started = Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn webhooks_are_signed_retried_dropped_and_duplicated() {
    let h = emulator().await;
    let (app_base, app) = fake_app(json!(["READ", "WRITE"])).await;
    upm_install(&h, &format!("{app_base}/atlassian-connect.json")).await;
    let secret = app.lock().unwrap().installs[0].0["sharedSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let client_key = app.lock().unwrap().installs[0].0["clientKey"]
        .as_str()
        .unwrap()
        .to_owned();

    let (_, created) = h.call("POST", "/rest/api/3/issue", ADMIN, Some(json!({"fields": {"project": {"key": "TEST"}, "summary": "hooked", "issuetype": {"name": "Task"}, "description": adf("line one")}}))).await;
    let key = created["key"].as_str().unwrap().to_owned();
    wait_for(|| !app.lock().unwrap().webhooks.is_empty(), "issue_created").await;
    let (body, auth, uri) = app.lock().unwrap().webhooks[0].clone();
    assert_eq!(body["webhookEvent"], "jira:issue_created");
    assert_eq!(body["issue"]["key"], key);
    assert_eq!(
        body["issue"]["fields"]["description"], "line one",
        "webhooks carry the v2 (string) description"
    );
    assert!(body["issue"]["self"]
        .as_str()
        .unwrap()
        .contains("/rest/api/2/"));
    assert_eq!(body["user"]["accountType"], "atlassian");
    assert!(body["timestamp"].is_number());
    let t = connect_jwt::decode_unverified(auth.strip_prefix("JWT ").unwrap()).unwrap();
    t.verify_hs256(secret.as_bytes()).unwrap();
    assert_eq!(t.claims.iss, client_key);
    let qsh = connect_jwt::query_string_hash(&connect_jwt::canonical_request("POST", &uri, "", ""));
    assert_eq!(t.claims.qsh.as_deref(), Some(qsh.as_str()));

    // Updated, with a changelog; the app's own change carries the app user.
    let url = format!("{}/rest/api/3/issue/{key}", h.base());
    let resp = h
        .http
        .put(&url)
        .header(
            "Authorization",
            format!("JWT {}", app_token(&secret, "PUT", &url, &h.base())),
        )
        .json(&json!({"fields": {"summary": "renamed"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    wait_for(|| app.lock().unwrap().webhooks.len() >= 2, "issue_updated").await;
    let (body, _, _) = app.lock().unwrap().webhooks[1].clone();
    assert_eq!(body["webhookEvent"], "jira:issue_updated");
    assert_eq!(body["changelog"]["items"][0]["field"], "summary");
    assert_eq!(body["changelog"]["items"][0]["toString"], "renamed");
    assert_eq!(body["user"]["accountType"], "app");

    // A failing app gets the webhook again later.
    app.lock().unwrap().fail_webhooks = 2;
    h.call(
        "POST",
        &format!("/rest/api/3/issue/{key}/comment"),
        ADMIN,
        Some(json!({"body": adf("retry me")})),
    )
    .await;
    wait_for(
        || app.lock().unwrap().webhooks.len() >= 3,
        "retried comment_created",
    )
    .await;
    let (body, _, _) = app.lock().unwrap().webhooks[2].clone();
    assert_eq!(body["webhookEvent"], "comment_created");
    assert_eq!(body["comment"]["body"], "retry me");

    // Drop switch: nothing arrives; duplicate switch: two copies.
    let faults = format!("{}/_emulator/faults", h.base());
    h.http
        .put(&faults)
        .json(&json!({"webhooks": {"dropProbability": 1.0}}))
        .send()
        .await
        .unwrap();
    h.call(
        "PUT",
        &format!("/rest/api/3/issue/{key}"),
        ADMIN,
        Some(json!({"fields": {"summary": "dropped"}})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.lock().unwrap().webhooks.len(), 3);
    h.http
        .put(&faults)
        .json(&json!({"webhooks": {"duplicateProbability": 1.0}}))
        .send()
        .await
        .unwrap();
    h.call(
        "PUT",
        &format!("/rest/api/3/issue/{key}"),
        ADMIN,
        Some(json!({"fields": {"summary": "twice"}})),
    )
    .await;
    wait_for(
        || app.lock().unwrap().webhooks.len() >= 5,
        "duplicated webhook",
    )
    .await;
    let counters: Value = h
        .http
        .get(format!("{}/_emulator/counters", h.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["webhooksDropped"], 1);
    assert_eq!(counters["webhooksDuplicated"], 1);
    assert!(counters["webhooksFailedAttempts"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn iframes_carry_context_parameters_and_a_bound_jwt() {
    let h = emulator().await;
    let (app_base, app) = fake_app(json!(["READ"])).await;
    upm_install(&h, &format!("{app_base}/atlassian-connect.json")).await;
    let secret = app.lock().unwrap().installs[0].0["sharedSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = |path: &str, who: (&str, &str)| {
        h.http
            .get(format!("{}{path}", h.base()))
            .basic_auth(who.0, Some(who.1))
            .send()
    };
    let resp = page(
        "/plugins/servlet/ac/fake-app/main?ac.request=r1&other=x",
        ADMIN,
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Apps ▾") && html.contains(">Fake</a>"),
        "the Apps menu lists the app's general page"
    );
    let src = html
        .split("id=\"app-frame\"")
        .nth(1)
        .unwrap()
        .split("src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(src.starts_with(&format!("{app_base}/page?x=1&")), "{src}");
    let url = url::Url::parse(&src).unwrap();
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["xdm_e"], h.base());
    assert_eq!(q["cp"], "");
    assert_eq!(q["lic"], "none");
    assert!(q.contains_key("cv") && q.contains_key("xdm_c"));
    assert_eq!(q["ac.request"], "r1");
    assert!(
        !q.contains_key("other"),
        "only ac.* parameters pass through"
    );
    let token = connect_jwt::decode_unverified(&q["jwt"]).unwrap();
    token.verify_hs256(secret.as_bytes()).unwrap();
    let (path, query) = connect_jwt::split_url(&src);
    let qsh =
        connect_jwt::query_string_hash(&connect_jwt::canonical_request("GET", path, query, ""));
    assert_eq!(token.claims.qsh.as_deref(), Some(qsh.as_str()));
    assert_eq!(
        token.claims.sub.as_deref(),
        Some("557058:f0a1b2c3-0000-4000-8000-00000000a001")
    );
    assert!(token.claims.context.is_some());

    // user_is_admin pages: shown to admins, 403 for others.
    assert_eq!(
        page("/plugins/servlet/ac/fake-app/admin", ADMIN)
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        page("/plugins/servlet/ac/fake-app/admin", USER)
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    // The issue view shows the glance with its label, and the glance iframe has the issue key.
    let html = page("/browse/TEST-1", ADMIN)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Fake glance") && html.contains("Hello"));
    assert!(html.contains("/glance?issueKey=TEST-1"));
    // The all.js bridge for the iframe and its host side.
    let js = h
        .http
        .get(format!("{}/_emulator/all.js", h.base()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(js.contains("window.AP = AP") && js.contains("getToken"));
    let host_js = h
        .http
        .get(format!("{}/_emulator/all.js?host=1", h.base()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(host_js.contains("context.getToken") && host_js.contains("navigator.go"));
    // AP.context.getToken(): a context-qsh token for the signed-in user.
    let ctx: Value = page("/_emulator/context-token?app=fake-app", ADMIN)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = connect_jwt::decode_unverified(ctx["token"].as_str().unwrap()).unwrap();
    t.verify_hs256(secret.as_bytes()).unwrap();
    assert_eq!(t.claims.qsh.as_deref(), Some(connect_jwt::CONTEXT_QSH));
    // Without credentials the browser is sent to the login page.
    let resp = h
        .http
        .get(format!("{}/browse/TEST-1", h.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert!(resp.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?next="));
}

#[tokio::test]
async fn browser_login_and_session() {
    let h = emulator().await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .post(format!("{}/login", h.base()))
        .form(&[
            ("email", "admin@example.com"),
            ("password", "wrong"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["location"]
        .to_str()
        .unwrap()
        .contains("error=1"));
    let resp = client
        .post(format!("{}/login", h.base()))
        .form(&[
            ("email", "admin@example.com"),
            ("password", "admin-token"),
            ("next", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/", "no open redirect");
    let html = client
        .get(format!("{}/", h.base()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your work") && html.contains("Test") && html.contains("Support"));
    // The session also works for REST calls, like Jira's browser session.
    let resp = client
        .get(format!("{}/rest/api/3/myself", h.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn state_survives_a_restart_with_a_data_dir() {
    let dir = std::env::temp_dir().join(format!("emu-state-{}", uuid_like()));
    let cfg = EmulatorConfig {
        sites: vec![SiteConfig {
            name: "alpha".into(),
            listen: "127.0.0.1:0".into(),
        }],
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let emu = Emulator::start(cfg.clone()).await.unwrap();
    let base = emu.site("alpha").base_url.clone();
    let http = reqwest::Client::new();
    let resp = http.post(format!("{base}/rest/api/3/issue")).basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(&json!({"fields": {"project": {"key": "SUP"}, "summary": "kept", "issuetype": {"name": "Task"}}})).send().await.unwrap();
    let key = resp.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.stop().await;
    let emu = Emulator::start(cfg).await.unwrap();
    let base = emu.site("alpha").base_url.clone();
    let v: Value = http
        .get(format!("{base}/rest/api/3/issue/{key}"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["fields"]["summary"], "kept");
    emu.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
            ^ (chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) as u128)
    )
}

// ------------------------------------------------------------------ project permissions

const ADMIN_ID: &str = "557058:f0a1b2c3-0000-4000-8000-00000000a001";
const USER_ID: &str = "557058:f0a1b2c3-0000-4000-8000-00000000b002";

/// The default seed, with SUP browsable by admin@example.com only.
async fn emulator_with_sup_for_admins() -> Harness {
    let mut seed: Value = serde_json::from_str(jira_emulator::model::DEFAULT_SEED).unwrap();
    let sup = seed["projects"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["key"] == "SUP")
        .unwrap();
    sup["permissions"] = json!({"BROWSE_PROJECTS": ["admin@example.com"]});
    let emu = Emulator::start(EmulatorConfig {
        sites: vec![SiteConfig {
            name: "alpha".into(),
            listen: "127.0.0.1:0".into(),
        }],
        seed: Some(seed.to_string()),
        ..Default::default()
    })
    .await
    .expect("emulator starts");
    Harness {
        emu,
        http: reqwest::Client::new(),
    }
}

async fn issue_id(h: &Harness, key: &str) -> u64 {
    let (s, v) = h
        .call(
            "GET",
            &format!("/rest/api/3/issue/{key}?fields=id"),
            ADMIN,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn permissions_check_answers_per_project_and_issue() {
    let h = emulator_with_sup_for_admins().await;
    let (test_1, sup_1) = (issue_id(&h, "TEST-1").await, issue_id(&h, "SUP-1").await);
    let ask = json!({"projectPermissions": [
        {"permissions": ["BROWSE_PROJECTS", "EDIT_ISSUES"], "projects": [10000, 10010, 99999], "issues": [test_1, sup_1, 1]},
        {"permissions": ["ADMINISTER_PROJECTS"], "projects": [10000, 10010]}
    ]});
    // The user, for themselves: no Browse on SUP (left out), the rest is granted; unknown ids
    // are not granted; ADMINISTER_PROJECTS, held nowhere, is left out.
    let (s, v) = h
        .call(
            "POST",
            "/rest/api/3/permissions/check",
            USER,
            Some(ask.clone()),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_openapi("POST", "/rest/api/3/permissions/check", 200, &v);
    assert_eq!(
        v["projectPermissions"],
        json!([
            {"permission": "BROWSE_PROJECTS", "projects": [10000], "issues": [test_1]},
            {"permission": "EDIT_ISSUES", "projects": [10000, 10010], "issues": [test_1, sup_1]}
        ])
    );
    // Asked only about SUP: Browse is granted on none of them, so it is not in the answer.
    let (_, v) = h
        .call(
            "POST",
            "/rest/api/3/permissions/check",
            USER,
            Some(json!({"projectPermissions": [{"permissions": ["BROWSE_PROJECTS"], "projects": [10010], "issues": [sup_1]}]})),
        )
        .await;
    assert_eq!(v["projectPermissions"], json!([]));
    // An admin checking the user gets the user's answer, not their own.
    let mut for_user = ask.clone();
    for_user["accountId"] = json!(USER_ID);
    let (s, v) = h
        .call(
            "POST",
            "/rest/api/3/permissions/check",
            ADMIN,
            Some(for_user),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["projectPermissions"][0]["projects"], json!([10000]));
    assert_eq!(v["projectPermissions"][0]["issues"], json!([test_1]));
    let (_, v) = h
        .call(
            "POST",
            "/rest/api/3/permissions/check",
            ADMIN,
            Some(ask.clone()),
        )
        .await;
    assert_eq!(
        v["projectPermissions"],
        json!([
            {"permission": "BROWSE_PROJECTS", "projects": [10000, 10010], "issues": [test_1, sup_1]},
            {"permission": "EDIT_ISSUES", "projects": [10000, 10010], "issues": [test_1, sup_1]},
            {"permission": "ADMINISTER_PROJECTS", "projects": [10000, 10010], "issues": []}
        ])
    );
    // Only an admin checks someone else; unknown permission names and entries without any are 400.
    let mut for_admin = ask.clone();
    for_admin["accountId"] = json!(ADMIN_ID);
    let (s, _) = h
        .call(
            "POST",
            "/rest/api/3/permissions/check",
            USER,
            Some(for_admin),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = h
        .call(
            "POST",
            "/rest/api/3/permissions/check",
            USER,
            Some(json!({"projectPermissions": [{"permissions": ["FLY"], "projects": [10000]}]})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = h
        .call(
            "POST",
            "/rest/api/3/permissions/check",
            USER,
            Some(json!({"projectPermissions": [{"projects": [10000]}]})),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn mypermissions_answers_for_an_issue_or_a_project() {
    let h = emulator_with_sup_for_admins().await;
    let path = "/rest/api/3/mypermissions?permissions=BROWSE_PROJECTS,EDIT_ISSUES";
    let have = |v: &Value, p: &str| v["permissions"][p]["havePermission"].clone();
    let (s, v) = h
        .call("GET", &format!("{path}&issueKey=TEST-1"), USER, None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_openapi("GET", "/rest/api/3/mypermissions", 200, &v);
    assert_eq!(have(&v, "BROWSE_PROJECTS"), true);
    assert_eq!(have(&v, "EDIT_ISSUES"), true);
    // An issue or project the user cannot browse is a 404, like a missing one.
    let (s, v) = h
        .call("GET", &format!("{path}&issueKey=SUP-1"), USER, None)
        .await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(
        v["errorMessages"][0],
        "Issue does not exist or you do not have permission to see it."
    );
    let (s, _) = h
        .call("GET", &format!("{path}&projectKey=SUP"), USER, None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = h
        .call("GET", &format!("{path}&projectId=10010"), USER, None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = h
        .call("GET", &format!("{path}&issueKey=NOPE-9"), USER, None)
        .await;
    assert_eq!(s, 404);
    // issueId wins over issueKey; the admin browses SUP.
    let sup_1 = issue_id(&h, "SUP-1").await;
    let (s, v) = h
        .call(
            "GET",
            &format!("{path}&issueId={sup_1}&issueKey=TEST-1"),
            ADMIN,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(have(&v, "BROWSE_PROJECTS"), true);
    let (s, _) = h
        .call(
            "GET",
            &format!("{path}&issueId={sup_1}&issueKey=TEST-1"),
            USER,
            None,
        )
        .await;
    assert_eq!(s, 404);
    // Globally: held in some project.
    let (_, v) = h.call("GET", path, USER, None).await;
    assert_eq!(have(&v, "BROWSE_PROJECTS"), true);
    let (_, v) = h
        .call(
            "GET",
            "/rest/api/3/mypermissions?permissions=ADMINISTER_PROJECTS&projectKey=TEST",
            USER,
            None,
        )
        .await;
    assert_eq!(
        v["permissions"]["ADMINISTER_PROJECTS"]["havePermission"],
        false
    );
}

#[tokio::test]
async fn a_person_does_not_see_issues_of_a_project_they_cannot_browse() {
    let h = emulator_with_sup_for_admins().await;
    let (s, v) = h.call("GET", "/rest/api/3/issue/SUP-1", USER, None).await;
    assert_eq!(s, 404, "{v}");
    assert_component("ErrorCollection", &v);
    assert_eq!(
        v["errorMessages"][0],
        "Issue does not exist or you do not have permission to see it."
    );
    let sup_1 = issue_id(&h, "SUP-1").await;
    let (s, _) = h
        .call("GET", &format!("/rest/api/3/issue/{sup_1}"), USER, None)
        .await;
    assert_eq!(s, 404, "by id too");
    for path in [
        "/rest/api/3/issue/SUP-1/comment",
        "/rest/api/3/issue/SUP-1/properties",
        "/rest/api/3/issue/SUP-1/remotelink",
        "/rest/api/3/project/SUP",
    ] {
        let (s, _) = h.call("GET", path, USER, None).await;
        assert_eq!(s, 404, "{path}");
    }
    // Writes: 404 before anything else.
    let (s, _) = h
        .call(
            "PUT",
            "/rest/api/3/issue/SUP-1",
            USER,
            Some(json!({"fields": {"summary": "x"}})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = h
        .call(
            "POST",
            "/rest/api/3/issue/SUP-1/comment",
            USER,
            Some(json!({"body": adf("hi")})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, v) = h
        .call("POST", "/rest/api/3/issue", USER, Some(json!({"fields": {"project": {"key": "SUP"}, "summary": "s", "issuetype": {"name": "Task"}}})))
        .await;
    assert_eq!(s, 400);
    assert_eq!(v["errors"]["project"], "Specify a valid project ID or key");
    // Searches and bulk fetches leave SUP out; projects are not listed.
    let (s, v) = h
        .call(
            "POST",
            "/rest/api/3/search/jql",
            USER,
            Some(json!({"jql": "project in (TEST, SUP) ORDER BY key ASC", "fields": ["key"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let keys: Vec<&str> = v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["TEST-1", "TEST-2"]);
    let (_, v) = h
        .call(
            "GET",
            "/rest/api/3/search/jql?jql=project%20%3D%20SUP",
            USER,
            None,
        )
        .await;
    assert_eq!(v["issues"], json!([]));
    let (_, v) = h
        .call(
            "POST",
            "/rest/api/3/issue/bulkfetch",
            USER,
            Some(json!({"issueIdsOrKeys": ["SUP-1", "TEST-1"], "fields": ["summary"]})),
        )
        .await;
    assert_eq!(v["issues"].as_array().unwrap().len(), 1);
    assert_eq!(v["issues"][0]["key"], "TEST-1");
    let (_, v) = h
        .call("GET", "/rest/api/3/project/search", USER, None)
        .await;
    let projects: Vec<&str> = v["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(projects, ["TEST"]);
    // The admin holds Browse on SUP and sees everything.
    let (s, _) = h.call("GET", "/rest/api/3/issue/SUP-1", ADMIN, None).await;
    assert_eq!(s, 200);
    let (_, v) = h
        .call(
            "GET",
            "/rest/api/3/search/jql?jql=project%20%3D%20SUP",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(v["issues"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn project_permissions_are_set_through_the_control_api_and_reset() {
    let h = emulator().await;
    let base = h.base();
    let put = |body: Value| {
        h.http
            .put(format!("{base}/_emulator/projects/TEST/permissions"))
            .json(&body)
            .send()
    };
    // One person: the user may browse TEST but nothing else there.
    let resp = put(json!({"email": "user@example.com", "permissions": ["BROWSE_PROJECTS"]}))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (s, _) = h.call("GET", "/rest/api/3/issue/TEST-1", USER, None).await;
    assert_eq!(s, 200);
    let (s, v) = h
        .call(
            "PUT",
            "/rest/api/3/issue/TEST-1",
            USER,
            Some(json!({"fields": {"summary": "mine now"}})),
        )
        .await;
    assert_eq!(s, 403, "no Edit Issues: {v}");
    let (s, _) = h
        .call(
            "PUT",
            "/rest/api/3/issue/TEST-1",
            ADMIN,
            Some(json!({"fields": {"summary": "still editable"}})),
        )
        .await;
    assert_eq!(s, 204, "the admin keeps theirs");
    let (s, _) = h
        .call(
            "POST",
            "/rest/api/3/issue/TEST-1/comment",
            USER,
            Some(json!({"body": adf("hi")})),
        )
        .await;
    assert_eq!(s, 400, "no Add Comments");
    let (s, _) = h
        .call("DELETE", "/rest/api/3/issue/TEST-2", USER, None)
        .await;
    assert_eq!(s, 403, "no Delete Issues");
    let state: Value = h
        .http
        .get(format!("{base}/_emulator/projects/TEST/permissions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        state["permissions"]["BROWSE_PROJECTS"],
        json!([ADMIN_ID, USER_ID])
    );
    assert_eq!(state["permissions"]["EDIT_ISSUES"], json!([ADMIN_ID]));
    assert_eq!(
        state["permissions"]["ADMINISTER_PROJECTS"],
        json!([ADMIN_ID])
    );
    // The whole scheme: Browse for the admin only, every other permission back to the default.
    let resp = put(json!({"permissions": {"BROWSE_PROJECTS": [ADMIN_ID]}}))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (s, _) = h.call("GET", "/rest/api/3/issue/TEST-1", USER, None).await;
    assert_eq!(s, 404);
    let (_, v) = h
        .call(
            "POST",
            "/rest/api/3/permissions/check",
            ADMIN,
            Some(json!({"accountId": USER_ID, "projectPermissions": [{"permissions": ["BROWSE_PROJECTS", "EDIT_ISSUES"], "projects": [10000, 10010]}]})),
        )
        .await;
    assert_eq!(
        v["projectPermissions"],
        json!([
            {"permission": "BROWSE_PROJECTS", "projects": [10010], "issues": []},
            {"permission": "EDIT_ISSUES", "projects": [10000, 10010], "issues": []}
        ])
    );
    // Mistakes are refused and change nothing.
    for (body, status) in [
        (
            json!({"email": "nobody@example.com", "permissions": []}),
            400,
        ),
        (json!({"accountId": USER_ID, "permissions": ["FLY"]}), 400),
        (
            json!({"permissions": {"BROWSE_PROJECTS": ["nobody@example.com"]}}),
            400,
        ),
        (json!({"permissions": ["BROWSE_PROJECTS"]}), 400),
    ] {
        let resp = put(body.clone()).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{body}");
    }
    let resp = h
        .http
        .put(format!("{base}/_emulator/projects/NOPE/permissions"))
        .json(&json!({"permissions": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let (s, _) = h.call("GET", "/rest/api/3/issue/TEST-1", USER, None).await;
    assert_eq!(s, 404);
    // A seed naming an unknown user or permission is refused.
    for perms in [
        json!({"BROWSE_PROJECTS": ["nobody@example.com"]}),
        json!({"FLY": []}),
    ] {
        let mut seed: Value = serde_json::from_str(jira_emulator::model::DEFAULT_SEED).unwrap();
        seed["projects"][0]["permissions"] = perms;
        let resp = h
            .http
            .post(format!("{base}/_emulator/seed"))
            .json(&seed)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
    }
    // Reset restores the seed's defaults; so does DELETE.
    let resp = h
        .http
        .post(format!("{base}/_emulator/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (s, _) = h
        .call(
            "PUT",
            "/rest/api/3/issue/TEST-1",
            USER,
            Some(json!({"fields": {"summary": "editable again"}})),
        )
        .await;
    assert_eq!(s, 204);
    put(json!({"permissions": {"BROWSE_PROJECTS": []}}))
        .await
        .unwrap();
    let (s, _) = h.call("GET", "/rest/api/3/issue/TEST-1", ADMIN, None).await;
    assert_eq!(s, 404, "nobody browses TEST");
    let resp = h
        .http
        .delete(format!("{base}/_emulator/projects/TEST/permissions"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (s, _) = h.call("GET", "/rest/api/3/issue/TEST-1", USER, None).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn apps_keep_their_rights_and_check_the_people_they_act_for() {
    let h = emulator_with_sup_for_admins().await;
    let (app_base, app) = fake_app(json!(["READ", "WRITE", "ADMIN"])).await;
    let resp = upm_install(&h, &format!("{app_base}/atlassian-connect.json")).await;
    assert_eq!(resp.status().as_u16(), 202);
    let secret = app.lock().unwrap().installs[0].0["sharedSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = h.base();
    let signed =
        |method: &str, url: &str| format!("JWT {}", app_token(&secret, method, url, &base));
    // The app reads SUP-1 although the user cannot.
    let url = format!("{base}/rest/api/3/issue/SUP-1");
    let resp = h
        .http
        .get(&url)
        .header("Authorization", signed("GET", &url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // And asks Jira whether the user may.
    let sup_1 = issue_id(&h, "SUP-1").await;
    let url = format!("{base}/rest/api/3/permissions/check");
    let resp = h
        .http
        .post(&url)
        .header("Authorization", signed("POST", &url))
        .json(&json!({"accountId": USER_ID, "projectPermissions": [{"permissions": ["BROWSE_PROJECTS", "EDIT_ISSUES"], "issues": [sup_1]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v["projectPermissions"],
        json!([{"permission": "EDIT_ISSUES", "projects": [], "issues": [sup_1]}])
    );
}

// ------------------------------------------------------------------ malformed uploads

#[tokio::test]
async fn a_malformed_upload_stores_nothing() {
    let h = emulator().await;
    let url = format!("{}/rest/api/3/issue/TEST-1/attachments", h.base());
    let dir = h.emu.site("alpha").site.attachments_dir.clone();
    let files_on_disk = || std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    let part = |name: &str, file: &str, body: &str| {
        format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: text/plain\r\n\r\n{body}\r\n")
    };
    let whole = format!("{}--XyZ--\r\n", part("file", "a.txt", "first file"));
    let first = part("file", "a.txt", "first file");
    let malformed = [
        // A complete first file, then a second one cut off in its content.
        format!("{first}--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.txt\"\r\n\r\nsecond fi"),
        // The only file cut off.
        whole[..whole.len() / 2].to_owned(),
        // No closing boundary.
        format!("{first}--XyZ"),
        first.clone(),
        // A part without a name, and a part that is not the field `file`.
        format!("{first}--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n"),
        format!("{first}{}--XyZ--\r\n", part("comment", "c.txt", "x")),
    ];
    let post = |body: String| {
        h.http
            .post(&url)
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .header("X-Atlassian-Token", "no-check")
            .header("Content-Type", "multipart/form-data; boundary=XyZ")
            .body(body)
            .send()
    };
    let stored = || async {
        let v: Value = h
            .http
            .get(format!("{}/_emulator/issues/TEST-1", h.base()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["attachments"].as_array().unwrap().len()
    };
    for body in malformed {
        let resp = post(body.clone()).await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{body:?}");
        let v: Value = resp.json().await.unwrap();
        assert_component("ErrorCollection", &v);
        assert_eq!(stored().await, 0, "nothing stored for {body:?}");
        assert_eq!(files_on_disk(), 0, "no file left behind for {body:?}");
    }
    let (_, issue) = h
        .call(
            "GET",
            "/rest/api/3/issue/TEST-1?fields=attachment",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(issue["fields"]["attachment"], json!([]));
    // A correct upload afterwards gives exactly one attachment.
    let resp = post(whole).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let list: Value = resp.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["filename"], "a.txt");
    assert_eq!(list[0]["size"], 10);
    assert_eq!(stored().await, 1);
    assert_eq!(files_on_disk(), 1);
    // Several files in one valid body are stored together.
    let two = format!("{first}{}--XyZ--\r\n", part("file", "b.txt", "second"));
    let resp = post(two).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(stored().await, 3);
}
