//! The REST v3 subset, with Jira's paths, status codes, JSON shapes and error texts
//! (`reference/jira-platform-openapi.json` is the authority).

use crate::auth;
use crate::error::{ApiResult, JiraApiError};
use crate::model::{jira_time, Attachment};
use crate::permissions::{self, may, visible_issue, BROWSE};
use crate::render;
use crate::site::{Principal, Site, Upload};
use actix_web::http::StatusCode;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse};
use base64::Engine;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::future::{ready, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use tokio::io::AsyncWriteExt;

pub type SiteData = web::Data<Site>;

/// An authenticated caller; apps must hold the scope the HTTP method needs.
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = JiraApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let site = req.app_data::<SiteData>().expect("site registered");
        ready(match auth::authenticate(req, site) {
            Ok(Some(p)) => {
                site.counters
                    .update(|c| *c.by_principal.entry(p.kind()).or_default() += 1);
                match &p {
                    Principal::App { scopes, .. }
                        if !auth::scope_allows(scopes, req.method().as_str()) =>
                    {
                        Err(JiraApiError::forbidden(
                            "Unauthorized; scope does not match",
                        ))
                    }
                    _ => Ok(Caller(p)),
                }
            }
            Ok(None) => Err(JiraApiError::unauthorized()),
            Err(e) => Err(e),
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/rest/api/3")
            .route("/serverInfo", web::get().to(server_info))
            .route("/myself", web::get().to(myself))
            .route("/user", web::get().to(user))
            .route("/field", web::get().to(fields))
            .route("/project", web::get().to(projects))
            .route("/project/search", web::get().to(project_search))
            .route("/project/{key}", web::get().to(project))
            .route("/issuetype", web::get().to(issue_types))
            .route("/issuetype/project", web::get().to(issue_types_for_project))
            .route(
                "/issuetypescheme/project",
                web::get().to(issue_type_schemes),
            )
            .route(
                "/issue/createmeta/{project}/issuetypes",
                web::get().to(createmeta),
            )
            .route("/issue", web::post().to(create_issue))
            .route("/issue/bulkfetch", web::post().to(bulk_fetch))
            .route("/issue/{key}", web::get().to(get_issue))
            .route("/issue/{key}", web::put().to(edit_issue))
            .route("/issue/{key}", web::delete().to(delete_issue))
            .route("/issue/{key}/comment", web::get().to(list_comments))
            .route("/issue/{key}/comment", web::post().to(add_comment))
            .route("/issue/{key}/comment/{id}", web::get().to(get_comment))
            .route("/issue/{key}/comment/{id}", web::put().to(update_comment))
            .route(
                "/issue/{key}/comment/{id}",
                web::delete().to(delete_comment),
            )
            .route(
                "/issue/{key}/attachments",
                web::post().to(upload_attachments),
            )
            .route("/attachment/{id}", web::get().to(attachment_meta))
            .route("/attachment/{id}", web::delete().to(delete_attachment))
            .route(
                "/attachment/content/{id}",
                web::get().to(attachment_content),
            )
            .route(
                "/issue/{key}/properties",
                web::get().to(list_issue_properties),
            )
            .route(
                "/issue/{key}/properties/{prop}",
                web::get().to(get_issue_property),
            )
            .route(
                "/issue/{key}/properties/{prop}",
                web::put().to(set_issue_property),
            )
            .route(
                "/issue/{key}/properties/{prop}",
                web::delete().to(delete_issue_property),
            )
            .route("/issue/{key}/remotelink", web::get().to(list_remote_links))
            .route("/issue/{key}/remotelink", web::post().to(add_remote_link))
            .route(
                "/issue/{key}/remotelink/{id}",
                web::get().to(get_remote_link),
            )
            .route(
                "/issue/{key}/remotelink/{id}",
                web::delete().to(delete_remote_link),
            )
            .route("/search/jql", web::get().to(search_get))
            .route("/search/jql", web::post().to(search_post))
            .route("/search", web::to(search_removed))
            .route("/permissions/check", web::post().to(permissions_check))
            .route("/mypermissions", web::get().to(my_permissions)),
    )
    .service(
        web::scope("/rest/atlassian-connect/1/addons/{addon}/properties")
            .route("", web::get().to(list_app_properties))
            .route("/{prop}", web::get().to(get_app_property))
            .route("/{prop}", web::put().to(set_app_property))
            .route("/{prop}", web::delete().to(delete_app_property)),
    )
    .route(
        "/_media/attachment/{id}/{name}",
        web::get().to(media_download),
    );
}

fn q<'a>(query: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    query.get(k).map(String::as_str)
}

// ------------------------------------------------------------------ server, users, fields

/// The site's title (General configuration → Title in Jira) is the emulated site's name.
async fn server_info(site: SiteData) -> HttpResponse {
    let base = site.base_url();
    HttpResponse::Ok().json(json!({
        "baseUrl": base, "displayUrl": base, "version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud", "buildNumber": 100275, "buildDate": "2026-11-01T00:00:00.000+0000",
        "serverTime": jira_time(&chrono::Utc::now()), "scmInfo": "emulated", "serverTitle": site.name, "serverTimeZone": "Etc/UTC"
    }))
}

