//! Fault injection and counters, switched through `/_emulator/`: 429 with Retry-After, 5xx,
//! latency (per method and path prefix, with a probability), dropped or duplicated webhooks, and
//! Jira's per-issue write limit.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Faults {
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    #[serde(default)]
    pub webhooks: WebhookFaults,
    /// Jira rejects writes to one issue that come too fast (429). `None`: no limit.
    #[serde(default)]
    pub issue_write_limit: Option<IssueWriteLimit>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Applies to requests whose path starts with this (e.g. `/rest/api/3/issue`). Empty: all REST.
    #[serde(default)]
    pub path_prefix: String,
    /// `GET`, `POST`, … or empty for every method.
    #[serde(default)]
    pub method: String,
    /// `app` (requests signed with a Connect JWT), `user` (any other) or empty for both: lets a
    /// test slow the app down without slowing the person it plays.
    #[serde(default)]
    pub principal: String,
    /// `rate_limit` (429 + Retry-After), `error` (status, default 503), or `latency`.
    pub kind: FaultKind,
    /// Chance in [0, 1] that a matching request is affected.
    #[serde(default = "one")]
    pub probability: f64,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Stop after affecting this many requests.
    #[serde(default)]
    pub remaining: Option<u64>,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    RateLimit,
    Error,
    Latency,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookFaults {
    /// Chance that a webhook is never sent.
    #[serde(default)]
    pub drop_probability: f64,
    /// Chance that a webhook is sent twice.
    #[serde(default)]
    pub duplicate_probability: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueWriteLimit {
    pub max_writes: usize,
    pub window_ms: u64,
    #[serde(default = "default_retry")]
    pub retry_after_secs: u64,
}

fn default_retry() -> u64 {
    1
}

/// What a fault rule decided for one request.
pub enum Injected {
    None,
    Delay(Duration),
    Respond {
        status: u16,
        retry_after: Option<u64>,
    },
}

#[derive(Default)]
pub struct FaultState {
    pub faults: Mutex<Faults>,
    issue_writes: Mutex<HashMap<u64, VecDeque<Instant>>>,
}

impl FaultState {
    pub fn decide(&self, method: &str, path: &str, by_app: bool) -> Vec<Injected> {
        let mut faults = self.faults.lock().expect("faults lock");
        let mut out = Vec::new();
        let mut rng = rand::thread_rng();
        for rule in faults.rules.iter_mut() {
            if !path.starts_with(&rule.path_prefix)
                || (!rule.method.is_empty() && !rule.method.eq_ignore_ascii_case(method))
                || (rule.principal == "app" && !by_app)
                || (rule.principal == "user" && by_app)
                || rule.remaining == Some(0)
                || rng.gen::<f64>() >= rule.probability
            {
                continue;
            }
            if let Some(r) = rule.remaining.as_mut() {
                *r -= 1;
            }
            out.push(match rule.kind {
                FaultKind::Latency => {
                    Injected::Delay(Duration::from_millis(rule.latency_ms.unwrap_or(100)))
                }
                FaultKind::RateLimit => Injected::Respond {
                    status: 429,
                    retry_after: Some(rule.retry_after_secs.unwrap_or(1)),
                },
                FaultKind::Error => Injected::Respond {
                    status: rule.status.unwrap_or(503),
                    retry_after: None,
                },
            });
        }
        out
    }

    /// Records a write to an issue; `Some(retry_after)` when it exceeds the per-issue limit.
    pub fn issue_write(&self, issue_id: u64) -> Option<u64> {
        let limit = self
            .faults
            .lock()
            .expect("faults lock")
            .issue_write_limit
            .clone()?;
        let mut writes = self.issue_writes.lock().expect("writes lock");
        let q = writes.entry(issue_id).or_default();
        let now = Instant::now();
        let window = Duration::from_millis(limit.window_ms);
        while q.front().is_some_and(|t| now.duration_since(*t) > window) {
            q.pop_front();
        }
        if q.len() >= limit.max_writes {
            return Some(limit.retry_after_secs);
        }
        q.push_back(now);
        None
    }

    pub fn webhook_faults(&self) -> WebhookFaults {
        self.faults.lock().expect("faults lock").webhooks.clone()
    }
}

/// Request and webhook counters, read through `/_emulator/counters`.
#[derive(Default)]
pub struct Counters {
    inner: Mutex<CounterData>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterData {
    /// `METHOD /route/{pattern}` → count.
    pub requests: BTreeMap<String, u64>,
    /// Requests by principal kind (`app:<key>`, `user`, `anonymous`).
    pub by_principal: BTreeMap<String, u64>,
    /// Writes (create/edit/comment/attachment/...) by principal kind.
    pub writes: BTreeMap<String, u64>,
    /// Issue edits that changed nothing (every field already had the value sent), by principal
    /// kind: for an app, an echo of a value it or its twin wrote.
    pub noop_writes: BTreeMap<String, u64>,
    pub webhooks_queued: u64,
    pub webhooks_delivered: u64,
    pub webhooks_failed_attempts: u64,
    pub webhooks_given_up: u64,
    pub webhooks_dropped: u64,
    pub webhooks_duplicated: u64,
    pub faults_injected: u64,
}

impl Counters {
    pub fn update(&self, f: impl FnOnce(&mut CounterData)) {
        f(&mut self.inner.lock().expect("counters lock"));
    }
    pub fn snapshot(&self) -> CounterData {
        self.inner.lock().expect("counters lock").clone()
    }
    pub fn reset(&self) {
        *self.inner.lock().expect("counters lock") = CounterData::default();
    }
}
