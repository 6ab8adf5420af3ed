//! Stored responses for Idempotency-Key replays.

use super::schema::idempotency_keys;
use super::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored response.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys, treat_none_as_default_value = false)]
pub struct StoredResponse {
    pub actor_id: String,
    pub idempotency_key: String,
    /// SHA-256 of the method, path and body of the first request.
    pub request_hash: String,
    pub status: i32,
    /// The JSON body.
    pub body: String,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The response stored for `actor`'s `key`.
pub fn find(conn: &mut DbConnection, actor: &str, key: &str) -> QueryResult<Option<StoredResponse>> {
    idempotency_keys::table
        .filter(idempotency_keys::actor_id.eq(actor))
        .filter(idempotency_keys::idempotency_key.eq(key))
        .select(StoredResponse::as_select())
        .first(conn)
        .optional()
}

/// Stores a response; a second store of the same key fails with a unique violation.
pub fn insert(conn: &mut DbConnection, row: &StoredResponse) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table).values(row).execute(conn).map(|_| ())
}
