//! Initiating a connection: the row for this side, then either the "Yes, I have admin access"
//! redirect to the destination or an invitation code for its admin.

use super::*;

impl ConnectionService {
    pub(super) async fn insert_connection(
        &self,
        m: connections::ActiveModel,
    ) -> Result<connections::Model> {
        Ok(m.insert(&self.db).await?)
    }

    fn new_connection(
        &self,
        t: &Tenant,
        name: String,
        status: &str,
        role: &str,
    ) -> connections::ActiveModel {
        let now = Utc::now().fixed_offset();
        connections::ActiveModel {
            uid: Set(uuid::Uuid::new_v4().simple().to_string()),
            tenant_id: Set(t.id),
            name: Set(name),
            mode: Set("basic".into()),
            role: Set(role.into()),
            status: Set(status.into()),
            is_local: Set(false),
            issues_in_sync: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }

    /// "Initiate": a local connection is active at once; otherwise a pending connection and either
    /// the redirect to the destination site ("Yes") or an invitation code ("No").
    pub async fn initiate(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
        req: InitiateRequest,
    ) -> Result<Initiated> {
        self.require_admin(t, account).await?;
        if req.mode != "basic" {
            return Err(ConnectionError::ModeNotAvailable);
        }
        let local_name = self.project_name(t, &req.local_project_key).await?;
        let local_key = req.local_project_key.trim().to_owned();
        let destination = match req
            .destination_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(u) => Some(self.discover(t, u).await?),
            None => None,
        };
        if let Some(d) = destination.as_ref().filter(|d| d.kind == "local") {
            let remote_key = req
                .remote_project_key
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .ok_or(ConnectionError::RemoteProjectRequired)?
                .to_owned();
            if remote_key.eq_ignore_ascii_case(&local_key) {
                return Err(ConnectionError::SameProject);
            }
            let remote_name = self.project_name(t, &remote_key).await?;
            let mut m =
                self.new_connection(t, format!("{local_key}_to_{remote_key}"), "active", "local");
            m.is_local = Set(true);
            m.remote_site_name = Set(Some(self.titles.title(&self.jira, t).await));
            m.local_project_key = Set(Some(local_key));
            m.local_project_name = Set(Some(local_name));
            m.remote_project_key = Set(Some(remote_key));
            m.remote_project_name = Set(Some(remote_name));
            m.remote_site_url = Set(Some(d.destination_url.clone()));
            m.remote_exalate_url = Set(Some(self.exalate_url(t)));
            // Sync messages of a local connection go through the same signed protocol.
            if let sea_orm::ActiveValue::Set(uid) = &m.uid {
                let secret = InvitationCode::generate("").secret;
                m.peer_secret_enc = Set(Some(self.secrets.encrypt(uid, secret.as_bytes())));
            }
            let saved = self.insert_connection(m).await?;
            tracing::info!(site = %t.base_url, connection = %saved.name, "local connection created");
            return Ok(Initiated {
                connection: (&saved).into(),
                redirect_url: None,
                invitation_code: None,
            });
        }
        let remote_label = destination
            .as_ref()
            .map(|d| d.destination_name.clone())
            .unwrap_or_else(|| "invited".into());
        let own_title = self.titles.title(&self.jira, t).await;
        let mut m = self.new_connection(
            t,
            connection_name(&own_title, &remote_label),
            "pending",
            "initiator",
        );
        m.local_project_key = Set(Some(local_key));
        m.local_project_name = Set(Some(local_name));
        m.remote_site_url = Set(destination.as_ref().map(|d| d.destination_url.clone()));
        m.peer_secret_enc = Set(None);
        let saved = self.insert_connection(m).await?;
        tracing::info!(site = %t.base_url, connection = %saved.name, "connection initiated (pending)");
        let code = InvitationCode::generate(&self.base_url);
        let (kind, ttl) = match (&destination, req.admin_access) {
            (Some(_), true) => ("redirect", self.redirect_ttl_secs),
            _ => ("code", self.invitation_ttl_secs),
        };
        let now = Utc::now().fixed_offset();
        inv::ActiveModel {
            connection_id: Set(saved.id),
            code_hash: Set(code.hash()),
            kind: Set(kind.into()),
            expires_at: Set(now + chrono::Duration::seconds(ttl)),
            used_at: Set(None),
            used_by: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        let encoded = code.encode();
        let (redirect_url, invitation_code) = match (kind, &destination) {
            ("redirect", Some(d)) => (
                Some(format!(
                    "{}/plugins/servlet/ac/{}/exalate-accept?ac.request={}",
                    d.destination_url,
                    connect_jwt::encode_rfc3986(&self.app_key),
                    connect_jwt::encode_rfc3986(&encoded)
                )),
                None,
            ),
            _ => (None, Some(encoded)),
        };
        Ok(Initiated {
            connection: (&saved).into(),
            redirect_url,
            invitation_code,
        })
    }
}
