//! The browser side of a site: log in, the top bar with the **Apps** menu, project and issue
//! pages, the Connect iframe host (`/plugins/servlet/ac/{app}/{module}`) with Jira's context
//! parameters and JWT, the issue glance, a Manage-apps page, and the `all.js` bridge.

use crate::auth;
use crate::model::{Installation, SiteData};
use crate::render::adf_to_text;
use crate::site::{Principal, Site};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(dashboard))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::get().to(logout))
        .route("/browse/{key}", web::get().to(browse))
        .route("/browse/{key}", web::post().to(browse_action))
        .route("/projects/{key}", web::get().to(project_page))
        .route("/projects/{key}", web::post().to(create_from_form))
        .route(
            "/plugins/servlet/ac/{app}/{module}",
            web::get().to(app_module),
        )
        .route("/plugins/servlet/upm", web::get().to(manage_apps))
        .route("/plugins/servlet/upm", web::post().to(manage_apps_action))
        .route("/_emulator/all.js", web::get().to(all_js))
        .route("/_emulator/context-token", web::get().to(context_token));
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn cookie_name(site: &Site) -> String {
    auth::session_cookie_name(site)
}

/// The signed-in person: session cookie or HTTP basic auth.
fn viewer(req: &HttpRequest, site: &Site) -> Option<String> {
    if let Some(b) = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
    {
        return match auth::basic_user(site, b) {
            Some(Principal::User { account_id }) => Some(account_id),
            _ => None,
        };
    }
    let c = req.cookie(&cookie_name(site))?;
    site.sessions
        .lock()
        .expect("sessions")
        .get(c.value())
        .cloned()
}

fn to_login(req: &HttpRequest) -> HttpResponse {
    let next = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let enc = percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC);
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/login?next={enc}")))
        .finish()
}

