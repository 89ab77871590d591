//! Applying attachments: each new file of the other side streamed from its node straight into an
//! upload here (size checked, SHA-256 recorded), files left by a crash adopted, deleted ones deleted.

use crate::sync::message::SyncMessage;
use crate::sync::{store, Result, SyncError, SyncService};
use crate::tenants::Tenant;
use futures_util::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

impl SyncService {
    /// Mirrors the other side's attachments: each new one is streamed from the other node (which
    /// streams it from its Jira) straight into an upload here — never held whole in memory — with
    /// its size checked and its SHA-256 recorded; deleted ones are deleted.
    pub(super) async fn apply_attachments(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        issue_id: &str,
        msg: &SyncMessage,
        // The issue (with its attachment field) when it was just read.
        read: Option<&Value>,
    ) -> Result<()> {
        let links = store::attachment_links(&self.db, t.id, uid, issue_id).await?;
        let client = self.jira.for_tenant(t.clone())?;
        let wanted = &msg.replica.attachments;
        // Files the app uploaded here that no link knows: left by a crash between Jira's upload
        // and our link. A wanted file with the same name and size is adopted, not uploaded again.
        let issue: Value = match read {
            Some(i) => i.clone(),
            None => {
                client
                    .get_json(&format!("/rest/api/3/issue/{issue_id}?fields=attachment"))
                    .await?
            }
        };
        let mut orphans: Vec<(String, String, u64)> = issue["fields"]["attachment"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["author"]["accountType"] == "app")
            .filter_map(|x| {
                Some((
                    x["id"].as_str()?.to_owned(),
                    x["filename"].as_str()?.to_owned(),
                    x["size"].as_u64()?,
                ))
            })
            .filter(|(id, _, _)| !links.iter().any(|l| &l.attachment_id == id))
            .collect();
        for a in wanted
            .iter()
            .filter(|a| !links.iter().any(|l| l.twin_attachment_id == a.id))
        {
            if let Some(pos) = orphans
                .iter()
                .position(|(_, name, size)| *name == a.filename && *size == a.size)
            {
                let (id, _, _) = orphans.remove(pos);
                // Not re-read after the crash: its hash is recorded as unknown.
                store::link_attachment(&self.db, t.id, uid, issue_id, id, &a.id, String::new())
                    .await?;
                continue;
            }
            if a.size > self.max_attachment_bytes {
                tracing::warn!(file = %a.filename, size = a.size, "attachment over the size limit: not synced");
                continue;
            }
            let (node, secret, _) = self.other_node(t, uid).await?;
            let path = format!(
                "/peer/connections/{uid}/issues/{}/attachments/{}",
                msg.sender_issue_id, a.id
            );
            let resp = self
                .peer
                .signed_get(&node, &path, uid, &secret, &t.base_url)
                .await?;
            let hasher = Arc::new(std::sync::Mutex::new((Sha256::new(), 0u64)));
            let h = hasher.clone();
            let stream = resp.bytes_stream().map(move |chunk| {
                if let Ok(c) = &chunk {
                    let mut g = h.lock().expect("hash lock");
                    g.0.update(c);
                    g.1 += c.len() as u64;
                }
                chunk
            });
            let uploaded = client
                .upload_attachment(
                    issue_id,
                    &a.filename,
                    // The other organisation says what the file is: never active content.
                    &safe_content_type(Some(&a.mime_type)),
                    a.size,
                    reqwest::Body::wrap_stream(stream),
                )
                .await?;
            let (hash, bytes) = {
                let g = hasher.lock().expect("hash lock");
                (hex::encode(g.0.clone().finalize()), g.1)
            };
            let new_id = uploaded[0]["id"].as_str().unwrap_or_default().to_owned();
            if bytes != a.size || uploaded[0]["size"].as_u64() != Some(a.size) {
                let _ = client
                    .delete(&format!("/rest/api/3/attachment/{new_id}"))
                    .await;
                return Err(SyncError::Invalid(format!(
                    "{} arrived incomplete ({bytes} of {} bytes)",
                    a.filename, a.size
                )));
            }
            store::link_attachment(&self.db, t.id, uid, issue_id, new_id, &a.id, hash).await?;
        }
        for link in links
            .iter()
            .filter(|l| !wanted.iter().any(|a| a.id == l.twin_attachment_id))
        {
            client
                .delete(&format!("/rest/api/3/attachment/{}", link.attachment_id))
                .await?;
            store::unlink_attachment(&self.db, link).await?;
        }
        Ok(())
    }
}

/// A content type to pass on for a file: the ones a browser would run as active content
/// (HTML, SVG, XML, JavaScript) become `application/octet-stream`.
pub fn safe_content_type(ct: Option<&str>) -> String {
    let Some(ct) = ct.map(str::trim).filter(|c| !c.is_empty()) else {
        return "application/octet-stream".into();
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let active = essence.contains("html")
        || essence.contains("xml")
        || essence.contains("svg")
        || essence.contains("javascript")
        || essence.contains("ecmascript")
        || !essence.contains('/');
    if active {
        "application/octet-stream".into()
    } else {
        essence
    }
}

#[cfg(test)]
mod tests {
    use super::safe_content_type;

    #[test]
    fn active_content_is_never_passed_on() {
        for ct in [
            Some("text/html"),
            Some("text/html; charset=utf-8"),
            Some("image/svg+xml"),
            Some("application/xhtml+xml"),
            Some("text/javascript"),
            Some("nonsense"),
            None,
        ] {
            assert_eq!(safe_content_type(ct), "application/octet-stream", "{ct:?}");
        }
        assert_eq!(safe_content_type(Some("image/png")), "image/png");
        assert_eq!(
            safe_content_type(Some("text/plain; charset=utf-8")),
            "text/plain"
        );
    }
}
