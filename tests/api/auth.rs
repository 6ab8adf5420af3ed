//! Authentication and roles: which tokens are accepted, what a refusal looks like, and what it leaves in the audit
//! trail. Tokens are crafted here with `jsonwebtoken` (not minted by the service) so every claim can be varied.

use crate::helpers::*;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// Another secret, long enough to be a real one, that the test server does not know.
const OTHER_SECRET: &str = "another-secret-fedcba9876543210fedcba98";

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Claims the service accepts: right issuer and audience, a `sub`, ten minutes to live.
fn claims(sub: &str, roles: &[&str]) -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "roles": roles,
    })
}

/// `claims` with `name` removed.
fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().expect("claims are an object").remove(name);
    claims
}

/// `claims` with `name` set to `value`.
fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("the token signs")
}

fn hs256(claims: &Value, secret: &str) -> String {
    sign(Algorithm::HS256, None, claims, &EncodingKey::from_secret(secret.as_bytes()))
}

fn rsa_key() -> EncodingKey {
    let pem = std::fs::read(fixture("rsa-private.pem")).expect("RSA fixture");
    EncodingKey::from_rsa_pem(&pem).expect("RSA private key")
}

fn ec_key() -> EncodingKey {
    let pem = std::fs::read(fixture("ec-private.pem")).expect("EC fixture");
    EncodingKey::from_ec_pem(&pem).expect("EC private key")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn header_of(res: &reqwest::Response, name: &str) -> String {
    res.headers().get(name).unwrap_or_else(|| panic!("{name} header")).to_str().expect("ASCII header").to_owned()
}

/// GET `path` with `authorization` as the raw `Authorization` header (none when `None`).
async fn get_raw(app: &TestApp, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(value) = authorization {
        req = req.header("Authorization", value);
    }
    req.send().await.expect("request sent")
}

/// Asserts a 401 problem carrying a `WWW-Authenticate: Bearer` challenge, and returns its body.
async fn assert_unauthorized(res: reqwest::Response) -> Value {
    let challenge = header_of(&res, "www-authenticate");
    assert!(challenge.starts_with("Bearer"), "WWW-Authenticate was {challenge}");
    assert_eq!(header_of(&res, "cache-control"), "no-store");
    let body = problem(res, 401).await;
    assert_eq!(body["title"], "Authentication required", "{body}");
    assert!(body["type"].as_str().unwrap_or("").ends_with("/unauthorized"), "{body}");
    body
}

/// Sends `authorization` to an endpoint any token may use (`/me`) and to one that audits refusals
/// (`/audit-events`): both must answer 401 with a detail mentioning `reason`, and nothing may be audited.
async fn assert_refused(app: &TestApp, authorization: Option<&str>, reason: &str) {
    for path in ["/api/v1/me", "/api/v1/audit-events"] {
        let body = assert_unauthorized(get_raw(app, path, authorization).await).await;
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.contains(reason), "{path}: detail {detail:?} should mention {reason:?}");
    }
    assert_eq!(app.count("audit_events"), 0, "a 401 writes no audit row");
}

async fn assert_bearer_refused(app: &TestApp, token: &str, reason: &str) {
    assert_refused(app, Some(&format!("Bearer {token}")), reason).await;
}

/// GET /api/v1/me with `token`: asserts 200 with exactly `expected` as the body.
async fn assert_me(app: &TestApp, token: &str, expected: Value) {
    let res = app.get("/api/v1/me", token).send().await.expect("sent");
    assert_eq!(res.status().as_u16(), 200);
    assert!(header_of(&res, "content-type").starts_with("application/json"));
    assert_eq!(header_of(&res, "cache-control"), "no-store");
    assert!(!header_of(&res, "x-request-id").is_empty());
    assert!(res.headers().get("www-authenticate").is_none());
    let body: Value = res.json().await.expect("JSON body");
    assert_eq!(body, expected);
}

// ---- accepted tokens --------------------------------------------------------------------------------------------

#[actix_web::test]
async fn me_answers_a_valid_minted_token() {
    let app = spawn_app().await;
    let token = app.token("vso-0001", &["vso"]);
    assert_me(&app, &token, json!({"sub": "vso-0001", "roles": ["vso"]})).await;
    assert_eq!(app.count("audit_events"), 0, "/me is not audited");
}

#[actix_web::test]
async fn me_answers_a_crafted_token_and_ignores_unknown_roles() {
    let app = spawn_app().await;
    let token = hs256(&claims("vso-0002", &["vso", "teacher"]), TEST_SECRET);
    assert_me(&app, &token, json!({"sub": "vso-0002", "roles": ["vso"]})).await;
}

