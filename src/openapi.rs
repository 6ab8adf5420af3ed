//! The OpenAPI 3.1 document, generated from the handlers registered in [`crate::routes::configure`].

use crate::error::{FieldError, Problem, PROBLEM_JSON};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

/// Name of the security scheme every `/api/v1` operation requires.
pub const BEARER: &str = "bearer_auth";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Virtual School API",
        description = "The virtual school roll for the children a council looks after: children, LAC status changes \
from LCS, Personal Education Plans from the ePEP provider, Pupil Premium Plus, notifications, dashboard reports and \
an audit trail.\n\nEvery `/api/v1` operation needs `Authorization: Bearer <JWT>`; use the Authorize button with a \
token from `virtual-school token --sub ID --role ROLE`. Errors are `application/problem+json` (RFC 9457) whose \
`instance` is the request id also sent as `X-Request-Id`.",
        contact(name = "Virtual School service team", email = "virtual-school@example.org", url = "https://virtual-school.example"),
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "auth", description = "Check a token"),
        (name = "children", description = "The virtual school roll"),
        (name = "lac-status", description = "LCS weekly lists of LAC status changes, and each child's timeline"),
        (name = "notices", description = "What social workers tell the Virtual School about a child"),
        (name = "notifications", description = "Each person's notifications, and the vs_admin team's"),
        (name = "peps", description = "Personal Education Plans pushed by the ePEP provider on sign-off"),
        (name = "pupil-premium-plus", description = "Pupil Premium Plus budgets, requests, decisions, payments and impact"),
        (name = "reports", description = "Aggregates for dashboards, as JSON or CSV: no names, UPNs, dates of birth or child ids"),
        (name = "audit", description = "The audit trail (UK GDPR accountability)"),
        (name = "operations", description = "Liveness and readiness"),
    )
)]
struct ApiDoc;

/// The document the service serves and `virtual-school openapi` prints.
pub fn document() -> Document {
    let (_, paths) = actix_web::App::new().into_utoipa_app().configure(crate::routes::configure).split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.merge(paths);
    secure_api_operations(&mut doc);
    doc
}

/// Every `/api/v1` operation takes a bearer token and can answer 401, 403 (all but `getMe`), 500 and 503; stating
/// them here once keeps each handler's list to what is particular to it.
fn secure_api_operations(doc: &mut Document) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("A JWT with `sub` and `roles`; see the README for roles and development tokens."))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let api = path.starts_with("/api/v1");
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            if api {
                op.security = Some(vec![SecurityRequirement::new::<_, _, &str>(BEARER, [])]);
                add_problem(op, "401", "No valid bearer token (see `WWW-Authenticate`)");
                if op.operation_id.as_deref() != Some("getMe") {
                    add_problem(op, "403", "The token's roles do not allow this");
                }
                add_problem(op, "503", "The database is not reachable");
            }
            add_problem(op, "500", "An unexpected error; quote `instance` when reporting it");
            bound_headers_and_text_bodies(op);
        }
    }
}

/// Response headers (`ETag`, `Location`) and raw text bodies (CSV) are strings the derive macros cannot bound;
/// bound them here so every string in the document has a limit.
fn bound_headers_and_text_bodies(op: &mut Operation) {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    fn bound(schema: &mut RefOr<Schema>, max: usize) {
        if let RefOr::T(Schema::Object(obj)) = schema {
            if obj.max_length.is_none() && obj.enum_values.is_none() && obj.pattern.is_none() {
                obj.max_length = Some(max);
            }
        }
    }
    for response in op.responses.responses.values_mut() {
        if let RefOr::T(r) = response {
            for header in r.headers.values_mut() {
                bound(&mut header.schema, 512);
            }
            // CSV reports: one row per group, far below this.
            for (media, content) in r.content.iter_mut() {
                if media.starts_with("text/") {
                    if let Some(schema) = content.schema.as_mut() {
                        bound(schema, 64 * 1024 * 1024);
                    }
                }
            }
        }
    }
    if let Some(body) = op.request_body.as_mut() {
        for (media, content) in body.content.iter_mut() {
            if media.starts_with("text/") {
                if let Some(schema) = content.schema.as_mut() {
                    bound(schema, crate::config::DEFAULT_MAX_BATCH_BYTES);
                }
            }
        }
    }
}

fn add_problem(op: &mut Operation, status: &str, description: &str) {
    if op.responses.responses.contains_key(status) {
        return;
    }
    let response = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, Content::new(Some(Ref::from_schema_name("Problem"))))
        .build();
    op.responses.responses.insert(status.to_owned(), response.into());
}

/// The document as committed in `openapi/openapi.json`: pretty JSON with a final newline.
pub fn to_pretty_json(doc: &Document) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(doc)?;
    s.push('\n');
    Ok(s)
}
