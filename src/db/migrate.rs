//! Embedded migrations, one folder per backend with identical names, run at start-up.

use super::DbConnection;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Advisory lock key that serialises migrations across instances ("vs-migr" in ASCII).
const PG_MIGRATION_LOCK: i64 = 0x0076_732d_6d69_6772;

/// Applies pending migrations and returns how many ran.
///
/// On PostgreSQL this holds a session advisory lock, so instances started together against one empty database
/// take turns: the first migrates and the others find nothing pending. On SQLite an immediate transaction does the
/// same job.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    match conn {
        DbConnection::Pg(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})")).execute(pg)?;
            let result = pg.run_pending_migrations(POSTGRES).map(|v| v.len());
            let unlock = diesel::sql_query(format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})")).execute(pg);
            let applied = result?;
            unlock?;
            Ok(applied)
        }
        DbConnection::Sqlite(lite) => lite
            .immediate_transaction(|c| {
                c.run_pending_migrations(SQLITE).map(|v| v.len()).map_err(diesel::result::Error::QueryBuilderError)
            })
            .map_err(Into::into),
    }
}