#[actix_web::test]
async fn a_token_with_only_unknown_roles_may_use_me_but_nothing_else() {
    let app = spawn_app().await;
    let token = hs256(&claims("user-0001", &["teacher", "VS_ADMIN"]), TEST_SECRET);
    assert_me(&app, &token, json!({"sub": "user-0001", "roles": []})).await;

    let res = app.get("/api/v1/audit-events", &token).send().await.expect("sent");
    let request_id = header_of(&res, "x-request-id");
    assert!(res.headers().get("www-authenticate").is_none());
    let body = problem(res, 403).await;
    assert!(body["type"].as_str().unwrap_or("").ends_with("/forbidden"), "{body}");
    assert_eq!(
        app.audit_rows(),
        vec![("user-0001".to_owned(), "GET /api/v1/audit-events".to_owned(), "denied".to_owned(), None, request_id,)]
    );
}

#[actix_web::test]
async fn vs_admin_may_list_the_audit_trail_and_the_listing_is_audited() {
    let app = spawn_app().await;
    let token = hs256(&claims("vsa-0001", &["vs_admin"]), TEST_SECRET);
    let res = app.get("/api/v1/audit-events", &token).send().await.expect("sent");
    assert_eq!(res.status().as_u16(), 200);
    assert!(header_of(&res, "content-type").starts_with("application/json"));
    assert_eq!(header_of(&res, "cache-control"), "no-store");
    let request_id = header_of(&res, "x-request-id");
    let body: Value = res.json().await.expect("JSON body");
    assert!(body["next_cursor"].is_null(), "{body}");
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "only the listing itself: {body}");
    assert_eq!(items[0]["actor_id"], "vsa-0001");
    assert_eq!(items[0]["actor_roles"], json!(["vs_admin"]));
    assert_eq!(items[0]["action"], "audit_event.list");
    assert_eq!(items[0]["outcome"], "allowed");
    assert_eq!(items[0]["request_id"], request_id.as_str());
    assert_eq!(
        app.audit_rows(),
        vec![("vsa-0001".to_owned(), "audit_event.list".to_owned(), "allowed".to_owned(), None, request_id,)]
    );
}

#[actix_web::test]
async fn vso_may_not_list_the_audit_trail_and_the_refusal_is_audited() {
    let app = spawn_app().await;
    let token = hs256(&claims("vso-0003", &["vso"]), TEST_SECRET);
    let res = app.get("/api/v1/audit-events", &token).send().await.expect("sent");
    let request_id = header_of(&res, "x-request-id");
    assert_eq!(header_of(&res, "cache-control"), "no-store");
    assert!(res.headers().get("www-authenticate").is_none());
    let body = problem(res, 403).await;
    assert_eq!(body["title"], "Forbidden");
    assert!(body["type"].as_str().unwrap_or("").ends_with("/forbidden"), "{body}");
    assert_eq!(
        app.audit_rows(),
        vec![("vso-0003".to_owned(), "audit_event.list".to_owned(), "denied".to_owned(), None, request_id,)]
    );
}

// ---- refused tokens: 401, a Bearer challenge, and nothing audited -------------------------------------------------

#[actix_web::test]
async fn no_authorization_header_is_401() {
    let app = spawn_app().await;
    assert_refused(&app, None, "bearer token is required").await;
}

#[actix_web::test]
async fn basic_credentials_are_401() {
    let app = spawn_app().await;
    assert_refused(&app, Some("Basic dnNvLTAwMDE6cGFzc3dvcmQ="), "bearer token").await;
}

#[actix_web::test]
async fn a_malformed_token_is_401() {
    let app = spawn_app().await;
    assert_bearer_refused(&app, "abc.def", "malformed").await;
}

#[actix_web::test]
async fn an_alg_none_token_is_401() {
    let app = spawn_app().await;
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(claims("vsa-0002", &["vs_admin"]).to_string().as_bytes());
    assert_bearer_refused(&app, &format!("{header}.{payload}."), "malformed").await;
}

#[actix_web::test]
async fn a_token_signed_with_another_secret_is_401() {
    let app = spawn_app().await;
    let token = hs256(&claims("vsa-0003", &["vs_admin"]), OTHER_SECRET);
    assert_bearer_refused(&app, &token, "signature").await;
}

#[actix_web::test]
async fn an_expired_token_is_401() {
    let app = spawn_app().await;
    let past = now() - 600;
    let c = with(claims("vso-0004", &["vso"]), "exp", json!(past));
    let c = with(c, "iat", json!(past - 600));
    let c = with(c, "nbf", json!(past - 600));
    assert_bearer_refused(&app, &hs256(&c, TEST_SECRET), "expired").await;
}

#[actix_web::test]
async fn a_token_not_valid_yet_is_401() {
    let app = spawn_app().await;
    let c = with(claims("vso-0005", &["vso"]), "nbf", json!(now() + 600));
    let c = with(c, "exp", json!(now() + 1200));
    assert_bearer_refused(&app, &hs256(&c, TEST_SECRET), "not valid yet").await;
}

#[actix_web::test]
async fn a_token_from_another_issuer_is_401() {
    let app = spawn_app().await;
    let c = with(claims("vso-0006", &["vso"]), "iss", json!("someone-else"));
    assert_bearer_refused(&app, &hs256(&c, TEST_SECRET), "issuer").await;
}

