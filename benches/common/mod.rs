//! What every benchmark shares: the server's configuration and a PostgreSQL schema that is dropped when the run
//! ends, passed or not.

#![allow(dead_code, reason = "each benchmark uses its own part")]

use diesel::{Connection, RunQueryDsl};
use virtual_school::config::{Config, DatabaseTarget, JwtConfig};

/// The HS256 secret benchmark servers verify with.
pub const SECRET: &str = "bench-secret-0123456789abcdef0123456789";

/// A benchmark server: an ephemeral port, 8 connections, 2 workers, the service's defaults otherwise.
pub fn config(dir: &std::path::Path, target: DatabaseTarget, pinned_today: Option<chrono::NaiveDate>) -> Config {
    Config {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database: target,
        pool_size: 8,
        workers: 2,
        max_body_bytes: virtual_school::config::DEFAULT_MAX_BODY_BYTES,
        jwt: JwtConfig {
            secret: Some(SECRET.into()),
            public_keys: None,
            issuer: "virtual-school".into(),
            audience: "virtual-school-api".into(),
        },
        cursor_secret: None,
        shutdown_timeout_secs: 1,
        max_batch_bytes: virtual_school::config::DEFAULT_MAX_BATCH_BYTES,
        extra_holidays: Vec::new(),
        initial_pep_working_days: 10,
        pep_rules: Default::default(),
        pinned_today,
    }
}

/// A fresh schema on `TEST_DATABASE_URL`, dropped when this is dropped (also when an assertion fails).
pub struct PgSchema {
    admin: String,
    schema: String,
    /// A URL whose connections use the schema.
    pub url: String,
}

impl PgSchema {
    /// A new schema, or `None` when `TEST_DATABASE_URL` is not set.
    pub fn create() -> Option<Self> {
        let admin = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())?;
        let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let mut pg = diesel::PgConnection::establish(&admin).expect("TEST_DATABASE_URL");
        diesel::sql_query(format!("CREATE SCHEMA {schema}")).execute(&mut pg).expect("create schema");
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{sep}options=-csearch_path%3D{schema}");
        Some(Self { admin, schema, url })
    }

    /// The schema as a database target.
    pub fn target(&self) -> DatabaseTarget {
        DatabaseTarget::Postgres(self.url.clone())
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut pg) = diesel::PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema)).execute(&mut pg);
        }
    }
}

/// Says how to include PostgreSQL when it was left out.
pub fn postgres_skipped() {
    println!("postgres   skipped: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to include it");
}