async fn myself(site: SiteData, Caller(p): Caller) -> ApiResult<HttpResponse> {
    let base = site.base_url();
    let d = site.lock();
    let u = d
        .user(p.account_id())
        .ok_or_else(JiraApiError::unauthorized)?;
    let mut v = render::user(&base, u);
    v["locale"] = json!("en_US");
    v["groups"] = json!({"size": 1, "items": []});
    v["applicationRoles"] = json!({"size": 1, "items": []});
    Ok(HttpResponse::Ok().json(v))
}

async fn user(
    site: SiteData,
    _c: Caller,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let id = q(&query, "accountId").ok_or_else(|| {
        JiraApiError::bad_request("The accountId query parameter needs to be provided.")
    })?;
    let base = site.base_url();
    let d = site.lock();
    let u = d.user(id).ok_or_else(|| {
        JiraApiError::not_found(
            "Specified user does not exist or you do not have required permissions",
        )
    })?;
    Ok(HttpResponse::Ok().json(render::user(&base, u)))
}

async fn fields(_c: Caller) -> HttpResponse {
    let f = |id: &str, name: &str, ty: &str| {
        json!({"id": id, "key": id, "name": name, "custom": false, "orderable": true, "navigable": true,
               "searchable": true, "clauseNames": [id], "schema": {"type": ty, "system": id}})
    };
    HttpResponse::Ok().json(json!([
        f("summary", "Summary", "string"),
        f("description", "Description", "string"),
        f("issuetype", "Issue Type", "issuetype"),
        f("project", "Project", "project"),
        f("reporter", "Reporter", "user"),
        f("creator", "Creator", "user"),
        f("created", "Created", "datetime"),
        f("updated", "Updated", "datetime"),
        f("comment", "Comment", "comments-page"),
        f("attachment", "Attachment", "array"),
        f("status", "Status", "status"),
        f("labels", "Labels", "array"),
    ]))
}

// ------------------------------------------------------------------ projects, issue types

async fn projects(site: SiteData, Caller(c): Caller) -> HttpResponse {
    let base = site.base_url();
    let d = site.lock();
    let list: Vec<Value> = d
        .projects
        .iter()
        .filter(|p| may(&d, &c, &p.id, BROWSE))
        .map(|p| render::project_full(&base, &d, p))
        .collect();
    HttpResponse::Ok().json(list)
}

async fn project_search(
    site: SiteData,
    Caller(c): Caller,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let base = site.base_url();
    let d = site.lock();
    let needle = q(&query, "query").unwrap_or("").to_lowercase();
    let keys: Option<Vec<String>> =
        q(&query, "keys").map(|k| k.split(',').map(|s| s.trim().to_uppercase()).collect());
    let start: usize = q(&query, "startAt")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let max: usize = q(&query, "maxResults")
        .and_then(|s| s.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let all: Vec<&crate::model::Project> = d
        .projects
        .iter()
        .filter(|p| {
            needle.is_empty()
                || p.key.to_lowercase().contains(&needle)
                || p.name.to_lowercase().contains(&needle)
        })
        .filter(|p| keys.as_ref().is_none_or(|k| k.contains(&p.key)))
        .filter(|p| may(&d, &c, &p.id, BROWSE))
        .collect();
    let total = all.len();
    let values: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|p| render::project_full(&base, &d, p))
        .collect();
    let is_last = start + values.len() >= total;
    let mut page = json!({
        "self": format!("{base}/rest/api/3/project/search?startAt={start}&maxResults={max}"),
        "maxResults": max, "startAt": start, "total": total, "isLast": is_last, "values": values
    });
    if !is_last {
        page["nextPage"] = json!(format!(
            "{base}/rest/api/3/project/search?startAt={}&maxResults={max}",
            start + max
        ));
    }
    HttpResponse::Ok().json(page)
}

async fn project(
    site: SiteData,
    Caller(c): Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let base = site.base_url();
    let d = site.lock();
    let p = d
        .project_by_id_or_key(&path)
        .filter(|p| may(&d, &c, &p.id, BROWSE))
        .ok_or_else(|| {
            JiraApiError::not_found(format!("No project could be found with key '{path}'."))
        })?;
    Ok(HttpResponse::Ok().json(render::project_full(&base, &d, p)))
}

async fn issue_types(site: SiteData, _c: Caller) -> HttpResponse {
    let base = site.base_url();
    let d = site.lock();
    let v: Vec<Value> = d
        .issue_types
        .iter()
        .map(|t| render::issue_type(&base, t))
        .collect();
    HttpResponse::Ok().json(v)
}

async fn issue_types_for_project(
    site: SiteData,
    _c: Caller,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let id = q(&query, "projectId")
        .ok_or_else(|| JiraApiError::bad_request("The projectId must be provided."))?;
    let base = site.base_url();
    let d = site.lock();
    let p = d.projects.iter().find(|p| p.id == id).ok_or_else(|| {
        JiraApiError::not_found("No project could be found with id '".to_owned() + id + "'.")
    })?;
    let v: Vec<Value> = p
        .issue_type_ids
        .iter()
        .filter_map(|t| d.issue_type(t))
        .map(|t| render::issue_type(&base, t))
        .collect();
    Ok(HttpResponse::Ok().json(v))
}