const CSS: &str = r#"
*{box-sizing:border-box}body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Noto Sans",Ubuntu,"Helvetica Neue",sans-serif;color:#172B4D;font-size:14px;background:#fff}
a{color:#0C66E4;text-decoration:none}a:hover{text-decoration:underline}
.topbar{height:56px;display:flex;align-items:center;gap:8px;padding:0 16px;border-bottom:1px solid #DCDFE4;background:#fff;position:sticky;top:0;z-index:10}
.logo{display:flex;align-items:center;gap:6px;font-weight:600;font-size:16px;color:#0C66E4;margin-right:16px}
.logo svg{width:24px;height:24px}
.nav a,.nav button{color:#44546F;font-weight:500;padding:8px 10px;border-radius:3px;background:none;border:0;font:inherit;cursor:pointer}
.nav a:hover,.nav button:hover{background:#F1F2F4;text-decoration:none}
.menu{position:relative;display:inline-block}.menu-list{display:none;position:absolute;top:40px;left:0;min-width:240px;background:#fff;border-radius:3px;box-shadow:0 4px 8px -2px rgba(9,30,66,.25),0 0 1px rgba(9,30,66,.31);padding:6px 0}
.menu.open .menu-list{display:block}.menu-list a{display:block;padding:8px 16px;color:#172B4D}.menu-list a:hover{background:#F1F2F4;text-decoration:none}
.menu-list h6{margin:6px 16px;color:#626F86;font-size:11px;text-transform:uppercase}
.spacer{flex:1}.site{color:#626F86;font-size:12px;margin-right:8px}
.avatar{width:28px;height:28px;border-radius:50%;background:#0C66E4;color:#fff;display:flex;align-items:center;justify-content:center;font-size:12px;font-weight:600}
.page{display:flex;min-height:calc(100vh - 56px)}.sidebar{width:240px;background:#F7F8F9;border-right:1px solid #DCDFE4;padding:16px 8px}
.sidebar h4{font-size:11px;color:#626F86;text-transform:uppercase;margin:16px 8px 4px}.sidebar a{display:block;padding:6px 8px;border-radius:3px;color:#44546F}.sidebar a.active{background:#E9F2FF;color:#0C66E4}
.content{flex:1;padding:24px 32px;max-width:1200px}h1{font-size:24px;font-weight:500;margin:0 0 16px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:8px;border-bottom:1px solid #DCDFE4}th{color:#626F86;font-size:12px}
.btn{background:#0C66E4;color:#fff;border:0;border-radius:3px;padding:8px 12px;font:inherit;font-weight:500;cursor:pointer}.btn.subtle{background:#F1F2F4;color:#172B4D}
input,select,textarea{font:inherit;padding:8px;border:2px solid #DCDFE4;border-radius:3px;width:100%;max-width:480px}
label{display:block;font-size:12px;font-weight:600;color:#626F86;margin:12px 0 4px}
.issue{display:flex;gap:32px}.issue-main{flex:1}.issue-side{width:320px}
.glance{border:1px solid #DCDFE4;border-radius:3px;padding:8px 12px;display:flex;justify-content:space-between;align-items:center;cursor:pointer;margin-bottom:8px;background:#fff}
.glance:hover{background:#F7F8F9}.lozenge{font-size:11px;font-weight:700;text-transform:uppercase;padding:2px 4px;border-radius:3px;background:#DCDFE4}
.lozenge.success{background:#DCFFF1;color:#216E4E}.lozenge.inprogress{background:#E9F2FF;color:#0055CC}.lozenge.removed{background:#FFECEB;color:#AE2E24}
.comment{border-top:1px solid #F1F2F4;padding:12px 0}.meta{color:#626F86;font-size:12px}
.app-frame{width:100%;border:0;min-height:480px;display:block}
.flags{position:fixed;bottom:24px;left:24px;display:flex;flex-direction:column;gap:8px;z-index:100}.flag{background:#fff;box-shadow:0 8px 12px rgba(9,30,66,.15),0 0 1px rgba(9,30,66,.31);border-radius:3px;padding:16px;width:360px}
.login{max-width:400px;margin:80px auto;padding:32px;box-shadow:0 0 10px rgba(9,30,66,.15);border-radius:3px}
.error{color:#AE2E24;margin:8px 0}.empty{color:#626F86;padding:24px 0}
"#;

const LOGO: &str = r##"<svg viewBox="0 0 24 24" fill="none"><path d="M11.5 2 4 9.5l7.5 7.5 3.7-3.7-3.8-3.8 3.8-3.8L11.5 2z" fill="#2684FF"/><path d="m12.5 7 7.5 7.5-7.5 7.5-3.7-3.7 3.8-3.8-3.8-3.8L12.5 7z" fill="#0052CC"/></svg>"##;

fn general_pages(d: &SiteData, admin: bool) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for i in d.installations.iter().filter(|i| i.installed && i.enabled) {
        for m in i.descriptor["modules"]["generalPages"]
            .as_array()
            .into_iter()
            .flatten()
        {
            // `location: none` pages are reachable by URL only (e.g. a page another page opens).
            if !conditions_pass(m, admin) || m["location"] == "none" {
                continue;
            }
            if let (Some(k), Some(n)) = (m["key"].as_str(), m["name"]["value"].as_str()) {
                out.push((i.app_key.clone(), k.to_owned(), n.to_owned()));
            }
        }
    }
    out
}

fn conditions_pass(module: &Value, admin: bool) -> bool {
    module["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|c| match c["condition"].as_str() {
            Some("user_is_admin") | Some("user_is_sysadmin") => admin,
            _ => true,
        })
}

fn layout(
    site: &Site,
    d: &SiteData,
    account_id: &str,
    title: &str,
    sidebar: Option<String>,
    body: &str,
) -> HttpResponse {
    let user = d.user(account_id);
    let admin = user.is_some_and(|u| u.admin);
    let name = user.map(|u| u.display_name.clone()).unwrap_or_default();
    let initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    let mut apps = String::new();
    for (app, key, label) in general_pages(d, admin) {
        apps.push_str(&format!(
            r#"<a href="/plugins/servlet/ac/{}/{}">{}</a>"#,
            esc(&app),
            esc(&key),
            esc(&label)
        ));
    }
    if apps.is_empty() {
        apps.push_str(r#"<div class="empty" style="padding:8px 16px">No apps installed</div>"#);
    }
    let manage = if admin {
        r#"<h6>Manage</h6><a href="/plugins/servlet/upm">Manage your apps</a>"#
    } else {
        ""
    };
    let side = sidebar
        .map(|s| format!(r#"<nav class="sidebar">{s}</nav>"#))
        .unwrap_or_default();
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} - Jira</title><style>{CSS}</style></head>
<body><header class="topbar"><a class="logo" href="/">{LOGO}<span>Jira</span></a>
<div class="nav"><a href="/">Your work</a><a href="/#projects">Projects</a>
<div class="menu" id="apps-menu"><button type="button" id="apps-button" aria-haspopup="true" onclick="this.parentNode.classList.toggle('open')">Apps ▾</button>
<div class="menu-list" role="menu"><h6>Apps</h6>{apps}{manage}</div></div></div>
<div class="spacer"></div><span class="site">{site_name} · {base}</span><div class="avatar" title="{uname}">{initials}</div><a href="/logout" style="margin-left:8px">Log out</a></header>
<div class="page">{side}<main class="content">{body}</main></div><div class="flags" id="flags"></div>
<script>document.addEventListener('click',function(e){{var m=document.getElementById('apps-menu');if(m&&!m.contains(e.target))m.classList.remove('open');}});</script>
</body></html>"#,
        title = esc(title),
        site_name = esc(&site.name),
        base = esc(&site.base_url()),
        uname = esc(&name),
        initials = esc(&initials),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

// ------------------------------------------------------------------ login

async fn login_form(
    site: web::Data<Site>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let next = query.get("next").cloned().unwrap_or_else(|| "/".into());
    let error = query
        .get("error")
        .map(|_| r#"<p class="error">Incorrect email address and / or API token.</p>"#)
        .unwrap_or("");
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Log in - Jira</title><style>{CSS}</style></head><body>
<div class="login"><div class="logo" style="justify-content:center;margin-bottom:16px">{LOGO}<span>Jira</span></div>
<h1 style="text-align:center;font-size:16px">Log in to continue to {site}</h1>{error}
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" placeholder="Enter your email" required>
<label for="password">API token</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button class="btn" type="submit" id="login-submit" style="width:100%">Log in</button></p></form>
<p class="meta">Seeded accounts: admin@example.com / admin-token (site admin), user@example.com / user-token.</p></div></body></html>"#,
        site = esc(&site.name),
        next = esc(&next),
    ))
}

async fn login(site: web::Data<Site>, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let email = form.get("email").cloned().unwrap_or_default();
    let token = form.get("password").cloned().unwrap_or_default();
    let mut next = form.get("next").cloned().unwrap_or_else(|| "/".into());
    // Only local paths: a login form must not be an open redirect.
    if !next.starts_with('/') || next.starts_with("//") {
        next = "/".into();
    }
    let account = {
        let d = site.lock();
        d.users
            .iter()
            .find(|u| {
                u.email_address.as_deref() == Some(&email) && u.api_token.as_deref() == Some(&token)
            })
            .map(|u| u.account_id.clone())
    };
    match account {
        Some(id) => {
            let sid = uuid::Uuid::new_v4().to_string();
            site.sessions
                .lock()
                .expect("sessions")
                .insert(sid.clone(), id);
            let cookie = Cookie::build(cookie_name(&site), sid)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .finish();
            HttpResponse::SeeOther()
                .cookie(cookie)
                .insert_header(("Location", next))
                .finish()
        }
        None => {
            let enc =
                percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC);
            HttpResponse::SeeOther()
                .insert_header(("Location", format!("/login?error=1&next={enc}")))
                .finish()
        }
    }
}

async fn logout(site: web::Data<Site>, req: HttpRequest) -> HttpResponse {
    if let Some(c) = req.cookie(&cookie_name(&site)) {
        site.sessions.lock().expect("sessions").remove(c.value());
    }
    let mut gone = Cookie::build(cookie_name(&site), "").path("/").finish();
    gone.make_removal();
    HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header(("Location", "/login"))
        .finish()
}

// ------------------------------------------------------------------ projects and issues

async fn dashboard(site: web::Data<Site>, req: HttpRequest) -> HttpResponse {
    let Some(me) = viewer(&req, &site) else {
        return to_login(&req);
    };
    let d = site.lock();
    let mut body = String::from(
        r#"<h1>Your work</h1><h2 id="projects">Projects</h2><table><tr><th>Name</th><th>Key</th><th>Issues</th></tr>"#,
    );
    for p in &d.projects {
        let n = d.issues.values().filter(|i| i.project_id == p.id).count();
        body.push_str(&format!(
            r#"<tr><td><a href="/projects/{k}">{n_}</a></td><td>{k}</td><td>{n}</td></tr>"#,
            k = esc(&p.key),
            n_ = esc(&p.name)
        ));
    }
    body.push_str("</table>");
    layout(&site, &d, &me, "Your work", None, &body)
}

async fn project_page(
    site: web::Data<Site>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let Some(me) = viewer(&req, &site) else {
        return to_login(&req);
    };
    let d = site.lock();
    let Some(p) = d.project_by_id_or_key(&path).cloned() else {
        return HttpResponse::NotFound().body("No such project");
    };
    let mut rows = String::new();
    for i in d.issues.values().rev().filter(|i| i.project_id == p.id) {
        let t = d
            .issue_type(&i.issue_type_id)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        rows.push_str(&format!(
            r#"<tr><td><a href="/browse/{k}">{k}</a></td><td>{t}</td><td>{s}</td></tr>"#,
            k = esc(&i.key),
            t = esc(&t),
            s = esc(&i.summary)
        ));
    }
    let options: String = p
        .issue_type_ids
        .iter()
        .filter_map(|t| d.issue_type(t))
        .map(|t| {
            format!(
                r#"<option value="{}">{}</option>"#,
                esc(&t.id),
                esc(&t.name)
            )
        })
        .collect();
    let body = format!(
        r#"<h1>{name} ({key})</h1><h2>Create issue</h2><form method="post"><label for="summary">Summary</label><input id="summary" name="summary" required>
<label for="issuetype">Issue type</label><select id="issuetype" name="issuetype">{options}</select>
<label for="description">Description</label><textarea id="description" name="description" rows="3"></textarea><p><button class="btn" id="create-issue">Create</button></p></form>
<h2>Issues</h2><table><tr><th>Key</th><th>Type</th><th>Summary</th></tr>{rows}</table>"#,
        name = esc(&p.name),
        key = esc(&p.key),
    );
    layout(&site, &d, &me, &p.name, None, &body)
}

fn text_adf(text: &str) -> Option<Value> {
    let t = text.trim();
    (!t.is_empty()).then(|| crate::model::adf_paragraph(t))
}

async fn create_from_form(
    site: web::Data<Site>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let Some(me) = viewer(&req, &site) else {
        return to_login(&req);
    };
    let mut fields = json!({"project": {"key": path.as_str()}, "summary": form.get("summary").cloned().unwrap_or_default(),
                            "issuetype": {"id": form.get("issuetype").cloned().unwrap_or_default()}});
    if let Some(adf) = form.get("description").and_then(|t| text_adf(t)) {
        fields["description"] = adf;
    }
    match site.create_issue(
        &Principal::User { account_id: me },
        &json!({"fields": fields}),
    ) {
        Ok(v) => HttpResponse::SeeOther()
            .insert_header((
                "Location",
                format!("/browse/{}", v["key"].as_str().unwrap_or("")),
            ))
            .finish(),
        Err(e) => HttpResponse::BadRequest().body(format!("Could not create the issue: {e}")),
    }
}

fn glance_label(
    i: &Installation,
    glance: &Value,
    issue: &crate::model::Issue,
) -> (String, Option<String>) {
    let key = glance["key"].as_str().unwrap_or("");
    let default = glance["content"]["label"]["value"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    // Apps update glances through issue properties, as on Jira Cloud.
    let status = issue.properties.get(&format!(
        "com.atlassian.jira.issue:{}:{}:status",
        i.app_key, key
    ));
    let label = issue
        .properties
        .get(&format!(
            "com.atlassian.jira.issue:{}:{}:label",
            i.app_key, key
        ))
        .and_then(|v| {
            v["label"]
                .as_str()
                .or(v["value"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or(default);
    let lozenge = status.and_then(|s| {
        s["value"]["label"]
            .as_str()
            .map(|l| format!("{}|{}", s["value"]["type"].as_str().unwrap_or("default"), l))
    });
    (label, lozenge)
}

async fn browse(site: web::Data<Site>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(me) = viewer(&req, &site) else {
        return to_login(&req);
    };
    let d = site.lock();
    let Some(id) = d.issue_id_by_id_or_key(&path) else {
        return HttpResponse::NotFound()
            .body("Issue does not exist or you do not have permission to see it.");
    };
    let i = &d.issues[&id];
    let project = d.project_by_id_or_key(&i.project_id).cloned();
    let t = d
        .issue_type(&i.issue_type_id)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let mut comments = String::new();
    for c in &i.comments {
        let who = d
            .user(&c.author)
            .map(|u| u.display_name.clone())
            .unwrap_or_default();
        let vis = c
            .visibility
            .as_ref()
            .map(|v| {
                format!(
                    " · restricted to {}",
                    esc(v["value"].as_str().unwrap_or(""))
                )
            })
            .unwrap_or_default();
        comments.push_str(&format!(r#"<div class="comment" data-comment-id="{}"><div class="meta"><b>{}</b> · {}{}</div><div>{}</div></div>"#,
            c.id, esc(&who), esc(&crate::model::jira_time(&c.created)), vis, esc(&adf_to_text(&c.body)).replace('\n', "<br>")));
    }
    let mut atts = String::new();
    for a in i.attachment_ids.iter().filter_map(|a| d.attachments.get(a)) {
        atts.push_str(&format!(r#"<li><a href="/rest/api/3/attachment/content/{}">{}</a> <span class="meta">{} bytes</span></li>"#, a.id, esc(&a.filename), a.size));
    }
    let mut links = String::new();
    for l in &i.remote_links {
        let url = l.object["url"].as_str().unwrap_or("");
        let title = l.object["title"].as_str().unwrap_or(url);
        // Only http(s) links are rendered as links (no javascript: URLs from an app).
        if url.starts_with("https://") || url.starts_with("http://") {
            links.push_str(&format!(
                r#"<li><a href="{}" target="_top">{}</a> <span class="meta">{}</span></li>"#,
                esc(url),
                esc(title),
                esc(l.relationship.as_deref().unwrap_or(""))
            ));
        }
    }
    let mut glances = String::new();
    for inst in d.installations.iter().filter(|x| x.installed && x.enabled) {
        for g in inst.descriptor["modules"]["jiraIssueGlances"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (label, lozenge) = glance_label(inst, g, i);
            let name = g["name"]["value"].as_str().unwrap_or("");
            let loz = lozenge
                .map(|l| {
                    let (kind, text) = l.split_once('|').unwrap_or(("default", &l));
                    format!(
                        r#"<span class="lozenge {}">{}</span>"#,
                        esc(kind),
                        esc(text)
                    )
                })
                .unwrap_or_else(|| format!(r#"<span class="meta">{}</span>"#, esc(&label)));
            let src = module_iframe_url(
                &site,
                &d,
                inst,
                g["target"]["url"].as_str().unwrap_or(""),
                &me,
                Some(i),
                &HashMap::new(),
                g["key"].as_str().unwrap_or(""),
            );
            // No `allow` attribute, as on Jira Cloud (see the page iframe in `app_module`).
            glances.push_str(&format!(
                r#"<div class="glance" data-glance="{key}" onclick="var f=document.getElementById('glance-{key}');f.style.display=f.style.display==='none'?'block':'none';"><b>{name}</b>{loz}</div>
<div id="glance-{key}" style="display:none"><iframe class="app-frame" data-app-key="{app}" data-module-key="{key}" src="{src}" title="{name}"></iframe></div>"#,
                key = esc(g["key"].as_str().unwrap_or("")),
                name = esc(name),
                app = esc(&inst.app_key),
                src = esc(&src),
            ));
        }
    }
    let desc = i
        .description
        .as_ref()
        .map(|v| esc(&adf_to_text(v)).replace('\n', "<br>"))
        .unwrap_or_else(|| "<span class=\"meta\">Add a description…</span>".into());
    let body = format!(
        r#"<div class="meta"><a href="/projects/{pkey}">{pname}</a> / {key}</div><div class="issue"><div class="issue-main">
<h1 id="summary">{summary}</h1><h2>Description</h2><div id="description">{desc}</div>
<h2>Attachments</h2><ul id="attachments">{atts}</ul>
<h2>Web links</h2><ul id="web-links">{links}</ul>
<h2>Activity</h2><div id="comments">{comments}</div>
<form method="post"><input type="hidden" name="action" value="comment"><label for="comment">Add a comment</label><textarea id="comment" name="body" rows="2" required></textarea><p><button class="btn" id="add-comment">Save</button></p></form>
<details><summary>Edit issue</summary><form method="post"><input type="hidden" name="action" value="edit"><label for="edit-summary">Summary</label><input id="edit-summary" name="summary" value="{summary}">
<label for="edit-description">Description</label><textarea id="edit-description" name="description" rows="3">{desc_raw}</textarea><p><button class="btn" id="save-issue">Save</button></p></form></details>
</div><aside class="issue-side"><div class="meta">Type</div><p id="issuetype">{t}</p>{glances}</aside></div>
<script src="/_emulator/all.js?host=1"></script>"#,
        pkey = esc(project.as_ref().map(|p| p.key.as_str()).unwrap_or("")),
        pname = esc(project.as_ref().map(|p| p.name.as_str()).unwrap_or("")),
        key = esc(&i.key),
        summary = esc(&i.summary),
        desc_raw = esc(&i.description.as_ref().map(adf_to_text).unwrap_or_default()),
        t = esc(&t),
    );
    layout(&site, &d, &me, &i.key, None, &body)
}

async fn browse_action(
    site: web::Data<Site>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let Some(me) = viewer(&req, &site) else {
        return to_login(&req);
    };
    let p = Principal::User { account_id: me };
    let result = match form.get("action").map(String::as_str) {
        Some("comment") => match form.get("body").and_then(|b| text_adf(b)) {
            Some(adf) => site
                .add_comment(&p, &path, &json!({"body": adf}))
                .map(|_| ()),
            None => Ok(()),
        },
        Some("edit") => {
            let mut fields = json!({"summary": form.get("summary").cloned().unwrap_or_default()});
            fields["description"] = form
                .get("description")
                .and_then(|t| text_adf(t))
                .unwrap_or(Value::Null);
            site.edit_issue(&p, &path, &json!({"fields": fields}))
        }
        _ => Ok(()),
    };
    match result {
        Ok(()) => HttpResponse::SeeOther()
            .insert_header(("Location", format!("/browse/{}", path.as_str())))
            .finish(),
        Err(e) => HttpResponse::BadRequest().body(format!("Could not save: {e}")),
    }
}

// ------------------------------------------------------------------ Connect iframes

/// The iframe URL Jira builds for a module: the app's URL with context variables filled in, Jira's
/// context parameters, custom `ac.*` parameters, and a JWT bound to exactly that URL.
#[allow(clippy::too_many_arguments)]
fn module_iframe_url(
    site: &Site,
    d: &SiteData,
    inst: &Installation,
    module_url: &str,
    account_id: &str,
    issue: Option<&crate::model::Issue>,
    extra: &HashMap<String, String>,
    module_key: &str,
) -> String {
    let mut url = module_url.to_owned();
    if let Some(i) = issue {
        let project = d.project_by_id_or_key(&i.project_id);
        url = url
            .replace("{issue.key}", &i.key)
            .replace("{issue.id}", &i.id.to_string())
            .replace(
                "{project.key}",
                project.map(|p| p.key.as_str()).unwrap_or(""),
            )
            .replace("{project.id}", &i.project_id);
    }
    // Unfilled context variables become empty, as in Jira.
    while let (Some(a), Some(b)) = (url.find('{'), url.find('}')) {
        if b < a {
            break;
        }
        url.replace_range(a..=b, "");
    }
    let enc = connect_jwt::encode_rfc3986;
    let mut params = vec![
        ("xdm_e".to_owned(), site.base_url()),
        (
            "xdm_c".to_owned(),
            format!("channel-{}__{}", inst.app_key, module_key),
        ),
        ("cp".to_owned(), String::new()),
        (
            "xdm_deprecated_addon_key_do_not_use".to_owned(),
            inst.app_key.clone(),
        ),
        ("lic".to_owned(), "none".to_owned()),
        ("cv".to_owned(), "1001.0.0-SNAPSHOT".to_owned()),
    ];
    let mut extra: Vec<(&String, &String)> =
        extra.iter().filter(|(k, _)| k.starts_with("ac.")).collect();
    extra.sort();
    params.extend(extra.into_iter().map(|(k, v)| (k.clone(), v.clone())));
    let sep = if url.contains('?') { '&' } else { '?' };
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let full = format!("{}{}{sep}{}", inst.base_url, url, query.join("&"));
    let now = chrono::Utc::now().timestamp();
    let mut claims =
        connect_jwt::request_claims(&inst.client_key, "GET", &full, &inst.base_url, now, 180);
    claims.sub = Some(account_id.to_owned());
    let mut ctx = json!({"jira": {}});
    if let Some(i) = issue {
        ctx["jira"]["issue"] = json!({"key": i.key, "id": i.id.to_string()});
        ctx["jira"]["project"] = json!({"id": i.project_id, "key": d.project_by_id_or_key(&i.project_id).map(|p| p.key.clone())});
    }
    claims.context = Some(ctx);
    let token = connect_jwt::mint_hs256(&claims, inst.shared_secret.as_bytes()).unwrap_or_default();
    format!("{full}&jwt={token}")
}

fn find_module<'a>(inst: &'a Installation, module_key: &str) -> Option<(&'a Value, bool)> {
    let m = &inst.descriptor["modules"];
    for (kind, admin_page) in [
        ("generalPages", false),
        ("adminPages", true),
        ("configurePage", true),
        ("jiraIssueGlances", false),
    ] {
        let list = match &m[kind] {
            Value::Array(a) => a.clone(),
            v @ Value::Object(_) => vec![v.clone()],
            _ => vec![],
        };
        if list.iter().any(|x| x["key"] == module_key) {
            let idx = m[kind]
                .as_array()
                .and_then(|a| a.iter().position(|x| x["key"] == module_key));
            return match idx {
                Some(i) => Some((&m[kind][i], admin_page)),
                None => Some((&m[kind], admin_page)),
            };
        }
    }
    None
}

async fn app_module(
    site: web::Data<Site>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let Some(me) = viewer(&req, &site) else {
        return to_login(&req);
    };
    let (app, module_key) = path.into_inner();
    let d = site.lock();
    let admin = d.user(&me).is_some_and(|u| u.admin);
    let Some(inst) = d
        .installation(&app)
        .filter(|i| i.installed && i.enabled)
        .cloned()
    else {
        return HttpResponse::NotFound().body("The app is not installed on this site.");
    };
    let Some((module, is_admin_page)) = find_module(&inst, &module_key) else {
        return HttpResponse::NotFound().body("The app has no such page.");
    };
    if !conditions_pass(module, admin) {
        let mut resp = layout(
            &site,
            &d,
            &me,
            "Access denied",
            None,
            r#"<h1>You don't have access to this page</h1><p>Only Jira administrators can open this page. Ask a Jira admin of this site for help.</p>"#,
        );
        *resp.status_mut() = actix_web::http::StatusCode::FORBIDDEN;
        return resp;
    }
    let url = module["url"]
        .as_str()
        .or(module["target"]["url"].as_str())
        .unwrap_or("/");
    let issue = query
        .get("issueKey")
        .and_then(|k| d.issue_id_by_id_or_key(k))
        .and_then(|id| d.issues.get(&id));
    let src = module_iframe_url(&site, &d, &inst, url, &me, issue, &query, &module_key);
    let title = module["name"]["value"]
        .as_str()
        .unwrap_or(&module_key)
        .to_owned();
    let sidebar = is_admin_page.then(|| {
        let mut s = String::from("<h4>Apps</h4>");
        for m in inst.descriptor["modules"]["adminPages"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let k = m["key"].as_str().unwrap_or("");
            let active = if k == module_key {
                " class=\"active\""
            } else {
                ""
            };
            s.push_str(&format!(
                r#"<a{active} href="/plugins/servlet/ac/{}/{}">{}</a>"#,
                esc(&inst.app_key),
                esc(k),
                esc(m["name"]["value"].as_str().unwrap_or(k))
            ));
        }
        s.push_str(r#"<h4>Manage</h4><a href="/plugins/servlet/upm">Manage apps</a>"#);
        s
    });
    // No `allow` attribute, as on Jira Cloud as far as Atlassian's sources show: the Connect
    // host library (atlassian-connect-js 5.3.64, dist/connect-host.js; bitbucket.org/atlassian/
    // atlassian-connect-js, mirrored at github.com/kawashinji/atlassian-connect-js) builds a
    // module's iframe from simple-xdm's `create()` (id, name, src) plus width/height/sandbox from
    // its options, and sets no `allow`; no Connect page documents one. So `clipboard-write` keeps
    // its default allowlist 'self', and `navigator.clipboard.writeText` is refused in the app's
    // (cross-origin) frame. Only Forge Custom UI iframes get a fixed `allow` list: camera,
    // clipboard-write, display-capture, fullscreen, microphone
    // (https://developer.atlassian.com/platform/forge/custom-ui/iframe/). Same for the glance iframe.
    let body = format!(
        r#"<iframe id="app-frame" class="app-frame" data-app-key="{app}" data-module-key="{module}" src="{src}" title="{title}"></iframe>
<script src="/_emulator/all.js?host=1"></script>"#,
        app = esc(&inst.app_key),
        module = esc(&module_key),
        src = esc(&src),
        title = esc(&title),
    );
    layout(&site, &d, &me, &title, sidebar, &body)
}

/// A context token (qsh `context-qsh`) for the app in the viewer's iframe, as
/// `AP.context.getToken()` returns it.
async fn context_token(
    site: web::Data<Site>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let Some(me) = viewer(&req, &site) else {
        return HttpResponse::Unauthorized().finish();
    };
    let d = site.lock();
    let Some(inst) = query
        .get("app")
        .and_then(|a| d.installation(a))
        .filter(|i| i.installed && i.enabled)
    else {
        return HttpResponse::NotFound().finish();
    };
    let now = chrono::Utc::now().timestamp();
    let mut ctx = json!({"jira": {}});
    if let Some(i) = query
        .get("issueKey")
        .and_then(|k| d.issue_id_by_id_or_key(k))
        .and_then(|id| d.issues.get(&id))
    {
        ctx["jira"]["issue"] = json!({"key": i.key, "id": i.id.to_string()});
    }
    let claims = connect_jwt::Claims {
        iss: inst.client_key.clone(),
        sub: Some(me.clone()),
        iat: Some(now),
        exp: Some(now + 900),
        qsh: Some(connect_jwt::CONTEXT_QSH.into()),
        context: Some(ctx),
        ..Default::default()
    };
    let token = connect_jwt::mint_hs256(&claims, inst.shared_secret.as_bytes()).unwrap_or_default();
    HttpResponse::Ok().json(json!({"token": token, "accountId": me}))
}

// ------------------------------------------------------------------ manage apps

async fn manage_apps(
    site: web::Data<Site>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let Some(me) = viewer(&req, &site) else {
        return to_login(&req);
    };
    let d = site.lock();
    if !d.user(&me).is_some_and(|u| u.admin) {
        let mut resp = layout(&site, &d, &me, "Manage apps", None, "<h1>You don't have access to this page</h1><p>Only site administrators can manage apps.</p>");
        *resp.status_mut() = actix_web::http::StatusCode::FORBIDDEN;
        return resp;
    }
    let mut rows = String::new();
    for i in d.installations.iter().filter(|i| i.installed) {
        rows.push_str(&format!(
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(i.descriptor["name"].as_str().unwrap_or(&i.app_key)),
            esc(&i.app_key),
            esc(&i.base_url),
            if i.enabled { "Enabled" } else { "Disabled" }
        ));
    }
    let msg = query
        .get("msg")
        .map(|m| format!(r#"<p class="meta">{}</p>"#, esc(m)))
        .unwrap_or_default();
    let body = format!(
        r#"<h1>Manage apps</h1>{msg}<h2>Upload app</h2><form method="post"><label for="descriptor-url">App descriptor URL</label><input id="descriptor-url" name="url" placeholder="https://example.com/atlassian-connect.json" required><p><button class="btn" id="upload-app">Upload</button></p></form>
<h2>User-installed apps</h2><table><tr><th>Name</th><th>Key</th><th>Base URL</th><th>Status</th></tr>{rows}</table>"#
    );
    layout(&site, &d, &me, "Manage apps", None, &body)
}

async fn manage_apps_action(
    site: web::Data<Site>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let Some(me) = viewer(&req, &site) else {
        return to_login(&req);
    };
    if !site.lock().user(&me).is_some_and(|u| u.admin) {
        return HttpResponse::Forbidden().body("Only site administrators can manage apps.");
    }
    let url = form.get("url").cloned().unwrap_or_default();
    let msg = match crate::connect::install(&site, &url).await {
        Ok(key) => format!("Installed {key}."),
        Err(e) => format!("Install failed: {}", e.messages.join(" ")),
    };
    let enc = percent_encoding::utf8_percent_encode(&msg, percent_encoding::NON_ALPHANUMERIC);
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/plugins/servlet/upm?msg={enc}")))
        .finish()
}

// ------------------------------------------------------------------ all.js

/// One script for both ends: in the app's iframe (`xdm_e` in its URL) it defines `window.AP`; on
/// the Jira page (`?host=1`) it answers the iframes' requests.
async fn all_js(query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let js = if query.contains_key("host") {
        HOST_JS
    } else {
        APP_JS
    };
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(js)
}

const APP_JS: &str = r#"(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var host = params.get("xdm_e");
  var seq = 0, pending = {};
  function call(method, args) {
    return new Promise(function (resolve, reject) {
      var id = ++seq;
      pending[id] = { resolve: resolve, reject: reject };
      if (window.parent === window) { reject(new Error("not inside Jira")); return; }
      window.parent.postMessage({ type: "ap-request", id: id, method: method, args: args || [] }, host || "*");
    });
  }
  window.addEventListener("message", function (e) {
    if (host && e.origin !== host) return;
    var m = e.data;
    if (!m || m.type !== "ap-response" || !pending[m.id]) return;
    var p = pending[m.id]; delete pending[m.id];
    if (m.error) p.reject(new Error(m.error)); else p.resolve(m.result);
  });
  function cb(promise, callback) { if (typeof callback === "function") promise.then(callback, function () { callback(undefined); }); return promise; }
  function height() { return Math.ceil(document.documentElement.scrollHeight || document.body.scrollHeight || 0); }
  var AP = {
    context: {
      getToken: function (callback) { return cb(call("context.getToken"), callback); },
      getContext: function (callback) { return cb(call("context.getContext"), callback); }
    },
    navigator: {
      go: function (target, context) { return call("navigator.go", [target, context || {}]); },
      reload: function () { return call("navigator.reload"); }
    },
    resize: function (width, h) { return call("resize", [width || "100%", h || height()]); },
    sizeToParent: function () { return call("resize", ["100%", height()]); },
    flag: { create: function (opts) { call("flag.create", [opts || {}]); return { close: function () {} }; } },
    user: { getCurrentUser: function (callback) { return cb(call("user.getCurrentUser"), callback); } }
  };
  window.AP = AP;
  var last = 0;
  function autoResize() { var h = height(); if (h !== last) { last = h; AP.resize("100%", h).catch(function () {}); } }
  window.addEventListener("load", autoResize);
  if (window.MutationObserver) new MutationObserver(autoResize).observe(document.documentElement, { childList: true, subtree: true, attributes: true });
})();
"#;

const HOST_JS: &str = r#"(function () {
  "use strict";
  function frameFor(source) {
    var frames = document.querySelectorAll("iframe[data-app-key]");
    for (var i = 0; i < frames.length; i++) if (frames[i].contentWindow === source) return frames[i];
    return null;
  }
  function flag(opts) {
    var box = document.getElementById("flags"); if (!box) return;
    var el = document.createElement("div"); el.className = "flag"; el.setAttribute("role", "alert");
    var t = document.createElement("b"); t.textContent = opts.title || ""; el.appendChild(t);
    var b = document.createElement("div"); b.textContent = opts.body || ""; el.appendChild(b);
    box.appendChild(el); setTimeout(function () { el.remove(); }, (opts.close === "manual") ? 30000 : 8000);
  }
  window.addEventListener("message", function (e) {
    var frame = frameFor(e.source); var m = e.data;
    if (!frame || !m || m.type !== "ap-request") return;
    var src = new URL(frame.src);
    if (e.origin !== src.origin) return;
    var app = frame.getAttribute("data-app-key");
    var issueKey = src.searchParams.get("issueKey") || "";
    function reply(result, error) { e.source.postMessage({ type: "ap-response", id: m.id, result: result, error: error }, e.origin); }
    var a = m.args || [];
    switch (m.method) {
      case "context.getToken":
        fetch("/_emulator/context-token?app=" + encodeURIComponent(app) + "&issueKey=" + encodeURIComponent(issueKey), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
          .then(function (j) { reply(j.token); }, function (err) { reply(null, String(err)); });
        break;
      case "context.getContext":
        reply({ jira: issueKey ? { issue: { key: issueKey } } : {} }); break;
      case "user.getCurrentUser":
        fetch("/_emulator/context-token?app=" + encodeURIComponent(app), { credentials: "same-origin" })
          .then(function (r) { return r.json(); }).then(function (j) { reply({ atlassianAccountId: j.accountId }); }, function (err) { reply(null, String(err)); });
        break;
      case "resize":
        if (a[1]) frame.style.height = (typeof a[1] === "number" ? a[1] + "px" : a[1]);
        reply(true); break;
      case "flag.create":
        flag(a[0] || {}); reply(true); break;
      case "navigator.reload":
        reply(true); window.location.reload(); break;
      case "navigator.go":
        var target = a[0], ctx = a[1] || {}, url = null;
        if (target === "issue" && ctx.issueKey) url = "/browse/" + encodeURIComponent(ctx.issueKey);
        else if (target === "addonmodule" && ctx.moduleKey) {
          url = "/plugins/servlet/ac/" + encodeURIComponent(ctx.addonKey || app) + "/" + encodeURIComponent(ctx.moduleKey);
          var q = [];
          if (ctx.customData) for (var k in ctx.customData) q.push("ac." + encodeURIComponent(k) + "=" + encodeURIComponent(ctx.customData[k]));
          if (q.length) url += "?" + q.join("&");
        } else if (target === "site" && ctx.relativeUrl && ctx.relativeUrl.charAt(0) === "/") url = ctx.relativeUrl;
        else if (target === "dashboard") url = "/";
        if (url) { reply(true); window.location.href = url; } else reply(null, "unsupported navigation target");
        break;
      default:
        reply(null, "unsupported AP method " + m.method);
    }
  });
})();
"#;