#[actix_web::test]
async fn a_token_for_another_audience_is_401() {
    let app = spawn_app().await;
    let c = with(claims("vso-0007", &["vso"]), "aud", json!("another-api"));
    assert_bearer_refused(&app, &hs256(&c, TEST_SECRET), "audience").await;
}

#[actix_web::test]
async fn a_token_without_sub_is_401() {
    let app = spawn_app().await;
    let c = without(claims("vso-0008", &["vso"]), "sub");
    assert_bearer_refused(&app, &hs256(&c, TEST_SECRET), "sub").await;
}

#[actix_web::test]
async fn a_token_without_exp_is_401() {
    let app = spawn_app().await;
    let c = without(claims("vso-0009", &["vso"]), "exp");
    assert_bearer_refused(&app, &hs256(&c, TEST_SECRET), "exp").await;
}

// ---- public keys: RS256 / ES256 from a JWKS or a PEM file -------------------------------------------------------

async fn spawn_with_jwks() -> TestApp {
    spawn_app_with(|c| c.jwt.public_keys = Some(fixture("jwks.json"))).await
}

async fn spawn_with_rsa_pem() -> TestApp {
    spawn_app_with(|c| c.jwt.public_keys = Some(fixture("rsa-public.pem"))).await
}

#[actix_web::test]
async fn jwks_accepts_rs256_with_kid_rsa_1() {
    let app = spawn_with_jwks().await;
    let token = sign(Algorithm::RS256, Some("rsa-1"), &claims("vso-0010", &["vso"]), &rsa_key());
    assert_me(&app, &token, json!({"sub": "vso-0010", "roles": ["vso"]})).await;
}

#[actix_web::test]
async fn jwks_accepts_es256_with_kid_ec_1() {
    let app = spawn_with_jwks().await;
    let token = sign(Algorithm::ES256, Some("ec-1"), &claims("vsa-0004", &["vs_admin"]), &ec_key());
    assert_me(&app, &token, json!({"sub": "vsa-0004", "roles": ["vs_admin"]})).await;
}

#[actix_web::test]
async fn jwks_refuses_an_unknown_kid() {
    let app = spawn_with_jwks().await;
    let token = sign(Algorithm::RS256, Some("nope"), &claims("vso-0011", &["vso"]), &rsa_key());
    assert_bearer_refused(&app, &token, "key id").await;
}

#[actix_web::test]
async fn jwks_refuses_hs256_signed_with_the_shared_secret() {
    // The test configuration still holds TEST_SECRET; with public keys configured it must not verify anything.
    let app = spawn_with_jwks().await;
    let c = claims("vsa-0005", &["vs_admin"]);
    // Without a kid it matches no key of the two (which reason is reported is not pinned).
    assert_bearer_refused(&app, &hs256(&c, TEST_SECRET), "").await;
    // Naming a configured key does not let the token choose HS256 either.
    let token = sign(Algorithm::HS256, Some("rsa-1"), &c, &EncodingKey::from_secret(TEST_SECRET.as_bytes()));
    assert_bearer_refused(&app, &token, "algorithm").await;
}

#[actix_web::test]
async fn jwks_refuses_hs256_keyed_with_the_rsa_public_key() {
    // The classic algorithm-confusion attack: an HMAC "signed" with the public key the server verifies with.
    let app = spawn_with_jwks().await;
    let public = std::fs::read(fixture("rsa-public.pem")).expect("RSA public fixture");
    let token =
        sign(Algorithm::HS256, Some("rsa-1"), &claims("vsa-0006", &["vs_admin"]), &EncodingKey::from_secret(&public));
    assert_bearer_refused(&app, &token, "algorithm").await;
}

#[actix_web::test]
async fn jwks_refuses_a_token_whose_algorithm_does_not_match_its_key() {
    let app = spawn_with_jwks().await;
    let token = sign(Algorithm::ES256, Some("rsa-1"), &claims("vso-0012", &["vso"]), &ec_key());
    assert_bearer_refused(&app, &token, "algorithm").await;
}

#[actix_web::test]
async fn jwks_still_checks_the_claims() {
    let app = spawn_with_jwks().await;
    let c = with(claims("vso-0013", &["vso"]), "aud", json!("another-api"));
    let token = sign(Algorithm::RS256, Some("rsa-1"), &c, &rsa_key());
    assert_bearer_refused(&app, &token, "audience").await;
}

#[actix_web::test]
async fn rsa_pem_accepts_rs256_without_kid() {
    let app = spawn_with_rsa_pem().await;
    let token = sign(Algorithm::RS256, None, &claims("vso-0014", &["vso", "teacher"]), &rsa_key());
    assert_me(&app, &token, json!({"sub": "vso-0014", "roles": ["vso"]})).await;
}

#[actix_web::test]
async fn rsa_pem_refuses_es256() {
    let app = spawn_with_rsa_pem().await;
    let token = sign(Algorithm::ES256, None, &claims("vso-0015", &["vso"]), &ec_key());
    assert_bearer_refused(&app, &token, "algorithm").await;
}