async fn issue_type_schemes(
    site: SiteData,
    _c: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let ids: Vec<String> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k == "projectId")
        .map(|(_, v)| v.into_owned())
        .collect();
    if ids.is_empty() {
        return Err(JiraApiError::bad_request("The projectId must be provided."));
    }
    let d = site.lock();
    let values: Vec<Value> = d
        .projects
        .iter()
        .filter(|p| ids.contains(&p.id))
        .map(|p| {
            let mut scheme = json!({"id": format!("1{}", p.id), "name": format!("{}: Issue Type Scheme", p.key),
                                    "description": "", "isDefault": false});
            if let Some(def) = &p.default_issue_type_id {
                scheme["defaultIssueTypeId"] = json!(def);
            }
            json!({"issueTypeScheme": scheme, "projectIds": [p.id]})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"maxResults": 50, "startAt": 0, "total": values.len(), "isLast": true, "values": values})))
}

async fn createmeta(
    site: SiteData,
    _c: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let base = site.base_url();
    let d = site.lock();
    let p = d.project_by_id_or_key(&path).ok_or_else(|| {
        JiraApiError::not_found(format!("No project could be found with key '{path}'."))
    })?;
    let types: Vec<Value> = p
        .issue_type_ids
        .iter()
        .filter_map(|t| d.issue_type(t))
        .map(|t| render::issue_type(&base, t))
        .collect();
    Ok(HttpResponse::Ok()
        .json(json!({"maxResults": 50, "startAt": 0, "total": types.len(), "issueTypes": types})))
}

// ------------------------------------------------------------------ issues

fn json_body(body: &web::Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| {
        JiraApiError::bad_request(format!(
            "Unexpected character or malformed JSON in the request body: {e}"
        ))
    })
}

async fn create_issue(
    site: SiteData,
    Caller(p): Caller,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let v = json_body(&body)?;
    let created = site.create_issue(&p, &v)?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkFetch {
    issue_ids_or_keys: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
}

/// `POST /rest/api/3/issue/bulkfetch`: up to 100 issues by id or key; ones that do not exist
/// are left out (Jira lists only retriable failures in `issueErrors`).
async fn bulk_fetch(
    site: SiteData,
    Caller(c): Caller,
    body: web::Json<BulkFetch>,
) -> ApiResult<HttpResponse> {
    if body.issue_ids_or_keys.len() > 100 {
        return Err(JiraApiError::bad_request(
            "You can request up to 100 issues.",
        ));
    }
    let base = site.base_url();
    let d = site.lock();
    let fields = (!body.fields.is_empty()).then(|| body.fields.join(","));
    let mut ids: Vec<u64> = body
        .issue_ids_or_keys
        .iter()
        .filter_map(|k| d.issue_id_by_id_or_key(k))
        .filter(|id| permissions::can_see_issue(&d, &c, *id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let issues: Vec<Value> = ids
        .iter()
        .map(|id| render::issue(&base, &d, &d.issues[id], fields.as_deref(), true, None))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"expand": "", "issues": issues, "issueErrors": []})))
}

async fn get_issue(
    site: SiteData,
    Caller(c): Caller,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let base = site.base_url();
    let d = site.lock();
    let id = visible_issue(&d, &c, &path)?;
    let mut v = render::issue(
        &base,
        &d,
        &d.issues[&id],
        q(&query, "fields"),
        true,
        q(&query, "expand"),
    );
    if let Some(props) = q(&query, "properties") {
        let issue = &d.issues[&id];
        let mut out = serde_json::Map::new();
        for k in props.split(',').map(str::trim) {
            if let Some(val) = issue.properties.get(k) {
                out.insert(k.to_owned(), val.clone());
            }
        }
        v["properties"] = Value::Object(out);
    }
    Ok(HttpResponse::Ok().json(v))
}

async fn edit_issue(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let v = json_body(&body)?;
    site.edit_issue(&p, &path, &v)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn delete_issue(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    site.delete_issue(&p, &path)?;
    Ok(HttpResponse::NoContent().finish())
}

// ------------------------------------------------------------------ comments

async fn list_comments(
    site: SiteData,
    Caller(c): Caller,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let base = site.base_url();
    let d = site.lock();
    let id = visible_issue(&d, &c, &path)?;
    let issue = &d.issues[&id];
    let start: usize = q(&query, "startAt")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Jira Cloud's default and its cap: at most 100 comments a page, whatever is asked.
    let max: usize = q(&query, "maxResults")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let mut comments: Vec<&crate::model::Comment> = issue.comments.iter().collect();
    if q(&query, "orderBy") == Some("-created") {
        comments.reverse();
    }
    let with_props =
        q(&query, "expand").is_some_and(|e| e.split(',').any(|x| x.trim() == "properties"));
    let page: Vec<Value> = comments
        .iter()
        .skip(start)
        .take(max)
        .map(|c| {
            let mut v = render::comment(&base, &d, issue, c);
            if with_props {
                v["properties"] = Value::Array(
                    c.properties
                        .iter()
                        .map(|(k, val)| json!({"key": k, "value": val}))
                        .collect(),
                );
            }
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"startAt": start, "maxResults": max, "total": issue.comments.len(), "comments": page})))
}

