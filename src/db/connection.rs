//! The connection enum: diesel generates one backend (`MultiBackend`) over both databases, so every repository
//! function is written once.

/// A connection to SQLite or PostgreSQL.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL (production).
    Pg(diesel::PgConnection),
    /// SQLite (the embedded default).
    Sqlite(diesel::SqliteConnection),
}
