//! Forge: the platform Jira admins install Exalate on today, with this server as the app's Forge
//! Remote. So far: the Forge Invocation Token every call from Forge carries (fit.rs), verified
//! with Forge's published keys (jwks.rs). Endpoints, installations and tokens build on these.

pub mod fit;
pub mod jwks;
