//! Who am I: lets integrators check the token they hold.

use crate::auth::{Caller, Role};
use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

/// The verified identity behind a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The token's `sub`.
    #[schema(max_length = 255, example = "vso-0001")]
    pub sub: String,
    /// The roles this service recognised in the token (unknown names are ignored).
    #[schema(max_items = 7)]
    pub roles: Vec<Role>,
}

/// The caller's `sub` and recognised roles. Answers any valid token, even one with no known role.
#[utoipa::path(
    tag = "auth",
    operation_id = "getMe",
    responses((status = 200, description = "The token is valid", body = Me))
)]
#[get("/me")]
pub async fn get_me(caller: Caller) -> web::Json<Me> {
    web::Json(Me { sub: caller.sub, roles: caller.roles })
}
