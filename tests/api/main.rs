mod cli;
mod descriptor;
mod emulator_roundtrip;
mod health_check;
mod helpers;
mod jira_client;
mod jwt_auth;
mod lifecycle;
