//! The extractors handlers take: [`Caller`] for any verified token, [`AuthUser`] for one with a known role.

use super::{AuthError, Authenticator, Role};
use crate::error::ApiError;
use crate::request_context::RequestId;
use crate::services::audit::{AuditLog, NewAuditEvent, Outcome};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

/// The holder of any valid token, whatever its roles.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's `sub`.
    pub sub: String,
    /// The roles this service knows, in a stable order without repeats.
    pub roles: Vec<Role>,
    /// Role names in the token that this service does not know (ignored).
    pub unrecognised_roles: Vec<String>,
    /// The request this caller made.
    pub request_id: String,
}

impl Caller {
    fn from_request(req: &HttpRequest) -> Result<Self, ApiError> {
        let request_id = RequestId::of(req);
        let auth = req
            .app_data::<web::Data<Authenticator>>()
            .ok_or_else(|| ApiError::internal("Authenticator is not registered"))?;
        let verdict = bearer(req).and_then(|token| auth.verify(token));
        let claims = verdict.map_err(|e| {
            log::info!("request_id={request_id} token refused: {e}");
            match e {
                AuthError::Missing => ApiError::Unauthenticated(e.to_string()),
                other => ApiError::Unauthorized(other.to_string()),
            }
        })?;
        let mut roles = Vec::new();
        let mut unrecognised_roles = Vec::new();
        for name in claims.role_names() {
            match Role::parse(&name) {
                Some(r) => roles.push(r),
                None => unrecognised_roles.push(name),
            }
        }
        roles.sort();
        roles.dedup();
        Ok(Self { sub: claims.sub, roles, unrecognised_roles, request_id })
    }
}

fn bearer(req: &HttpRequest) -> Result<&str, AuthError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or(AuthError::Missing)?;
    let value = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    Ok(token.trim())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Caller::from_request(req))
    }
}

/// A verified caller with at least one known role. A token with none is refused with 403 (and the refusal is
/// audited); handlers then state which roles they admit with [`AuthUser::require_any`].
#[derive(Clone)]
pub struct AuthUser {
    /// The token's `sub`.
    pub sub: String,
    /// The known roles, sorted, never empty.
    pub roles: Vec<Role>,
    /// The request's id, for audit events.
    pub request_id: String,
    audit: AuditLog,
}

impl std::fmt::Debug for AuthUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthUser").field("sub", &self.sub).field("roles", &self.roles).finish()
    }
}

impl AuthUser {
    /// Whether the caller holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller holds any of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    /// An audit event by this caller, to be completed with resource and child ids.
    pub fn event(&self, action: &str, resource_type: &str, outcome: Outcome) -> NewAuditEvent {
        NewAuditEvent::new(&self.sub, &self.roles, action, resource_type, outcome, &self.request_id)
    }

    /// The audit log, for handlers that record reads.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Admits the caller if they hold one of `allowed`; otherwise records a denied `action` on `resource_type` and
    /// answers 403.
    pub async fn require_any(&self, allowed: &[Role], action: &str, resource_type: &str) -> Result<(), ApiError> {
        self.require_any_on(allowed, action, resource_type, None).await
    }

    /// [`Self::require_any`] for a named resource: a refusal's audit event names it too.
    pub async fn require_any_on(
        &self,
        allowed: &[Role],
        action: &str,
        resource_type: &str,
        resource_id: Option<&str>,
    ) -> Result<(), ApiError> {
        if self.has_any(allowed) {
            return Ok(());
        }
        let mut event = self.event(action, resource_type, Outcome::Denied);
        if let Some(id) = resource_id {
            event = event.resource(id.to_owned());
        }
        self.audit.record(vec![event]).await?;
        Err(ApiError::Forbidden(format!(
            "this needs one of the roles: {}",
            allowed.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        )))
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req);
        let audit = req.app_data::<web::Data<AuditLog>>().map(|a| a.get_ref().clone());
        // The endpoint names the refusal; finding its template walks the router, so only for a refusal.
        let refused_at = match &caller {
            Ok(c) if c.roles.is_empty() => {
                Some(format!("{} {}", req.method(), req.match_pattern().unwrap_or_else(|| "-".into())))
            }
            _ => None,
        };
        Box::pin(async move {
            let caller = caller?;
            let audit = audit.ok_or_else(|| ApiError::internal("AuditLog is not registered"))?;
            if let Some(endpoint) = refused_at {
                let event =
                    NewAuditEvent::new(&caller.sub, &[], &endpoint, "endpoint", Outcome::Denied, &caller.request_id);
                audit.record(vec![event]).await?;
                return Err(ApiError::Forbidden("the token carries no role this service recognises".into()));
            }
            Ok(AuthUser { sub: caller.sub, roles: caller.roles, request_id: caller.request_id, audit })
        })
    }
}