async fn add_comment(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let v = json_body(&body)?;
    Ok(HttpResponse::Created().json(site.add_comment(&p, &path, &v)?))
}

fn comment_id(raw: &str) -> ApiResult<u64> {
    raw.parse()
        .map_err(|_| JiraApiError::bad_request("The comment id must be a number."))
}

async fn get_comment(
    site: SiteData,
    Caller(caller): Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (key, cid) = path.into_inner();
    let cid = comment_id(&cid)?;
    let base = site.base_url();
    let d = site.lock();
    let id = visible_issue(&d, &caller, &key)?;
    let issue = &d.issues[&id];
    let c = issue.comments.iter().find(|c| c.id == cid).ok_or_else(|| {
        JiraApiError::not_found(format!("Can not find a comment for the id: {cid}."))
    })?;
    Ok(HttpResponse::Ok().json(render::comment(&base, &d, issue, c)))
}

async fn update_comment(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (key, cid) = path.into_inner();
    let v = json_body(&body)?;
    Ok(HttpResponse::Ok().json(site.update_comment(&p, &key, comment_id(&cid)?, &v)?))
}

async fn delete_comment(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (key, cid) = path.into_inner();
    site.delete_comment(&p, &key, comment_id(&cid)?)?;
    Ok(HttpResponse::NoContent().finish())
}

// ------------------------------------------------------------------ attachments

/// The files of one upload, spooled to disk while the body arrives; whatever is still here when
/// this is dropped (a malformed body, a refusal, a client gone mid-upload) is deleted.
#[derive(Default)]
struct Spool(Vec<Upload>);

impl Drop for Spool {
    fn drop(&mut self) {
        for f in &self.0 {
            let _ = std::fs::remove_file(&f.path);
        }
    }
}

fn invalid_multipart(e: impl std::fmt::Display) -> JiraApiError {
    JiraApiError::bad_request(format!("Invalid multipart request: {e}"))
}

/// The request body, noting when it has ended.
struct WatchedBody {
    inner: web::Payload,
    ended: Rc<Cell<bool>>,
}

impl futures_util::Stream for WatchedBody {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(None) = next {
            self.ended.set(true);
        }
        next
    }
}

/// The next part, or the next chunk of one. actix-multipart 0.7 can wait forever on some bodies
/// that end early (a part's content followed by a lone CRLF, for one): once the whole body has
/// been read, a parser still waiting for more will never get it, and the body is incomplete.
async fn next_or_incomplete<S, T>(s: &mut S, ended: &Cell<bool>) -> ApiResult<Option<T>>
where
    S: futures_util::Stream<Item = Result<T, actix_multipart::MultipartError>> + Unpin,
{
    futures_util::future::poll_fn(|cx| match s.poll_next_unpin(cx) {
        Poll::Pending if ended.get() => Poll::Ready(Err(invalid_multipart(
            "the body ended before the closing boundary",
        ))),
        Poll::Pending => Poll::Pending,
        Poll::Ready(None) => Poll::Ready(Ok(None)),
        Poll::Ready(Some(Ok(x))) => Poll::Ready(Ok(Some(x))),
        Poll::Ready(Some(Err(e))) => Poll::Ready(Err(invalid_multipart(e))),
    })
    .await
}

/// `POST /rest/api/3/issue/{key}/attachments`. The whole body is received and checked first
/// (files are streamed to disk, not held in memory); only a complete, valid multipart body whose
/// every part is a field `file` stores anything, and then all its files at once.
async fn upload_attachments(
    site: SiteData,
    Caller(p): Caller,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    // Jira refuses multipart uploads without the XSRF opt-out header.
    if req
        .headers()
        .get("X-Atlassian-Token")
        .and_then(|v| v.to_str().ok())
        != Some("no-check")
    {
        return Ok(HttpResponse::Forbidden()
            .content_type("text/plain")
            .body("XSRF check failed"));
    }
    // What would be refused anyway is refused before a possibly large body is received.
    site.may_attach(&p, &path)?;
    std::fs::create_dir_all(&site.attachments_dir)?;
    let mut spool = Spool::default();
    let ended = Rc::new(Cell::new(false));
    let body = WatchedBody {
        inner: payload,
        ended: ended.clone(),
    };
    let mut multipart = actix_multipart::Multipart::new(req.headers(), body);
    while let Some(mut field) = next_or_incomplete(&mut multipart, &ended).await? {
        if field.name() != Some("file") {
            return Err(invalid_multipart("every part must be a field named 'file'").into());
        }
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename().map(str::to_owned))
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "attachment".into());
        let mime_type = field
            .content_type()
            .map(|m| m.essence_str().to_owned())
            .unwrap_or_else(|| "application/octet-stream".into());
        let tmp = site
            .attachments_dir
            .join(format!("upload-{}.part", uuid::Uuid::new_v4()));
        spool.0.push(Upload {
            path: tmp.clone(),
            filename,
            mime_type,
            size: 0,
            sha256: String::new(),
        });
        let mut file = tokio::fs::File::create(&tmp).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = next_or_incomplete(&mut field, &ended).await? {
            hasher.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        drop(file);
        let upload = spool.0.last_mut().expect("just pushed");
        upload.size = size;
        upload.sha256 = hex::encode(hasher.finalize());
    }
    if spool.0.is_empty() {
        return Err(JiraApiError::bad_request(
            "No file was attached: send the file in a multipart field named 'file'.",
        )
        .into());
    }
    let out = site.store_attachments(&p, &path, &spool.0)?;
    Ok(HttpResponse::Ok().json(out))
}

