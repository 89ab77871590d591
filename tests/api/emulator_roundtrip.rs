//! The app against an emulated Jira site, end to end: installed through the UPM API with a signed
//! install, iframe pages and webhooks verified by our JWT code, our signed REST calls verified by
//! the site's, uninstall handled.

use crate::helpers::*;
use jira_emulator::{Emulator, EmulatorConfig, SiteConfig};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");
const USER: (&str, &str) = ("user@example.com", "user-token");

async fn upm_install(http: &reqwest::Client, site: &str, descriptor: &str) -> u16 {
    let resp = http
        .get(format!("{site}/rest/plugins/1.0/"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    let token = resp.headers()["upm-token"].to_str().unwrap().to_owned();
    http.post(format!("{site}/rest/plugins/1.0/?token={token}"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header(
            "Content-Type",
            "application/vnd.atl.plugins.install.uri+json",
        )
        .json(&json!({"pluginUri": descriptor}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn iframe_src(html: &str, marker: &str) -> String {
    html.split(marker)
        .nth(1)
        .and_then(|s| s.split("src=\"").nth(1))
        .and_then(|s| s.split('"').next())
        .expect("iframe in the page")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn installed_on_an_emulated_site_everything_verifies_both_ways() {
    let emu = Emulator::start(EmulatorConfig {
        sites: vec![SiteConfig {
            name: "alpha".into(),
            listen: "127.0.0.1:0".into(),
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let site = emu.site("alpha").base_url.clone();
    let keys = format!("{site}/_emulator/install-keys");
    let app = spawn_app_with(move |s| s.connect.install_keys_url = keys).await;
    let http = &app.http;

    assert_eq!(
        upm_install(
            http,
            &site,
            &format!("{}/atlassian-connect.json", app.address)
        )
        .await,
        202
    );
    let installs: Value = http
        .get(format!("{site}/_emulator/installations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_key = installs[0]["clientKey"].as_str().unwrap().to_owned();
    let row = app
        .tenant_row(&client_key)
        .await
        .expect("the signed install created the tenant");
    assert_eq!(row.base_url, site);

    // Jira's iframe URL for the admin page is accepted by our JWT verification.
    let html = http
        .get(format!(
            "{site}/plugins/servlet/ac/com.exalate.jiracloud/exalate-connections"
        ))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let src = iframe_src(&html, "id=\"app-frame\"");
    let page = http.get(&src).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains(r#"<meta name="exalate-page" content="admin/connections">"#));
    // A non-admin does not even get the iframe (descriptor condition user_is_admin).
    let resp = http
        .get(format!(
            "{site}/plugins/servlet/ac/com.exalate.jiracloud/exalate-connections"
        ))
        .basic_auth(USER.0, Some(USER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    // The issue glance iframe, with the issue's context in its URL.
    let html = http
        .get(format!("{site}/browse/TEST-1"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let glance = iframe_src(&html, "data-module-key=\"exalate-sync-status\"");
    assert!(glance.contains("issueKey=TEST-1"), "{glance}");
    assert_eq!(
        http.get(&glance).send().await.unwrap().status().as_u16(),
        200
    );
    // AP.context.getToken() tokens work on the frontend API.
    let ctx: Value = http
        .get(format!(
            "{site}/_emulator/context-token?app=com.exalate.jiracloud"
        ))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = app
        .get(
            "/api/whoami",
            Some(&format!("JWT {}", ctx["token"].as_str().unwrap())),
        )
        .await;
    assert_eq!(me.status().as_u16(), 200);

    // Webhooks from the site reach us and verify.
    http.post(format!("{site}/rest/api/3/issue"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(&json!({"fields": {"project": {"key": "TEST"}, "summary": "hook me", "issuetype": {"name": "Task"}}}))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let c: Value = http
            .get(format!("{site}/_emulator/counters"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if c["webhooksDelivered"].as_u64().unwrap_or(0) >= 1 {
            assert_eq!(
                c["webhooksFailedAttempts"], 0,
                "our server accepted every webhook"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no webhook delivered: {c}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Our signed REST calls are accepted by the site, as the app's own user.
    let tenant = app.state.tenants.get(&client_key).await.unwrap().unwrap();
    let jira = app.state.jira.for_tenant(tenant).unwrap();
    assert_eq!(
        jira.server_info().await.unwrap().deployment_type.as_deref(),
        Some("Cloud")
    );
    assert_eq!(
        jira.myself().await.unwrap().account_type.as_deref(),
        Some("app")
    );
    assert!(jira
        .is_admin("557058:f0a1b2c3-0000-4000-8000-00000000a001")
        .await
        .unwrap());
    assert!(!jira
        .is_admin("557058:f0a1b2c3-0000-4000-8000-00000000b002")
        .await
        .unwrap());

    // Uninstall through UPM: signed, and the tenant is kept but marked.
    let resp = http
        .delete(format!("{site}/rest/plugins/1.0/com.exalate.jiracloud-key"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        app.tenant_row(&client_key).await.unwrap().state,
        "uninstalled"
    );
    emu.stop().await;
}
