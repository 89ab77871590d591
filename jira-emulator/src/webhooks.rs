//! Webhook delivery as Jira does it: asynchronous, JWT-signed (HS256 with the install's secret,
//! `iss` = clientKey, qsh of the POST), retried with backoff on failure, and — when switched on
//! through the fault API — dropped or duplicated.

use crate::faults::Counters;
use rand::Rng;
use serde_json::Value;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: String,
    pub app_base_url: String,
    pub client_key: String,
    pub shared_secret: String,
    pub body: Value,
}

/// Sends deliveries to the site's worker; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::UnboundedSender<Delivery>,
}

impl Dispatcher {
    pub fn send(&self, d: Delivery) {
        let _ = self.tx.send(d);
    }
}

pub const MAX_ATTEMPTS: u32 = 5;

/// The queue between a site and its delivery worker.
pub fn channel() -> (Dispatcher, mpsc::UnboundedReceiver<Delivery>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Dispatcher { tx }, rx)
}

/// Starts the delivery worker. It holds the site weakly so a dropped site stops it.
pub fn spawn_worker(
    site: Weak<crate::site::Site>,
    mut rx: mpsc::UnboundedReceiver<Delivery>,
    http: reqwest::Client,
) {
    tokio::spawn(async move {
        while let Some(delivery) = rx.recv().await {
            let Some(s) = site.upgrade() else { break };
            let faults = s.faults.webhook_faults();
            let (drop, dup) = {
                let mut rng = rand::thread_rng();
                (
                    rng.gen::<f64>() < faults.drop_probability,
                    rng.gen::<f64>() < faults.duplicate_probability,
                )
            };
            if drop {
                s.counters.update(|c| c.webhooks_dropped += 1);
                continue;
            }
            let copies = if dup {
                s.counters.update(|c| c.webhooks_duplicated += 1);
                2
            } else {
                1
            };
            for _ in 0..copies {
                let http = http.clone();
                let d = delivery.clone();
                let weak = Arc::downgrade(&s);
                tokio::spawn(async move { deliver(weak, http, d).await });
            }
        }
    });
}

async fn deliver(site: Weak<crate::site::Site>, http: reqwest::Client, d: Delivery) {
    for attempt in 0..MAX_ATTEMPTS {
        let now = chrono::Utc::now().timestamp();
        let claims =
            connect_jwt::request_claims(&d.client_key, "POST", &d.url, &d.app_base_url, now, 180);
        let Ok(token) = connect_jwt::mint_hs256(&claims, d.shared_secret.as_bytes()) else {
            return;
        };
        let result = http
            .post(&d.url)
            .header("Authorization", format!("JWT {token}"))
            .header("User-Agent", "Atlassian Webhook HTTP Client")
            .json(&d.body)
            .send()
            .await;
        let Some(s) = site.upgrade() else { return };
        let ok = matches!(&result, Ok(r) if r.status().is_success());
        record(&s.counters, ok);
        if ok {
            return;
        }
        tracing::debug!(url = %d.url, attempt, "webhook delivery failed");
        drop(s);
        tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
    }
    if let Some(s) = site.upgrade() {
        s.counters.update(|c| c.webhooks_given_up += 1);
    }
}

fn record(c: &Counters, ok: bool) {
    c.update(|c| {
        if ok {
            c.webhooks_delivered += 1
        } else {
            c.webhooks_failed_attempts += 1
        }
    });
}
