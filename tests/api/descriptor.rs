use crate::helpers::spawn_app;
use exalate::connect::descriptor::declared_urls;
use serde_json::Value;

#[tokio::test]
async fn descriptor_is_served_with_configured_base_url() {
    let app = spawn_app().await;
    let resp = app.get("/atlassian-connect.json", None).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let d: Value = resp.json().await.unwrap();
    assert_eq!(d["baseUrl"], app.base_url);
    assert_eq!(d["key"], "com.exalate.jiracloud");
    assert_eq!(d["name"], "Exalate");
    assert_eq!(d["authentication"]["type"], "jwt");
    assert_eq!(d["apiMigrations"]["signed-install"], true);
    assert_eq!(d["apiMigrations"]["context-qsh"], true);
    for scope in ["READ", "WRITE", "DELETE", "ADMIN"] {
        assert!(
            d["scopes"].as_array().unwrap().iter().any(|s| s == scope),
            "{scope}"
        );
    }
    for hook in ["installed", "uninstalled", "enabled", "disabled"] {
        assert_eq!(d["lifecycle"][hook], format!("/lifecycle/{hook}"));
    }
    let m = &d["modules"];
    assert_eq!(m["generalPages"][0]["name"]["value"], "Exalate");
    let admin: Vec<&str> = m["adminPages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        admin,
        ["Connections", "General Settings", "Sync Queue", "Errors"]
    );
    for p in m["adminPages"].as_array().unwrap() {
        assert_eq!(p["conditions"][0]["condition"], "user_is_admin");
    }
    assert_eq!(m["jiraIssueGlances"].as_array().unwrap().len(), 1);
    let events: Vec<&str> = m["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["event"].as_str().unwrap())
        .collect();
    for e in [
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
        "comment_created",
        "comment_updated",
        "comment_deleted",
        "attachment_created",
        "attachment_deleted",
    ] {
        assert!(events.contains(&e), "{e}");
    }
}

/// Every URL the descriptor declares is routed: an unauthenticated call is refused by
/// authentication (401) or served (static), never a 404.
#[tokio::test]
async fn every_declared_url_is_routed() {
    let app = spawn_app().await;
    let d: Value = app
        .get("/atlassian-connect.json", None)
        .await
        .json()
        .await
        .unwrap();
    let urls = declared_urls(&d);
    assert!(urls.len() >= 10, "{urls:?}");
    for url in urls {
        let is_post = url.starts_with("/lifecycle/") || url.starts_with("/webhooks/");
        let resp = if is_post {
            app.http
                .post(format!("{}{url}", app.address))
                .json(&serde_json::json!({"key": "x", "clientKey": "x", "baseUrl": "https://x.atlassian.net", "eventType": url.trim_start_matches("/lifecycle/")}))
                .send()
                .await
                .unwrap()
        } else {
            app.get(&url, None).await
        };
        let status = resp.status().as_u16();
        if url.starts_with("/static/") {
            assert_eq!(status, 200, "{url}");
        } else {
            assert!(matches!(status, 400 | 401), "{url} answered {status}");
        }
    }
}
