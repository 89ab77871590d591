//! The sync protocol's wire types: the message one side sends for a change of an issue and the
//! answer naming the twin, with the checks that keep the other organisation's words out of Jira.

use super::replica::{Field, Replica};
use super::SyncError;
use serde::{Deserialize, Serialize};

/// One message of the sync protocol (`POST /peer/connections/{uid}/sync`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncMessage {
    pub seq: i64,
    pub sender_site_url: String,
    pub sender_issue_id: String,
    pub sender_issue_key: String,
    pub sender_project_key: String,
    pub replica: Replica,
    pub changed: Vec<Field>,
    /// The sender's issue was deleted: the pair stops syncing (the twin itself stays).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncAck {
    pub twin_id: String,
    pub twin_key: String,
    pub twin_url: String,
}

/// A Jira project key: a capital letter, then capitals, digits or `_`.
pub(super) fn is_project_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A Jira issue key: a project key, a dash and a number.
pub(super) fn is_issue_key(key: &str) -> bool {
    key.split_once('-')
        .is_some_and(|(project, number)| is_project_key(project) && is_jira_id(number))
}

/// A Jira id (of an issue, a comment, an attachment): a number.
pub(super) fn is_jira_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.chars().all(|c| c.is_ascii_digit())
}

impl SyncMessage {
    /// Why the other side's message must not be applied, if it must not: what it says about
    /// its issue ends up in links and the issue panel, and its rich text in Jira.
    pub(super) fn refusal(&self) -> Option<SyncError> {
        if !is_jira_id(&self.sender_issue_id)
            || !is_issue_key(&self.sender_issue_key)
            || !is_project_key(&self.sender_project_key)
        {
            return Some(SyncError::Invalid(
                "the sender's issue id, key or project is not one Jira makes".into(),
            ));
        }
        // Ids of comments and attachments go into requests to Jira and to the other node.
        let r = &self.replica;
        if !r.comments.iter().all(|c| is_jira_id(&c.id))
            || !r.attachments.iter().all(|a| is_jira_id(&a.id))
        {
            return Some(SyncError::Invalid(
                "a comment or attachment id is not one Jira makes".into(),
            ));
        }
        let why = self.replica.invalid_rich_text()?;
        Some(SyncError::InvalidRichText(format!(
            "{}: {why}",
            self.sender_issue_key
        )))
    }
}

impl SyncAck {
    /// Why the other side's answer must not be recorded, if it must not: its link is shown in the
    /// issue panel and in a Jira remote link, so it must be the twin's page on the connected site
    /// (`site`), never another address or a `javascript:` URL.
    pub(super) fn refusal(&self, site: &str) -> Option<String> {
        let page = format!("{}/browse/{}", site.trim_end_matches('/'), self.twin_key);
        let ok = is_jira_id(&self.twin_id) && is_issue_key(&self.twin_key) && self.twin_url == page;
        (!ok).then(|| {
            format!(
                "the other side answered a twin that is not an issue of {site} ({:?}, {:?})",
                self.twin_key, self.twin_url
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ids_are_what_jira_makes() {
        for good in ["TEST-1", "A_B2-10045", "X-9"] {
            assert!(is_issue_key(good), "{good}");
        }
        for bad in [
            "test-1",
            "1TEST-1",
            "TEST-",
            "TEST-1a",
            "TEST",
            "TE ST-1",
            "TEST-1-2",
            "",
            "../-1",
            "TEST-1\"><script>",
        ] {
            assert!(!is_issue_key(bad), "{bad}");
        }
        assert!(is_jira_id("10001"));
        assert!(!is_jira_id("10001 OR 1=1") && !is_jira_id(""));
    }

    #[test]
    fn an_answer_must_point_at_the_twins_page_on_the_connected_site() {
        let ack = |id: &str, key: &str, url: &str| SyncAck {
            twin_id: id.into(),
            twin_key: key.into(),
            twin_url: url.into(),
        };
        let site = "https://beta.atlassian.net";
        let good = ack("10001", "SUP-1", "https://beta.atlassian.net/browse/SUP-1");
        assert_eq!(good.refusal(site), None);
        assert_eq!(good.refusal("https://beta.atlassian.net/"), None);
        for bad in [
            ack("10001", "SUP-1", "javascript:alert(document.cookie)"),
            ack("10001", "SUP-1", "https://evil.example/browse/SUP-1"),
            ack("10001", "SUP-1", "https://beta.atlassian.net/browse/SUP-2"),
            ack(
                "10001",
                "SUP-1\"><img src=x>",
                "https://beta.atlassian.net/browse/SUP-1\"><img src=x>",
            ),
            ack("x", "SUP-1", "https://beta.atlassian.net/browse/SUP-1"),
        ] {
            assert!(bad.refusal(site).is_some(), "{bad:?}");
        }
    }
}