/// People need Browse Projects on the attachment's issue (Jira answers 403 here, not 404).
fn attachment_for(site: &Site, p: &Principal, id: u64) -> ApiResult<Attachment> {
    let d = site.lock();
    let att = d.attachments.get(&id).cloned().ok_or_else(|| {
        JiraApiError::not_found(format!("The attachment with id '{id}' does not exist"))
    })?;
    if !permissions::can_see_issue(&d, p, att.issue_id) {
        return Err(JiraApiError::forbidden(format!(
            "You do not have permission to view attachment with id: {id}."
        )));
    }
    Ok(att)
}

fn attachment_id(raw: &str) -> ApiResult<u64> {
    raw.parse().map_err(|_| {
        JiraApiError::not_found(format!("The attachment with id '{raw}' does not exist"))
    })
}

async fn attachment_meta(
    site: SiteData,
    Caller(c): Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let a = attachment_for(&site, &c, attachment_id(&path)?)?;
    let base = site.base_url();
    let d = site.lock();
    Ok(HttpResponse::Ok().json(render::attachment_metadata(&base, &d, &a)))
}

async fn delete_attachment(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    site.delete_attachment(&p, attachment_id(&path)?)?;
    Ok(HttpResponse::NoContent().finish())
}

fn media_token(site: &Site, id: u64, expires: i64) -> String {
    // A per-attachment signature stands in for Atlassian's media service token.
    let secret = format!("{}:{}", site.name, site.base_url());
    let mac = Sha256::digest(format!("{secret}:{id}:{expires}").as_bytes());
    format!("{expires}.{}", hex::encode(&mac[..16]))
}

async fn attachment_content(
    site: SiteData,
    Caller(c): Caller,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = attachment_id(&path)?;
    let att = attachment_for(&site, &c, id)?;
    if q(&query, "redirect") == Some("false") {
        return stream_file(&site, &att).await;
    }
    let expires = chrono::Utc::now().timestamp() + 300;
    let name =
        percent_encoding::utf8_percent_encode(&att.filename, percent_encoding::NON_ALPHANUMERIC);
    let location = format!(
        "{}/_media/attachment/{id}/{name}?token={}",
        site.base_url(),
        media_token(&site, id, expires)
    );
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish())
}

async fn media_download(
    site: SiteData,
    path: web::Path<(String, String)>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = attachment_id(&path.0)?;
    let token = q(&query, "token").unwrap_or("");
    let expires: i64 = token
        .split('.')
        .next()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    if expires < chrono::Utc::now().timestamp() || media_token(&site, id, expires) != token {
        return Err(JiraApiError::unauthorized().into());
    }
    let att = site
        .lock()
        .attachments
        .get(&id)
        .cloned()
        .ok_or_else(|| JiraApiError::not_found("The attachment does not exist"))?;
    stream_file(&site, &att).await
}

async fn stream_file(site: &Site, att: &Attachment) -> Result<HttpResponse, actix_web::Error> {
    let file = tokio::fs::File::open(site.attachment_path(att.id)).await?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024);
    Ok(HttpResponse::Ok()
        .content_type(att.mime_type.clone())
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", att.filename.replace('"', "")),
        ))
        .body(actix_web::body::SizedStream::new(att.size, stream)))
}

// ------------------------------------------------------------------ properties

async fn list_issue_properties(
    site: SiteData,
    Caller(c): Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let base = site.base_url();
    let d = site.lock();
    let id = visible_issue(&d, &c, &path)?;
    let keys: Vec<Value> = d.issues[&id]
        .properties
        .keys()
        .map(|k| json!({"self": format!("{base}/rest/api/3/issue/{id}/properties/{k}"), "key": k}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"keys": keys})))
}

async fn get_issue_property(
    site: SiteData,
    Caller(c): Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (key, prop) = path.into_inner();
    let d = site.lock();
    let id = visible_issue(&d, &c, &key)?;
    let v = d.issues[&id].properties.get(&prop).ok_or_else(|| {
        JiraApiError::not_found(format!("The property with key '{prop}' does not exist."))
    })?;
    Ok(HttpResponse::Ok().json(json!({"key": prop, "value": v})))
}

async fn set_issue_property(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (key, prop) = path.into_inner();
    let v = json_body(&body)?;
    let created = site.set_issue_property(&p, &key, &prop, v)?;
    Ok(if created {
        HttpResponse::Created().finish()
    } else {
        HttpResponse::Ok().finish()
    })
}

