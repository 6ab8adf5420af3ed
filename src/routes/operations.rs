//! Liveness and readiness, for load balancers and orchestrators.

use crate::db::{self, Pool};
use crate::error::{ApiError, Problem};
use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (process up) or `ready` (database reachable).
    #[schema(max_length = 16, example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(
    tag = "operations",
    operation_id = "healthz",
    responses((status = 200, description = "The process is up", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: the database answers a query.
#[utoipa::path(
    tag = "operations",
    operation_id = "readyz",
    responses(
        (status = 200, description = "The database is reachable", body = Health),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(pool: web::Data<Pool>) -> Result<web::Json<Health>, ApiError> {
    db::run(&pool, db::ping).await.map_err(|e| match e {
        ApiError::Unavailable(c) | ApiError::Internal(c) => ApiError::Unavailable(c),
        other => ApiError::Unavailable(other.to_string()),
    })?;
    Ok(web::Json(Health { status: "ready" }))
}
