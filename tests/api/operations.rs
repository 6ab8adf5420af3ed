//! Health, readiness, request ids, caching headers, Swagger UI and start-up.

use crate::helpers::*;
use virtual_school::config::DatabaseTarget;

#[actix_web::test]
async fn healthz_answers_ok_with_a_generated_request_id() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let rid = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&rid).is_ok(), "generated ids are UUIDs: {rid}");
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"status": "ok"}));
}

#[actix_web::test]
async fn readyz_answers_ready_when_the_database_answers() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "ready");
}

#[actix_web::test]
async fn readyz_answers_503_problem_when_the_database_is_gone() {
    // SQLite is a file in the process, so only PostgreSQL can go away under a running instance. On SQLite this
    // test runs the same server and asserts the ready answer, so it still proves the endpoint.
    let Some(admin) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        let app = spawn_app().await;
        assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), 200);
        return;
    };
    use diesel::RunQueryDsl;
    let name = format!("vs_ready_{}", uuid::Uuid::new_v4().simple());
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut pg_admin(&admin)).unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let app = spawn_app_with(|c| {
        c.database = DatabaseTarget::Postgres(url.clone());
        c.pool_size = 1;
    })
    .await;
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut pg_admin(&admin)).unwrap();
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.headers()["retry-after"], "5");
    let body = problem(res, 503).await;
    assert!(!body["detail"].as_str().unwrap().contains(&name), "no database detail leaks");
}

#[actix_web::test]
async fn a_sane_request_id_is_echoed_and_an_insane_one_replaced() {
    let app = spawn_app().await;
    let token = app.token("vso-0001", &["vso"]);
    let res = app.get("/api/v1/me", &token).header("X-Request-Id", "lcs-batch.42_a").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "lcs-batch.42_a");
    for bad in ["has space", "semi;colon", &"x".repeat(65)] {
        let res = app.get("/api/v1/me", &token).header("X-Request-Id", bad).send().await.unwrap();
        let echoed = res.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(echoed, bad);
        assert!(uuid::Uuid::parse_str(echoed).is_ok());
    }
    // The problem instance is the request id, also for an id the client chose.
    let res = app.client.get(app.url("/api/v1/me")).header("X-Request-Id", "abc-1").send().await.unwrap();
    assert_eq!(problem(res, 401).await["instance"], "abc-1");
}

#[actix_web::test]
async fn every_api_response_is_no_store_including_errors() {
    let app = spawn_app().await;
    let token = app.token("vso-0001", &["vso"]);
    let ok = app.get("/api/v1/me", &token).send().await.unwrap();
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let denied = app.get("/api/v1/audit-events", &token).send().await.unwrap();
    assert_eq!(denied.status(), 403);
    assert_eq!(denied.headers()["cache-control"], "no-store");
    let missing = app.get("/api/v1/nothing-here", &token).send().await.unwrap();
    assert_eq!(missing.headers()["cache-control"], "no-store");
}

#[actix_web::test]
async fn swagger_ui_and_the_spec_are_served() {
    let app = spawn_app().await;
    let ui = app.client.get(app.url("/swagger-ui/")).send().await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
    let init = app.client.get(app.url("/swagger-ui/swagger-initializer.js")).send().await.unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/api-docs/openapi.json"));
    let spec: serde_json::Value =
        app.client.get(app.url("/api-docs/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
}

#[actix_web::test]
async fn two_instances_started_together_on_one_empty_database_both_come_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::fresh(dir.path());
    let first = test_config(dir.path(), db.target.clone());
    let second = test_config(dir.path(), db.target.clone());
    let (a, b) = futures_util::future::join(
        virtual_school::startup::Application::build(first),
        virtual_school::startup::Application::build(second),
    )
    .await;
    let (a, b) = (a.unwrap(), b.unwrap());
    let (pa, pb) = (a.port(), b.port());
    actix_web::rt::spawn(a.run_until_stopped());
    actix_web::rt::spawn(b.run_until_stopped());
    let client = reqwest::Client::new();
    for port in [pa, pb] {
        let res = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    // Each migration was recorded exactly once.
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    let n = diesel::sql_query("SELECT COUNT(*) AS n FROM __diesel_schema_migrations")
        .get_result::<N>(&mut db.conn())
        .unwrap()
        .n;
    let expected = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count();
    assert_eq!(n as usize, expected);
}