async fn delete_issue_property(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (key, prop) = path.into_inner();
    site.delete_issue_property(&p, &key, &prop)?;
    Ok(HttpResponse::NoContent().finish())
}

/// App properties are readable and writable only by the app itself.
fn own_app(p: &Principal, addon: &str) -> ApiResult<()> {
    match p {
        Principal::App { app_key, .. } if app_key == addon => Ok(()),
        _ => Err(JiraApiError::forbidden(
            "Access to this resource must be authenticated as an app.",
        )),
    }
}

async fn list_app_properties(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    own_app(&p, &path)?;
    let base = site.base_url();
    let d = site.lock();
    let inst = d
        .installation(&path)
        .ok_or_else(|| JiraApiError::not_found("App not found"))?;
    let keys: Vec<Value> = inst
        .properties
        .keys()
        .map(|k| json!({"key": k, "self": format!("{base}/rest/atlassian-connect/1/addons/{}/properties/{k}", path.as_str())}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"keys": keys})))
}

async fn get_app_property(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (addon, prop) = path.into_inner();
    own_app(&p, &addon)?;
    let base = site.base_url();
    let d = site.lock();
    let v = d
        .installation(&addon)
        .and_then(|i| i.properties.get(&prop))
        .ok_or_else(|| JiraApiError::not_found(format!("Property with key not found: {prop}")))?;
    Ok(HttpResponse::Ok().json(json!({"key": prop, "value": v,
        "self": format!("{base}/rest/atlassian-connect/1/addons/{addon}/properties/{prop}")})))
}

async fn set_app_property(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (addon, prop) = path.into_inner();
    own_app(&p, &addon)?;
    let v = json_body(&body)?;
    crate::site::check_property(&prop, &v)?;
    let mut d = site.lock();
    let inst = d
        .installations
        .iter_mut()
        .find(|i| i.app_key == addon)
        .ok_or_else(|| JiraApiError::not_found("App not found"))?;
    let created = inst.properties.insert(prop, v).is_none();
    site.persist(&d);
    Ok(if created {
        HttpResponse::Created().json(json!({"message": "Property created."}))
    } else {
        HttpResponse::Ok().json(json!({"message": "Property updated."}))
    })
}

async fn delete_app_property(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (addon, prop) = path.into_inner();
    own_app(&p, &addon)?;
    let mut d = site.lock();
    let inst = d
        .installations
        .iter_mut()
        .find(|i| i.app_key == addon)
        .ok_or_else(|| JiraApiError::not_found("App not found"))?;
    inst.properties
        .remove(&prop)
        .ok_or_else(|| JiraApiError::not_found(format!("Property with key not found: {prop}")))?;
    site.persist(&d);
    Ok(HttpResponse::NoContent().finish())
}

// ------------------------------------------------------------------ remote links

fn remote_link_json(base: &str, issue_id: u64, l: &crate::model::RemoteLink) -> Value {
    let mut v = json!({"id": l.id, "self": format!("{base}/rest/api/3/issue/{issue_id}/remotelink/{}", l.id), "object": l.object});
    if let Some(g) = &l.global_id {
        v["globalId"] = json!(g);
    }
    if let Some(r) = &l.relationship {
        v["relationship"] = json!(r);
    }
    if let Some(a) = &l.application {
        v["application"] = a.clone();
    }
    v
}

async fn list_remote_links(
    site: SiteData,
    Caller(c): Caller,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let base = site.base_url();
    let d = site.lock();
    let id = visible_issue(&d, &c, &path)?;
    let gid = q(&query, "globalId");
    let links: Vec<Value> = d.issues[&id]
        .remote_links
        .iter()
        .filter(|l| gid.is_none() || l.global_id.as_deref() == gid)
        .map(|l| remote_link_json(&base, id, l))
        .collect();
    Ok(HttpResponse::Ok().json(links))
}

async fn get_remote_link(
    site: SiteData,
    Caller(c): Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (key, lid) = path.into_inner();
    let base = site.base_url();
    let d = site.lock();
    let id = visible_issue(&d, &c, &key)?;
    let l = d.issues[&id]
        .remote_links
        .iter()
        .find(|l| l.id.to_string() == lid)
        .ok_or_else(|| {
            JiraApiError::not_found(format!("No link with id '{lid}' exists on this issue."))
        })?;
    Ok(HttpResponse::Ok().json(remote_link_json(&base, id, l)))
}

