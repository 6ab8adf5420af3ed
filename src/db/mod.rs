//! Storage through diesel: one connection type over SQLite and PostgreSQL, the pool, migrations and repositories.

/// Runs `$body` with `$c` bound to the inner connection of whichever backend `$conn` is, for the few statements
/// diesel's multi-backend cannot express (multi-row inserts, whose SQLite form differs).
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

pub mod audit_repo;
pub mod children_repo;
mod connection;
pub mod idempotency_repo;
pub mod lac_repo;
mod migrate;
pub mod notices_repo;
pub mod notifications_repo;
pub mod peps_repo;
pub mod pp_repo;
pub mod reports_repo;
pub mod schema;

pub use connection::{DbConnection, MultiBackend};
pub use migrate::run_migrations;

use crate::config::DatabaseTarget;
use crate::error::ApiError;
use diesel::r2d2::{self, ManageConnection};
use diesel::{Connection, RunQueryDsl};
use std::time::Duration;

/// The shared connection pool.
pub type Pool = r2d2::Pool<ConnectionManager>;

/// Opens connections for the configured backend, with SQLite's per-connection settings applied.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: DatabaseTarget,
}

impl ConnectionManager {
    /// A manager for `target`.
    pub fn new(target: DatabaseTarget) -> Self {
        Self { target }
    }
}

/// Milliseconds an SQLite connection waits for a lock before reporting busy.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            DatabaseTarget::Postgres(url) => {
                diesel::PgConnection::establish(url).map(DbConnection::Pg).map_err(r2d2::Error::ConnectionError)
            }
            DatabaseTarget::Sqlite(path) => {
                let url = path.to_string_lossy();
                let mut conn = diesel::SqliteConnection::establish(&url).map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the one writer; FULL makes a commit durable before it returns.
                for pragma in [
                    format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"),
                    "PRAGMA journal_mode = WAL".to_owned(),
                    "PRAGMA synchronous = FULL".to_owned(),
                    "PRAGMA foreign_keys = ON".to_owned(),
                ] {
                    diesel::sql_query(pragma).execute(&mut conn).map_err(r2d2::Error::QueryError)?;
                }
                children_repo::register_unicode_lower(&mut conn).map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        diesel::r2d2::R2D2Connection::ping(conn).map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Builds the pool. Connections are not tested on check-out (a broken one is dropped after use instead): measured
/// here, testing each check-out cost a round trip per request and a third of the throughput.
pub fn build_pool(target: &DatabaseTarget, size: u32) -> Result<Pool, r2d2::PoolError> {
    if let DatabaseTarget::Sqlite(path) = target {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // A missing folder is reported by the first connection with a clear message.
            let _ = std::fs::create_dir_all(dir);
        }
    }
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(size.min(4)))
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(5))
        .build(ConnectionManager::new(target.clone()))
}

/// Runs `f` with a pooled connection on the blocking thread pool, so the async workers never wait on the database.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}

/// Takes SQLite's write lock at the start of a transaction, so a read-then-write transaction waits its turn (busy
/// timeout) instead of failing with "database is locked" when another writer committed after its first read.
/// PostgreSQL needs nothing: its row locks and unique indexes do the job.
pub fn begin_write(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        // A write that matches no row still takes the write lock.
        diesel::sql_query("UPDATE children SET version = version WHERE 1 = 0").execute(c)?;
    }
    Ok(())
}

/// How many rows of `columns` columns one multi-row statement may carry: PostgreSQL binds at most 65,535
/// parameters per statement, SQLite (3.32+) 32,766.
pub fn rows_per_statement(conn: &DbConnection, columns: usize) -> usize {
    let binds = match conn {
        DbConnection::Pg(_) => 65_535,
        DbConnection::Sqlite(_) => 32_766,
    };
    (binds / columns.max(1)).max(1)
}

/// One round trip to the database, for readiness checks.
pub fn ping(conn: &mut DbConnection) -> Result<(), ApiError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}
