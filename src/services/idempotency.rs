//! Idempotency-Key for creates: a retry with the same key and the same request answers exactly as the first time
//! (status, body, `Location`, `ETag`); the same key with a different request answers 422.

use crate::auth::AuthUser;
use crate::db::idempotency_repo::{self, StoredResponse};
use crate::db::{self, DbConnection, Pool};
use crate::error::ApiError;
use crate::services::audit::truncate_to_micros;
use sha2::Digest;

/// A client's key for one create, and the hash of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    actor_id: String,
    key: String,
    request_hash: String,
}

impl IdempotencyKey {
    /// Reads the `Idempotency-Key` header (1–255 printable characters), binding it to the caller and the request.
    pub fn from_request(
        user: &AuthUser,
        header: Option<&actix_web::http::header::HeaderValue>,
        method: &str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<Option<Self>, ApiError> {
        let Some(value) = header else { return Ok(None) };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| ApiError::BadRequest("Idempotency-Key must be 1 to 255 printable characters".into()))?;
        let body = serde_json::to_vec(body).map_err(ApiError::internal)?;
        let mut hash = sha2::Sha256::new();
        for part in [method.as_bytes(), path.as_bytes(), &body] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        Ok(Some(Self {
            actor_id: user.sub.clone(),
            key: key.to_owned(),
            request_hash: format!("{:x}", hash.finalize()),
        }))
    }

    /// The stored response for this key, if the first request has completed. A different request under the same key
    /// answers 422.
    pub async fn replay(&self, pool: &Pool) -> Result<Option<StoredResponse>, ApiError> {
        let (actor, key) = (self.actor_id.clone(), self.key.clone());
        let stored = db::run(pool, move |conn| Ok(idempotency_repo::find(conn, &actor, &key)?)).await?;
        match stored {
            Some(s) if s.request_hash != self.request_hash => Err(ApiError::Validation {
                detail: "this Idempotency-Key was used for a different request".into(),
                errors: vec![crate::error::FieldError::new(
                    "Idempotency-Key",
                    "already used with another method, path or body; use a new key for a new request",
                )],
            }),
            other => Ok(other),
        }
    }

    /// Stores the response, inside the transaction of the create it answers.
    pub fn store(
        &self,
        conn: &mut DbConnection,
        status: u16,
        body: &impl serde::Serialize,
        location: Option<String>,
        etag: Option<String>,
    ) -> Result<(), ApiError> {
        let row = StoredResponse {
            actor_id: self.actor_id.clone(),
            idempotency_key: self.key.clone(),
            request_hash: self.request_hash.clone(),
            status: i32::from(status),
            body: serde_json::to_string(body).map_err(ApiError::internal)?,
            location,
            etag,
            created_at: truncate_to_micros(chrono::Utc::now().naive_utc()),
        };
        idempotency_repo::insert(conn, &row)?;
        Ok(())
    }
}

/// The stored response as it was first sent.
pub fn respond(stored: StoredResponse) -> actix_web::HttpResponse {
    use actix_web::http::{header, StatusCode};
    let status = StatusCode::from_u16(stored.status as u16).unwrap_or(StatusCode::OK);
    let mut res = actix_web::HttpResponse::build(status);
    res.content_type("application/json").insert_header(("Idempotent-Replayed", "true"));
    if let Some(l) = stored.location {
        res.insert_header((header::LOCATION, l));
    }
    if let Some(e) = stored.etag {
        res.insert_header((header::ETAG, e));
    }
    res.body(stored.body)
}
