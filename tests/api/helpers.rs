//! `spawn_app()` and the helpers every test uses.

use diesel::r2d2::ManageConnection;
use diesel::RunQueryDsl;
use std::path::PathBuf;
use std::sync::Arc;
use virtual_school::auth::Authenticator;
use virtual_school::config::{Config, DatabaseTarget, JwtConfig};
use virtual_school::db::{ConnectionManager, DbConnection};
use virtual_school::startup::Application;

/// The HS256 secret every test server verifies with.
pub const TEST_SECRET: &str = "test-secret-0123456789abcdef0123456789";
pub const ISSUER: &str = "virtual-school";
pub const AUDIENCE: &str = "virtual-school-api";

/// Where a test's database lives, so the test can look at it and clean it up.
pub struct TestDb {
    pub target: DatabaseTarget,
    /// PostgreSQL: the admin URL and the schema to drop afterwards.
    pg_cleanup: Option<(String, String)>,
}

impl TestDb {
    /// A fresh database: a new schema on `TEST_DATABASE_URL`, else an SQLite file in `dir`.
    pub fn fresh(dir: &std::path::Path) -> Self {
        match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin) => {
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = pg_admin(&admin);
                diesel::sql_query(format!("CREATE SCHEMA {schema}")).execute(&mut conn).unwrap();
                let sep = if admin.contains('?') { '&' } else { '?' };
                let url = format!("{admin}{sep}options=-csearch_path%3D{schema}");
                Self { target: DatabaseTarget::Postgres(url), pg_cleanup: Some((admin, schema)) }
            }
            None => Self { target: DatabaseTarget::Sqlite(dir.join("test.db")), pg_cleanup: None },
        }
    }

    /// A new connection to the test's database.
    pub fn conn(&self) -> DbConnection {
        ConnectionManager::new(self.target.clone()).connect().unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, schema)) = &self.pg_cleanup {
            let mut conn = pg_admin(admin);
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut conn);
        }
    }
}

pub fn pg_admin(url: &str) -> diesel::PgConnection {
    use diesel::Connection;
    diesel::PgConnection::establish(url).expect("TEST_DATABASE_URL must be reachable")
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub auth: Arc<Authenticator>,
    pub db: TestDb,
    /// Holds the data folder (and SQLite file) until the test ends.
    _dir: tempfile::TempDir,
}

/// The configuration a test server starts with.
pub fn test_config(dir: &std::path::Path, target: DatabaseTarget) -> Config {
    Config {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database: target,
        pool_size: 4,
        workers: 1,
        max_body_bytes: virtual_school::config::DEFAULT_MAX_BODY_BYTES,
        jwt: JwtConfig {
            secret: Some(TEST_SECRET.into()),
            public_keys: None,
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
        },
        cursor_secret: None,
        shutdown_timeout_secs: 1,
        max_batch_bytes: virtual_school::config::DEFAULT_MAX_BATCH_BYTES,
        extra_holidays: Vec::new(),
        initial_pep_working_days: 10,
        pep_rules: Default::default(),
        pinned_today: None,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the real server with `adjust` applied to the test configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::fresh(dir.path());
    let mut config = test_config(dir.path(), db.target.clone());
    adjust(&mut config);
    start(config, db, dir).await
}

pub async fn start(config: Config, db: TestDb, dir: tempfile::TempDir) -> TestApp {
    let auth = Arc::new(Authenticator::from_config(&config.jwt, &config.data_dir).unwrap());
    let app = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp { base, client: reqwest::Client::new(), auth, db, _dir: dir }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A token for `sub` with `roles`.
    pub fn token(&self, sub: &str, roles: &[&str]) -> String {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        self.auth.mint(sub, &roles, 10).unwrap()
    }

    pub fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(token)
    }

    /// Rows in `table`, read straight from the database.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.db.conn();
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result::<N>(&mut conn).unwrap().n
    }

    /// Audit events as `(actor_id, action, outcome, child_id, request_id)`, oldest first.
    pub fn audit_rows(&self) -> Vec<(String, String, String, Option<String>, String)> {
        use diesel::prelude::*;
        use virtual_school::db::schema::audit_events::dsl::*;
        let mut conn = self.db.conn();
        audit_events.select((actor_id, action, outcome, child_id, request_id)).order(id.asc()).load(&mut conn).unwrap()
    }
}

/// Asserts a problem+json response and returns its body.
pub async fn problem(res: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/problem+json"), "content-type was {ct}");
    let rid = res.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], status, "body status");
    assert_eq!(body["instance"], rid, "instance is the request id");
    for key in ["type", "title", "detail"] {
        assert!(body[key].is_string(), "{key} in {body}");
    }
    body
}

/// Path of a file under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}
