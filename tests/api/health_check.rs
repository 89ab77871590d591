use crate::helpers::spawn_app;

#[tokio::test]
async fn health_check_answers_200() {
    let app = spawn_app().await;
    let resp = app.get("/health_check", None).await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let app = spawn_app().await;
    let resp = app.get("/no/such/thing", None).await;
    assert_eq!(resp.status().as_u16(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}