async fn add_remote_link(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let v = json_body(&body)?;
    let (out, created) = site.add_remote_link(&p, &path, &v)?;
    Ok(if created {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

async fn delete_remote_link(
    site: SiteData,
    Caller(p): Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (key, lid) = path.into_inner();
    let lid: u64 = lid
        .parse()
        .map_err(|_| JiraApiError::bad_request("The link id must be a number."))?;
    site.delete_remote_link(&p, &key, lid)?;
    Ok(HttpResponse::NoContent().finish())
}

// ------------------------------------------------------------------ search

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    jql: Option<String>,
    next_page_token: Option<String>,
    max_results: Option<usize>,
    #[serde(default)]
    fields: Option<FieldList>,
    expand: Option<String>,
    #[serde(default)]
    properties: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FieldList {
    One(String),
    Many(Vec<String>),
}

async fn search_get(
    site: SiteData,
    Caller(c): Caller,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let r = SearchRequest {
        jql: query.get("jql").cloned(),
        next_page_token: query.get("nextPageToken").cloned(),
        max_results: query.get("maxResults").and_then(|m| m.parse().ok()),
        fields: query.get("fields").map(|f| FieldList::One(f.clone())),
        expand: query.get("expand").cloned(),
        properties: query
            .get("properties")
            .map(|p| p.split(',').map(str::to_owned).collect()),
    };
    search(&site, &c, r)
}

async fn search_post(
    site: SiteData,
    Caller(c): Caller,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let r: SearchRequest = serde_json::from_slice(&body)
        .map_err(|e| JiraApiError::bad_request(format!("Invalid request payload: {e}")))?;
    search(&site, &c, r)
}

/// Issues the caller may not browse are left out, as Jira does.
fn search(site: &Site, caller: &Principal, r: SearchRequest) -> ApiResult<HttpResponse> {
    let jql = r.jql.unwrap_or_default();
    let query = crate::jql::parse(&jql).map_err(JiraApiError::bad_request)?;
    if !query.is_bounded() {
        return Err(JiraApiError::bad_request(
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ));
    }
    let fields = match r.fields {
        Some(FieldList::One(s)) => Some(s),
        Some(FieldList::Many(v)) => Some(v.join(",")),
        None => None,
    };
    let only_ids = fields
        .as_deref()
        .is_none_or(|f| f.trim() == "id" || f.trim() == "key");
    let max = r
        .max_results
        .unwrap_or(50)
        .clamp(1, if only_ids { 5000 } else { 100 });
    let offset: usize = match r.next_page_token.as_deref() {
        None | Some("") => 0,
        Some(t) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| JiraApiError::bad_request("The nextPageToken is invalid."))?,
    };
    let base = site.base_url();
    let d = site.lock();
    let mut ids = query
        .run(&d, chrono::Utc::now())
        .map_err(JiraApiError::bad_request)?;
    ids.retain(|id| permissions::can_see_issue(&d, caller, *id));
    let page: Vec<Value> = ids
        .iter()
        .skip(offset)
        .take(max)
        .map(|id| {
            let i = &d.issues[id];
            let mut v = render::issue(
                &base,
                &d,
                i,
                fields.as_deref().or(Some("id")),
                false,
                r.expand.as_deref(),
            );
            if fields.as_deref().is_some_and(|f| f.trim() == "key") {
                v.as_object_mut().map(|o| o.remove("fields"));
            }
            if let Some(props) = &r.properties {
                let mut out = serde_json::Map::new();
                for k in props.iter().take(5) {
                    if let Some(val) = i.properties.get(k.trim()) {
                        out.insert(k.trim().to_owned(), val.clone());
                    }
                }
                v["properties"] = Value::Object(out);
            }
            v
        })
        .collect();
    let end = offset + page.len();
    let mut out = json!({"issues": page, "isLast": end >= ids.len()});
    if end < ids.len() {
        out["nextPageToken"] =
            json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{end}")));
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn search_removed() -> ApiResult<HttpResponse> {
    Err(JiraApiError::new(
        StatusCode::GONE,
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.",
    ))
}

// ------------------------------------------------------------------ permissions

/// Project or issue ids from a BulkProjectPermissions list: numbers, as Jira takes them (numeric
/// strings are accepted too); nulls and anything else are ignored, as are unknown ids later.
fn id_list(v: Option<&Value>) -> Vec<u64> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| {
            x.as_u64()
                .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
        })
        .collect()
}

/// `POST /rest/api/3/permissions/check`: for each asked project permission, the asked projects
/// and issues on which the user holds it (one grant per permission; one held on none of them
/// is left out).
async fn permissions_check(
    site: SiteData,
    Caller(p): Caller,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let v = json_body(&body)?;
    let target = v
        .get("accountId")
        .and_then(Value::as_str)
        .unwrap_or(p.account_id())
        .to_owned();
    if target != p.account_id() && !auth::is_admin(&site, &p) {
        return Err(JiraApiError::forbidden(
            "You must have the Administer Jira global permission to check the permissions of other users.",
        ));
    }
    let d = site.lock();
    if d.user(&target).is_none() {
        return Err(JiraApiError::field(
            StatusCode::BAD_REQUEST,
            "accountId",
            "Specified user does not exist or you do not have required permissions",
        ));
    }
    let mut global = Vec::new();
    for perm in v
        .get("globalPermissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = perm.as_str() else { continue };
        if !permissions::GLOBAL_PERMISSIONS
            .iter()
            .any(|(k, _)| *k == name)
        {
            return Err(JiraApiError::field(
                StatusCode::BAD_REQUEST,
                "globalPermissions",
                format!("Unrecognized permission: {name}"),
            ));
        }
        if permissions::has_global(&d, &target, name) && !global.contains(&json!(name)) {
            global.push(json!(name));
        }
    }
    // (permission, granted project ids, granted issue ids), in the order first asked.
    type Grant = (String, BTreeSet<u64>, BTreeSet<u64>);
    let mut grants: Vec<Grant> = Vec::new();
    let (mut asked_projects, mut asked_issues) = (BTreeSet::new(), BTreeSet::new());
    for entry in v
        .get("projectPermissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| !e.is_null())
    {
        let names: Vec<&str> = entry
            .get("permissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Err(JiraApiError::field(
                StatusCode::BAD_REQUEST,
                "projectPermissions",
                "At least one project permission must be provided.",
            ));
        }
        if let Some(name) = names
            .iter()
            .find(|n| !permissions::is_project_permission(n))
        {
            return Err(JiraApiError::field(
                StatusCode::BAD_REQUEST,
                "projectPermissions",
                format!("Unrecognized permission: {name}"),
            ));
        }
        // Unknown ids are not granted (Jira ignores invalid ids).
        let projects: Vec<&crate::model::Project> = id_list(entry.get("projects"))
            .into_iter()
            .filter_map(|id| d.projects.iter().find(|p| p.id == id.to_string()))
            .collect();
        let issues: Vec<&crate::model::Issue> = id_list(entry.get("issues"))
            .into_iter()
            .filter_map(|id| d.issues.get(&id))
            .collect();
        asked_projects.extend(projects.iter().map(|p| p.id.clone()));
        asked_issues.extend(issues.iter().map(|i| i.id));
        for name in names {
            let at = match grants.iter().position(|g| g.0 == name) {
                Some(at) => at,
                None => {
                    grants.push((name.to_owned(), BTreeSet::new(), BTreeSet::new()));
                    grants.len() - 1
                }
            };
            for pr in &projects {
                if permissions::holds(&d, &target, pr, name) {
                    grants[at].1.insert(pr.id.parse().unwrap_or_default());
                }
            }
            for i in &issues {
                if permissions::holds_in(&d, &target, &i.project_id, name) {
                    grants[at].2.insert(i.id);
                }
            }
        }
    }
    if asked_projects.len() > 1000 || asked_issues.len() > 1000 {
        return Err(JiraApiError::bad_request(
            "You can check the permissions of up to 1000 projects and 1000 issues.",
        ));
    }
    let project: Vec<Value> = grants
        .into_iter()
        .filter(|(_, projects, issues)| !projects.is_empty() || !issues.is_empty())
        .map(|(name, projects, issues)| json!({"permission": name, "projects": projects, "issues": issues}))
        .collect();
    Ok(
        HttpResponse::Ok()
            .json(json!({"globalPermissions": global, "projectPermissions": project})),
    )
}

/// `GET /rest/api/3/mypermissions`: in the context of an issue (`issueId`, else `issueKey`), a
/// project (`projectId`, else `projectKey`), or globally (a project permission held in any
/// project). A project or issue the caller cannot see answers 404, as Jira does.
async fn my_permissions(
    site: SiteData,
    Caller(p): Caller,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let wanted: Vec<&str> = q(&query, "permissions")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if wanted.is_empty() {
        return Err(JiraApiError::bad_request(
            "The 'permissions' query parameter is required.",
        ));
    }
    let d = site.lock();
    let visible_project = |found: Option<&crate::model::Project>, what: String| {
        found
            .filter(|pr| may(&d, &p, &pr.id, BROWSE))
            .map(|pr| pr.id.clone())
            .ok_or_else(|| {
                JiraApiError::not_found(format!("No project could be found with {what}."))
            })
    };
    let context: Option<String> = if let Some(id) = q(&query, "issueId").or(q(&query, "issueKey")) {
        let issue = visible_issue(&d, &p, id)?;
        Some(d.issues[&issue].project_id.clone())
    } else if let Some(id) = q(&query, "projectId") {
        Some(visible_project(
            d.projects.iter().find(|pr| pr.id == id),
            format!("id '{id}'"),
        )?)
    } else if let Some(key) = q(&query, "projectKey") {
        Some(visible_project(
            d.projects
                .iter()
                .find(|pr| pr.key.eq_ignore_ascii_case(key)),
            format!("key '{key}'"),
        )?)
    } else {
        None
    };
    let me = p.account_id();
    let mut out = serde_json::Map::new();
    for name in wanted {
        let (kind, desc, have) = if let Some((_, desc)) = permissions::GLOBAL_PERMISSIONS
            .iter()
            .find(|(k, _)| *k == name)
        {
            ("GLOBAL", *desc, permissions::has_global(&d, me, name))
        } else if let Some((_, desc)) = permissions::PROJECT_PERMISSIONS
            .iter()
            .find(|(k, _)| *k == name)
        {
            let have = match &context {
                Some(project_id) => permissions::holds_in(&d, me, project_id, name),
                None => d
                    .projects
                    .iter()
                    .any(|pr| permissions::holds(&d, me, pr, name)),
            };
            ("PROJECT", *desc, have)
        } else {
            return Err(JiraApiError::bad_request(format!(
                "Unrecognized permission: {name}"
            )));
        };
        out.insert(name.to_owned(), json!({"id": name, "key": name, "name": desc, "type": kind, "description": desc, "havePermission": have}));
    }
    Ok(HttpResponse::Ok().json(json!({"permissions": out})))
}
