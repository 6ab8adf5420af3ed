//! The virtual school roll (`/api/v1/children`): create, read, merge-patch, list with filters and cursors, caseload
//! scoping by role, and the audit trail each of those leaves. Every rejected write is also checked in the database:
//! nothing stored, nothing changed.

use crate::helpers::*;
use chrono::{Months, NaiveDate, Utc};
use diesel::RunQueryDsl;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use virtual_school::db::children_repo::{self, Caseload, ChildRow};

/// The DOMAIN.md test vector.
const UPN: &str = "B801200005001";
const CHECK_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// A valid UPN for `serial` (Hillingdon, LA 312), its check letter computed with the DfE rule.
fn upn(serial: u32) -> String {
    let rest = format!("31200002{serial:04}");
    assert_eq!(rest.len(), 12);
    let sum: u32 = rest.bytes().enumerate().map(|(i, b)| u32::from(b - b'0') * (i as u32 + 2)).sum();
    format!("{}{rest}", CHECK_LETTERS[(sum % 23) as usize] as char)
}

#[test]
fn the_upn_helper_reproduces_the_domain_test_vector() {
    let rest = "801200005001";
    let sum: u32 = rest.bytes().enumerate().map(|(i, b)| u32::from(b - b'0') * (i as u32 + 2)).sum();
    assert_eq!(sum, 93);
    assert_eq!(CHECK_LETTERS[(sum % 23) as usize], b'B');
    assert_eq!(upn(1).len(), 13);
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A complete, valid looked-after child, in care and placed since today (so a PEP is due, not overdue, whatever
/// initial timescale the service applies).
fn child(lcs_id: &str) -> Value {
    let since = ymd(today());
    json!({
        "lcs_id": lcs_id,
        "upn": UPN,
        "first_name": "Alex",
        "last_name": "Example",
        "date_of_birth": "2015-03-01",
        "sex": "U",
        "ethnicity": "NOBT",
        "lac_status": "looked_after",
        "looked_after_since": since,
        "legal_status": "C2",
        "placement": {"type": "U1", "provider": "PR1", "out_of_authority": false, "started_on": since},
        "school": {"urn": "100001", "name": "Example Primary School"},
        "year_group": "6",
        "sen_status": "none",
        "vso_id": "vso-0001",
        "social_worker_id": "sw-0001"
    })
}

/// `base` with `changes` merged in (RFC 7396: `null` removes a key).
fn with(mut base: Value, changes: Value) -> Value {
    json_patch::merge(&mut base, &changes);
    base
}

fn admin(app: &TestApp) -> String {
    app.token("admin-0001", &["vs_admin"])
}

fn vso(app: &TestApp) -> String {
    app.token("vso-0001", &["vso"])
}

async fn post_child(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url("/api/v1/children")).bearer_auth(token).json(body).send().await.unwrap()
}

/// Reads a JSON body after checking the status, showing the body when the status is wrong.
async fn json_with(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "status; body: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Creates a child as `vs_admin` and returns the stored child.
async fn create(app: &TestApp, body: &Value) -> Value {
    json_with(post_child(app, &admin(app), body).await, 201).await
}

/// Creates a child and returns its id.
async fn create_id(app: &TestApp, body: &Value) -> String {
    create(app, body).await["id"].as_str().unwrap().to_owned()
}

async fn get_child(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/children/{id}"), token).send().await.unwrap()
}

/// The ETag of a child, read as `vs_admin`.
async fn etag_of(app: &TestApp, id: &str) -> String {
    let res = get_child(app, &admin(app), id).await;
    assert_eq!(res.status(), 200);
    res.headers()["etag"].to_str().unwrap().to_owned()
}

fn patch_req(
    app: &TestApp,
    token: &str,
    id: &str,
    if_match: Option<&str>,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    let mut req = app
        .client
        .patch(app.url(&format!("/api/v1/children/{id}")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req
}

/// A merge patch as `vso` with `If-Match`.
async fn patch(app: &TestApp, id: &str, if_match: &str, body: &Value) -> reqwest::Response {
    patch_req(app, &vso(app), id, Some(if_match), "application/merge-patch+json", body.to_string())
        .send()
        .await
        .unwrap()
}

/// The stored row, straight from the database.
fn row(app: &TestApp, id: &str) -> ChildRow {
    let mut conn = app.db.conn();
    children_repo::find(&mut conn, &Caseload::All, id).unwrap().expect("the child is stored")
}

fn sql(app: &TestApp, statement: &str) {
    let mut conn = app.db.conn();
    diesel::sql_query(statement).execute(&mut conn).unwrap();
}

/// `GET /api/v1/children` with `query`, answered 200.
async fn list(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let res = app.get("/api/v1/children", token).query(query).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store", "a list of children is never cached");
    json_with(res, 200).await
}

fn lcs_ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|c| c["lcs_id"].as_str().unwrap().to_owned()).collect()
}

/// The `lcs_id`s a vs_admin list with `query` answers, in order.
async fn listed(app: &TestApp, query: &[(&str, &str)]) -> Vec<String> {
    let page = list(app, &admin(app), query).await;
    assert!(page["next_cursor"].is_null(), "one page: {query:?}");
    lcs_ids(&page)
}

fn field_names(problem: &Value) -> BTreeSet<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors in {problem}"))
        .iter()
        .map(|e| {
            assert!(e["reason"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
            e["field"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Audit events of one request (by its id), from the database.
/// `(actor_id, action, outcome, child_id, request_id)`, as `TestApp::audit_rows` gives them.
type AuditRow = (String, String, String, Option<String>, String);

/// Query parameters.
type Query<'a> = Vec<(&'a str, &'a str)>;

fn audit_of(app: &TestApp, request_id: &str) -> Vec<AuditRow> {
    app.audit_rows().into_iter().filter(|r| r.4 == request_id).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_vso_creates_a_looked_after_child_201_with_location_etag_and_the_stored_child() {
    let app = spawn_app().await;
    let since = ymd(today());
    let res = post_child(&app, &vso(&app), &child("LCS-000001")).await;
    assert_eq!(res.status(), 201);
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(uuid.get_version_num(), 7, "ids are UUID v7");
    assert_eq!(headers["location"], format!("/api/v1/children/{id}"));
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2, "a strong, quoted entity tag: {etag}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"));
    assert!(headers.contains_key("x-request-id"));

    for (field, value) in [
        ("lcs_id", json!("LCS-000001")),
        ("upn", json!(UPN)),
        ("first_name", json!("Alex")),
        ("last_name", json!("Example")),
        ("date_of_birth", json!("2015-03-01")),
        ("sex", json!("U")),
        ("ethnicity", json!("NOBT")),
        ("lac_status", json!("looked_after")),
        ("looked_after_since", json!(since)),
        ("ceased_on", Value::Null),
        ("legal_status", json!("C2")),
        ("placement", json!({"type": "U1", "provider": "PR1", "out_of_authority": false, "started_on": since})),
        ("school", json!({"urn": "100001", "name": "Example Primary School"})),
        ("year_group", json!("6")),
        ("key_stage", json!("KS2")),
        ("sen_status", json!("none")),
        ("vso_id", json!("vso-0001")),
        ("social_worker_id", json!("sw-0001")),
        ("sen_caseworker_id", Value::Null),
        ("pep_status", json!("due")),
    ] {
        assert_eq!(body[field], value, "{field} in {body}");
    }
    // Whatever initial PEP timescale applies, it runs from the start of care.
    if let Some(due) = body["next_pep_due_on"].as_str() {
        assert!(due >= since.as_str(), "next_pep_due_on {due}");
    }
    for instant in ["created_at", "updated_at"] {
        let t = body[instant].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok() && t.ends_with('Z'), "{instant} is RFC 3339 UTC: {t}");
    }

    // Stored, as answered.
    assert_eq!(app.count("children"), 1);
    let stored = row(&app, &id);
    assert_eq!(stored.lcs_id, "LCS-000001");
    assert_eq!(stored.upn.as_deref(), Some(UPN));
    assert_eq!(stored.placement_type.as_deref(), Some("U1"));
    assert_eq!(stored.school_urn.as_deref(), Some("100001"));
    assert_eq!(stored.version, 1);

    // The creation is audited as a change to that child.
    let rows = app.audit_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "vso-0001");
    assert_eq!(rows[0].1, "child.create");
    assert_eq!(rows[0].2, "allowed");
    assert_eq!(rows[0].3.as_deref(), Some(id.as_str()));

    // The Location answers the same child under the same tag.
    let res = app.get(headers["location"].to_str().unwrap(), &vso(&app)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let read: Value = res.json().await.unwrap();
    assert_eq!(read, body);
}

#[actix_web::test]
async fn a_vs_admin_creates_a_ceased_child_whose_pep_is_not_required() {
    let app = spawn_app().await;
    // Ceased today, with a PEP date already past: a ceased child needs no PEP, so it is not overdue.
    let ceased_on = ymd(today());
    let past = ymd(today().pred_opt().unwrap());
    let body =
        with(child("LCS-000002"), json!({"lac_status": "ceased", "ceased_on": ceased_on, "next_pep_due_on": past}));
    let res = post_child(&app, &admin(&app), &body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers().contains_key("etag"));
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["lac_status"], "ceased");
    assert_eq!(created["ceased_on"], ceased_on.as_str());
    assert_eq!(created["pep_status"], "not_required");
    // Nothing is owed by a child who needs no PEP; the date set stays stored for a return to care.
    assert_eq!(created["next_pep_due_on"], Value::Null);
    assert_eq!(app.count("children"), 1);
    let stored = row(&app, created["id"].as_str().unwrap());
    assert_eq!(stored.lac_status, "ceased");
    assert_eq!(stored.pep_required_on.map(ymd), Some(past));
    assert_eq!(app.audit_rows()[0].0, "admin-0001");
}

#[actix_web::test]
async fn a_minimal_child_gets_the_defaults_and_empty_placement_and_school_objects() {
    let app = spawn_app().await;
    let body = json!({
        "lcs_id": "LCS-000003",
        "first_name": "Sam",
        "last_name": "Sample",
        "date_of_birth": "2012-09-01",
        "sex": "F",
        "looked_after_since": ymd(today())
    });
    let c = create(&app, &body).await;
    assert_eq!(c["lac_status"], "looked_after");
    assert_eq!(c["sen_status"], "none");
    assert_eq!(c["pep_status"], "due");
    assert!(c["upn"].is_null() && c["year_group"].is_null() && c["key_stage"].is_null());
    assert_eq!(c["placement"], json!({"type": null, "provider": null, "out_of_authority": null, "started_on": null}));
    assert_eq!(c["school"], json!({"urn": null, "name": null}));
    assert_eq!(app.count("children"), 1);
}

#[actix_web::test]
async fn key_stage_is_derived_from_every_year_group_band() {
    let app = spawn_app().await;
    let cases = [
        ("N1", "N1", "EYFS"),
        ("N2", "N2", "EYFS"),
        ("r", "R", "EYFS"),
        ("1", "1", "KS1"),
        ("2", "2", "KS1"),
        ("3", "3", "KS2"),
        ("6", "6", "KS2"),
        ("7", "7", "KS3"),
        ("9", "9", "KS3"),
        ("10", "10", "KS4"),
        ("11", "11", "KS4"),
        ("12", "12", "post16"),
        ("14", "14", "post16"),
    ];
    for (i, (sent, stored, key_stage)) in cases.iter().enumerate() {
        let c = create(&app, &with(child(&format!("LCS-KS-{i:02}")), json!({"year_group": sent}))).await;
        assert_eq!(c["year_group"], *stored, "{sent}");
        assert_eq!(c["key_stage"], *key_stage, "{sent}");
    }
    assert_eq!(app.count("children"), cases.len() as i64);
}

#[actix_web::test]
async fn upn_placeholders_un1_to_un5_and_computed_upns_are_accepted() {
    let app = spawn_app().await;
    for (i, code) in ["UN1", "UN2", "UN3", "UN4", "UN5"].iter().enumerate() {
        let c = create(&app, &with(child(&format!("LCS-UN-{i}")), json!({"upn": code}))).await;
        assert_eq!(c["upn"], *code);
    }
    for serial in [1, 42, 987] {
        let u = upn(serial);
        let c = create(&app, &with(child(&format!("LCS-UPN-{serial}")), json!({"upn": u}))).await;
        assert_eq!(c["upn"], u.as_str());
    }
    // Lower case is stored upper-case.
    let c = create(&app, &with(child("LCS-UPN-lower"), json!({"upn": UPN.to_lowercase()}))).await;
    assert_eq!(c["upn"], UPN);
    assert_eq!(app.count("children"), 9);
}

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn one_request_with_many_bad_fields_lists_every_one_and_stores_nothing() {
    let app = spawn_app().await;
    let body = with(
        child("LCS-000010"),
        json!({
            "upn": "C801200005001",
            "sex": "X",
            "ethnicity": "ZZZZ",
            "legal_status": "Q9",
            "date_of_birth": "01/03/2015",
            "year_group": "15",
            "placement": {"type": "U9", "provider": "PR9"},
            "school": {"urn": "12AB"}
        }),
    );
    let res = post_child(&app, &vso(&app), &body).await;
    let p = problem(res, 422).await;
    let expected = set(&[
        "upn",
        "sex",
        "ethnicity",
        "legal_status",
        "date_of_birth",
        "year_group",
        "placement.type",
        "placement.provider",
        "school.urn",
    ]);
    assert_eq!(field_names(&p), expected, "{p}");
    assert_eq!(p["errors"].as_array().unwrap().len(), expected.len());
    assert_eq!(p["title"], "Validation failed");
    assert_eq!(p["detail"], format!("{} fields are invalid", expected.len()));
    assert_eq!(app.count("children"), 0);
    assert!(app.audit_rows().iter().all(|r| r.1 != "child.create"), "nothing created, nothing audited as created");
}

#[actix_web::test]
async fn missing_required_fields_are_each_named() {
    let app = spawn_app().await;
    let p = problem(post_child(&app, &vso(&app), &json!({})).await, 422).await;
    let names = field_names(&p);
    for f in ["lcs_id", "first_name", "last_name", "date_of_birth", "sex"] {
        assert!(names.contains(f), "{f} in {p}");
    }
    // A looked-after child needs the start of the care period.
    let p = problem(
        post_child(&app, &vso(&app), &with(child("LCS-000011"), json!({"looked_after_since": null}))).await,
        422,
    )
    .await;
    assert_eq!(field_names(&p), set(&["looked_after_since"]));
    assert_eq!(app.count("children"), 0);
}

#[actix_web::test]
async fn each_date_and_allocation_rule_answers_422_naming_its_field_and_stores_nothing() {
    let app = spawn_app().await;
    let t = today();
    let tomorrow = ymd(t.succ_opt().unwrap());
    let exactly_25 = ymd(t.checked_sub_months(Months::new(12 * 25)).unwrap());
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "date of birth in the future",
            json!({"date_of_birth": tomorrow, "looked_after_since": null, "placement": {"started_on": null}, "lac_status": "ceased", "ceased_on": null}),
            "date_of_birth",
        ),
        ("a child of 25", json!({"date_of_birth": exactly_25}), "date_of_birth"),
        ("a child of 40", json!({"date_of_birth": "1986-01-01"}), "date_of_birth"),
        ("looked after before birth", json!({"looked_after_since": "2015-02-28"}), "looked_after_since"),
        ("placed before birth", json!({"placement": {"started_on": "2014-12-31"}}), "placement.started_on"),
        ("looked after since a future date", json!({"looked_after_since": tomorrow}), "looked_after_since"),
        ("ceased without ceased_on", json!({"lac_status": "ceased"}), "ceased_on"),
        (
            "ceased before the care period began",
            json!({"lac_status": "ceased", "ceased_on": "2024-12-31"}),
            "ceased_on",
        ),
        (
            "an SEN caseworker for a child without an EHCP",
            json!({"sen_status": "sen_support", "sen_caseworker_id": "sen-0001"}),
            "sen_caseworker_id",
        ),
        ("an SEN caseworker for a child with no SEN", json!({"sen_caseworker_id": "sen-0001"}), "sen_caseworker_id"),
        ("a wrong check letter", json!({"upn": "A801200005001"}), "upn"),
        ("one digit changed", json!({"upn": "B801200005002"}), "upn"),
        ("UN6 is not a placeholder", json!({"upn": "UN6"}), "upn"),
        ("a short UPN", json!({"upn": "B80120000500"}), "upn"),
        ("a short URN", json!({"school": {"urn": "12345"}}), "school.urn"),
        ("lac_status off the list", json!({"lac_status": "adopted"}), "lac_status"),
        ("sen_status off the list", json!({"sen_status": "some"}), "sen_status"),
        ("lower-case sex code", json!({"sex": "m"}), "sex"),
        ("a blank first name", json!({"first_name": "  "}), "first_name"),
        ("an lcs_id with a space", json!({"lcs_id": "LCS 1"}), "lcs_id"),
        ("an impossible date", json!({"ceased_on": "2025-02-30", "lac_status": "ceased"}), "ceased_on"),
        ("a staff id with a space", json!({"social_worker_id": "sw 0001"}), "social_worker_id"),
    ];
    for (what, change, field) in cases {
        let res = post_child(&app, &vso(&app), &with(child("LCS-000012"), change)).await;
        let p = problem(res, 422).await;
        assert!(field_names(&p).contains(field), "{what}: expected {field} in {p}");
        assert_eq!(app.count("children"), 0, "{what}: nothing stored");
    }

    // The boundaries themselves are fine: born today; 25 years less a day; an EHCP with its caseworker.
    let just_under_25 = ymd(t.checked_sub_months(Months::new(12 * 25)).unwrap().succ_opt().unwrap());
    create(
        &app,
        &with(
            child("LCS-000013"),
            json!({"date_of_birth": just_under_25, "looked_after_since": ymd(t), "placement": {"started_on": null}}),
        ),
    )
    .await;
    create(
        &app,
        &with(
            child("LCS-000014"),
            json!({"date_of_birth": ymd(t), "looked_after_since": ymd(t), "placement": {"started_on": ymd(t)}}),
        ),
    )
    .await;
    create(&app, &with(child("LCS-000015"), json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0001"}))).await;
    assert_eq!(app.count("children"), 3);
}

#[actix_web::test]
async fn every_code_on_the_domain_lists_is_accepted() {
    let app = spawn_app().await;
    let ethnicity = [
        "WBRI", "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH", "BCRB",
        "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
    ];
    let legal = ["C1", "C2", "D1", "E1", "J1", "J2", "J3", "L1", "L2", "L3", "V2", "V3", "V4"];
    let place = [
        "A3", "A4", "A5", "A6", "H5", "K1", "K2", "K3", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1", "T0", "T1",
        "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1", "Z11", "Z12", "Z13", "Z14",
    ];
    let provider = ["PR0", "PR1", "PR2", "PR3", "PR4", "PR5"];
    let sex = ["M", "F", "U"];
    let n = place.len();
    for i in 0..n {
        create(
            &app,
            &with(
                child(&format!("LCS-CODE-{i:02}")),
                json!({
                    "ethnicity": ethnicity[i % ethnicity.len()],
                    "legal_status": legal[i % legal.len()],
                    "placement": {"type": place[i], "provider": provider[i % provider.len()]},
                    "sex": sex[i % sex.len()],
                    "school": {"urn": if i % 2 == 0 { "100001" } else { "1000001" }}
                }),
            ),
        )
        .await;
    }
    assert_eq!(app.count("children"), n as i64);
}

// ---------------------------------------------------------------------------------------------------------------
// Framework errors
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn framework_errors_on_create_are_problems_and_store_nothing() {
    let app = spawn_app().await;
    let token = vso(&app);
    let send = |content_type: Option<&'static str>, body: String| {
        let mut req = app.client.post(app.url("/api/v1/children")).bearer_auth(&token).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let valid = child("LCS-000020").to_string();

    let res = send(Some("application/json"), "{\"lcs_id\": ".into()).await.unwrap();
    let p = problem(res, 400).await;
    assert_eq!(p["title"], "Bad request");

    let res = send(Some("application/json"), "[1, 2]".into()).await.unwrap();
    problem(res, 400).await;

    let res = send(Some("application/json"), with(child("LCS-000020"), json!({"favourite_colour": "red"})).to_string())
        .await
        .unwrap();
    let p = problem(res, 400).await;
    assert!(p["detail"].as_str().unwrap().contains("favourite_colour"), "{p}");

    let res =
        send(Some("application/json"), with(child("LCS-000020"), json!({"placement": {"colour": "red"}})).to_string())
            .await
            .unwrap();
    problem(res, 400).await;

    // Server-owned fields are not part of a create either.
    for field in ["id", "key_stage", "pep_status", "created_at"] {
        let mut body = child("LCS-000020");
        body[field] = json!("x");
        let res = send(Some("application/json"), body.to_string()).await.unwrap();
        problem(res, 400).await;
    }

    let res = send(Some("text/plain"), valid.clone()).await.unwrap();
    let p = problem(res, 415).await;
    assert_eq!(p["title"], "Unsupported media type");
    let res = send(None, valid.clone()).await.unwrap();
    problem(res, 415).await;

    // ~1.1 MiB of otherwise valid JSON.
    let big = with(child("LCS-000020"), json!({"school": {"name": "x".repeat(1_150_000)}})).to_string();
    assert!(big.len() > 1024 * 1024);
    let res = send(Some("application/json"), big).await.unwrap();
    let p = problem(res, 413).await;
    assert_eq!(p["title"], "Payload too large");

    // Wrong type for a field.
    let res = send(
        Some("application/json"),
        with(child("LCS-000020"), json!({"placement": {"out_of_authority": "yes"}})).to_string(),
    )
    .await
    .unwrap();
    problem(res, 400).await;

    assert_eq!(app.count("children"), 0);

    // Nothing leaked: the valid body is still accepted afterwards.
    let res = send(Some("application/json"), valid).await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(app.count("children"), 1);
}

#[actix_web::test]
async fn a_path_id_that_is_not_a_uuid_answers_400_problem() {
    let app = spawn_app().await;
    for path in ["/api/v1/children/not-a-uuid", "/api/v1/children/123", "/api/v1/children/LCS-000001"] {
        let res = app.get(path, &vso(&app)).header("X-Request-Id", "bad-path-1").send().await.unwrap();
        let p = problem(res, 400).await;
        assert_eq!(p["instance"], "bad-path-1");
    }
    let res = patch_req(&app, &vso(&app), "not-a-uuid", Some("\"v1-due\""), "application/merge-patch+json", "{}")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
}

#[actix_web::test]
async fn an_unknown_child_answers_404_problem() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();
    let res = get_child(&app, &vso(&app), &id.to_string()).await;
    let p = problem(res, 404).await;
    assert_eq!(p["title"], "Not found");
    let res = patch(&app, &id.to_string(), "*", &json!({"first_name": "Sam"})).await;
    problem(res, 404).await;
    assert_eq!(app.count("children"), 0);
}

#[actix_web::test]
async fn a_duplicate_lcs_id_answers_409_and_keeps_one_child() {
    let app = spawn_app().await;
    let first = create(&app, &child("LCS-000030")).await;
    let res =
        post_child(&app, &vso(&app), &with(child("LCS-000030"), json!({"first_name": "Other", "upn": upn(7)}))).await;
    let p = problem(res, 409).await;
    assert_eq!(p["title"], "Conflict");
    assert!(!p["detail"].as_str().unwrap().to_lowercase().contains("unique constraint"), "no SQL in errors: {p}");
    assert_eq!(app.count("children"), 1);
    assert_eq!(row(&app, first["id"].as_str().unwrap()).first_name, "Alex");
    assert_eq!(
        app.audit_rows().iter().filter(|r| r.1 == "child.create").count(),
        1,
        "the refused create left no creation event"
    );
}

#[actix_web::test]
async fn a_create_replayed_with_its_idempotency_key_answers_as_the_first_time() {
    let app = spawn_app().await;
    let send = |sub: &'static str, key: &'static str, body: Value| {
        app.client
            .post(app.url("/api/v1/children"))
            .bearer_auth(app.token(sub, &["vso"]))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send("vso-0001", "create-1", child("LCS-000032")).await.unwrap();
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let etag = first.headers()["etag"].clone();
    let first: Value = first.json().await.unwrap();

    let again = send("vso-0001", "create-1", child("LCS-000032")).await.unwrap();
    assert_eq!(again.status(), 201, "a replay answers exactly as the first time");
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.headers()["etag"], etag);
    assert_eq!(again.headers()["cache-control"], "no-store");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(app.count("children"), 1);

    // The same key with another body is refused, and stores nothing.
    let res = send("vso-0001", "create-1", with(child("LCS-000033"), json!({"first_name": "Sam"}))).await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(app.count("children"), 1);

    // Keys belong to their caller: another VSO reusing the key gets no copy of the first response.
    let res = send("vso-0002", "create-1", child("LCS-000032")).await.unwrap();
    problem(res, 409).await;
    assert_eq!(app.count("children"), 1);
}

#[actix_web::test]
async fn an_idempotent_replay_is_audited_as_a_disclosure_of_the_child() {
    let app = spawn_app().await;
    let send = |request_id: &'static str| {
        app.client
            .post(app.url("/api/v1/children"))
            .bearer_auth(vso(&app))
            .header("Idempotency-Key", "create-2")
            .header("X-Request-Id", request_id)
            .json(&child("LCS-000034"))
            .send()
    };
    let first = json_with(send("create-2-a").await.unwrap(), 201).await;
    let id = first["id"].as_str().unwrap().to_owned();
    let again = send("create-2-b").await.unwrap();
    assert_eq!(again.status(), 201);
    let rows = audit_of(&app, "create-2-b");
    assert!(
        rows.iter().any(|r| r.0 == "vso-0001" && r.2 == "allowed" && r.3.as_deref() == Some(id.as_str())),
        "the replay sent the child's data again, so it leaves an event naming the child: {rows:?}"
    );
}

#[actix_web::test]
async fn concurrent_creates_of_one_lcs_id_store_exactly_one_child() {
    let app = spawn_app().await;
    let token = vso(&app);
    let body = child("LCS-000031");
    let sends = (0..6).map(|_| post_child(&app, &token, &body));
    let statuses: Vec<u16> = futures_util::future::join_all(sends).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 5, "{statuses:?}");
    assert_eq!(app.count("children"), 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Read and conditional read
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn if_none_match_with_the_current_tag_answers_304_until_the_child_changes() {
    let app = spawn_app().await;
    let id = create_id(&app, &child("LCS-000040")).await;
    let token = vso(&app);
    let res = get_child(&app, &token, &id).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();

    let res = app.get(&format!("/api/v1/children/{id}"), &token).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert!(res.headers().contains_key("x-request-id"));
    assert!(res.bytes().await.unwrap().is_empty(), "a 304 has no body");

    // A list of tags containing the current one matches too; another tag does not.
    let res = app
        .get(&format!("/api/v1/children/{id}"), &token)
        .header("if-none-match", format!("\"nope\", {etag}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let res =
        app.get(&format!("/api/v1/children/{id}"), &token).header("if-none-match", "\"nope\"").send().await.unwrap();
    assert_eq!(res.status(), 200);

    let res = patch(&app, &id, &etag, &json!({"first_name": "Sam"})).await;
    assert_eq!(res.status(), 200);
    let new_tag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_tag, etag);

    let res = app.get(&format!("/api/v1/children/{id}"), &token).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(res.status(), 200, "the old tag no longer matches");
    assert_eq!(res.headers()["etag"].to_str().unwrap(), new_tag);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["first_name"], "Sam");

    let res =
        app.get(&format!("/api/v1/children/{id}"), &token).header("if-none-match", &new_tag).send().await.unwrap();
    assert_eq!(res.status(), 304);
}

#[actix_web::test]
async fn if_none_match_uses_weak_comparison() {
    let app = spawn_app().await;
    let id = create_id(&app, &child("LCS-000041")).await;
    let etag = etag_of(&app, &id).await;
    let res = app
        .get(&format!("/api/v1/children/{id}"), &vso(&app))
        .header("if-none-match", format!("W/{etag}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
}

// ---------------------------------------------------------------------------------------------------------------
// Merge patch
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_merge_patch_leaves_absent_fields_clears_nulls_and_merges_nested_objects() {
    let app = spawn_app().await;
    let created = create(&app, &with(child("LCS-000050"), json!({"next_pep_due_on": "2030-01-01"}))).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let before = row(&app, &id);
    let etag = etag_of(&app, &id).await;

    let res =
        patch(&app, &id, &etag, &json!({"upn": null, "placement": {"provider": "PR2"}, "last_name": "Sample"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let tag2 = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(tag2, etag, "a change gives a new tag");
    let body: Value = res.json().await.unwrap();
    assert!(body["upn"].is_null(), "null clears");
    assert_eq!(body["last_name"], "Sample");
    assert_eq!(
        body["placement"],
        json!({"type": "U1", "provider": "PR2", "out_of_authority": false, "started_on": ymd(today())}),
        "placement.type kept while provider changed"
    );
    // Absent means unchanged.
    for field in [
        "lcs_id",
        "first_name",
        "date_of_birth",
        "sex",
        "ethnicity",
        "lac_status",
        "looked_after_since",
        "legal_status",
        "school",
        "year_group",
        "key_stage",
        "sen_status",
        "vso_id",
        "social_worker_id",
        "next_pep_due_on",
        "created_at",
        "id",
    ] {
        assert_eq!(body[field], created[field], "{field}");
    }
    assert_ne!(body["updated_at"], created["updated_at"]);

    let after = row(&app, &id);
    assert_eq!(after.upn, None);
    assert_eq!(after.placement_provider.as_deref(), Some("PR2"));
    assert_eq!(after.placement_type.as_deref(), Some("U1"));
    assert_eq!(after.last_name, "Sample");
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.created_at, before.created_at);

    // application/json is accepted too; a whole nested object can be cleared.
    let res = patch_req(
        &app,
        &vso(&app),
        &id,
        Some(&tag2),
        "application/json; charset=utf-8",
        json!({"school": null, "year_group": "7"}).to_string(),
    )
    .send()
    .await
    .unwrap();
    let body = json_with(res, 200).await;
    assert_eq!(body["school"], json!({"urn": null, "name": null}));
    assert_eq!(body["year_group"], "7");
    assert_eq!(body["key_stage"], "KS3", "key_stage follows the new year group");
    let after = row(&app, &id);
    assert_eq!(after.school_urn, None);
    assert_eq!(after.school_name, None);
    assert_eq!(after.version, before.version + 2);

    // Ceasing changes the derived PEP status and so the tag.
    let tag3 = etag_of(&app, &id).await;
    let res = patch(&app, &id, &tag3, &json!({"lac_status": "ceased", "ceased_on": ymd(today())})).await;
    let body = json_with(res, 200).await;
    assert_eq!(body["pep_status"], "not_required");
    assert_eq!(app.count("children"), 1);
}

#[actix_web::test]
async fn a_patch_needs_a_current_if_match_428_without_412_when_stale() {
    let app = spawn_app().await;
    let id = create_id(&app, &child("LCS-000051")).await;
    let etag = etag_of(&app, &id).await;
    let before = row(&app, &id);

    let res = patch_req(
        &app,
        &vso(&app),
        &id,
        None,
        "application/merge-patch+json",
        json!({"first_name": "Sam"}).to_string(),
    )
    .send()
    .await
    .unwrap();
    let p = problem(res, 428).await;
    assert_eq!(p["title"], "Precondition required");
    assert_eq!(row(&app, &id), before);

    let res = patch(&app, &id, &etag, &json!({"first_name": "Sam"})).await;
    assert_eq!(res.status(), 200);
    let changed = row(&app, &id);

    // The tag the first writer used is stale now.
    let res = patch(&app, &id, &etag, &json!({"first_name": "Jo"})).await;
    let p = problem(res, 412).await;
    assert_eq!(p["title"], "Precondition failed");
    assert_eq!(row(&app, &id), changed, "a stale write changes nothing");
    assert_eq!(row(&app, &id).first_name, "Sam");
    let res = patch(&app, &id, "\"made-up\"", &json!({"first_name": "Jo"})).await;
    problem(res, 412).await;
    assert_eq!(row(&app, &id), changed);
    // `*` matches whatever the current version is.
    let res = patch(&app, &id, "*", &json!({"first_name": "Jo"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(row(&app, &id).first_name, "Jo");
    assert_eq!(
        app.audit_rows().iter().filter(|r| r.1 == "child.update" && r.2 == "allowed").count(),
        2,
        "only the two changes are recorded"
    );
}

#[actix_web::test]
async fn concurrent_patches_with_one_tag_let_exactly_one_win() {
    let app = spawn_app().await;
    let id = create_id(&app, &child("LCS-000052")).await;
    let etag = etag_of(&app, &id).await;
    let bodies: Vec<Value> = (0..6).map(|i| json!({"first_name": format!("Name{i}")})).collect();
    let sends = bodies.iter().map(|b| patch(&app, &id, &etag, b));
    let statuses: Vec<u16> = futures_util::future::join_all(sends).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 5, "{statuses:?}");
    assert_eq!(row(&app, &id).version, 2);
}

#[actix_web::test]
async fn patches_of_different_children_succeed_while_others_read() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(create_id(&app, &child(&format!("LCS-P-{i}"))).await);
    }
    let mut tags = Vec::new();
    for id in &ids {
        tags.push(etag_of(&app, id).await);
    }
    let token = vso(&app);
    let body = json!({"first_name": "Sam"});
    let patches = ids.iter().zip(&tags).map(|(id, tag)| patch(&app, id, tag, &body));
    let reads = ids.iter().map(|id| get_child(&app, &token, id));
    let (patched, read) =
        futures_util::future::join(futures_util::future::join_all(patches), futures_util::future::join_all(reads))
            .await;
    let statuses: Vec<u16> = patched.iter().chain(read.iter()).map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    for id in &ids {
        assert_eq!(row(&app, id).first_name, "Sam");
    }
}

#[actix_web::test]
async fn a_patch_in_the_wrong_media_type_or_shape_answers_415_or_400_and_changes_nothing() {
    let app = spawn_app().await;
    let id = create_id(&app, &child("LCS-000053")).await;
    let etag = etag_of(&app, &id).await;
    let before = row(&app, &id);
    let token = vso(&app);
    let send = |content_type: &str, body: String| patch_req(&app, &token, &id, Some(&etag), content_type, body).send();

    for ct in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let res = send(ct, json!({"first_name": "Sam"}).to_string()).await.unwrap();
        problem(res, 415).await;
    }
    for body in [
        "{\"first_name\": ".to_owned(),
        "[]".to_owned(),
        "null".to_owned(),
        json!({"favourite_colour": "red"}).to_string(),
        json!({"placement": {"colour": "red"}}).to_string(),
        json!({"first_name": 7}).to_string(),
    ] {
        let res = send("application/merge-patch+json", body.clone()).await.unwrap();
        problem(res, 400).await;
        assert_eq!(row(&app, &id), before, "{body}");
    }
    for field in ["id", "created_at", "updated_at", "key_stage", "pep_status"] {
        let mut body = json!({"first_name": "Sam"});
        body[field] = json!("x");
        let res = send("application/merge-patch+json", body.to_string()).await.unwrap();
        let p = problem(res, 400).await;
        assert!(p["detail"].as_str().unwrap().contains(field), "{field} named as read-only: {p}");
        assert_eq!(row(&app, &id), before, "{field}");
    }
    let big = json!({"school": {"name": "x".repeat(1_150_000)}}).to_string();
    let res = send("application/merge-patch+json", big).await.unwrap();
    problem(res, 413).await;
    assert_eq!(row(&app, &id), before);
    // The tag was never used up.
    let res = send("application/merge-patch+json", json!({"first_name": "Sam"}).to_string()).await.unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_patch_that_makes_the_child_invalid_answers_422_and_changes_nothing() {
    let app = spawn_app().await;
    let id = create_id(&app, &child("LCS-000054")).await;
    let etag = etag_of(&app, &id).await;
    let before = row(&app, &id);
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"sex": "X"}), vec!["sex"]),
        (json!({"upn": "C801200005001"}), vec!["upn"]),
        (
            json!({"placement": {"type": "U9", "provider": "PR9"}, "school": {"urn": "1"}}),
            vec!["placement.type", "placement.provider", "school.urn"],
        ),
        (json!({"lac_status": "ceased"}), vec!["ceased_on"]),
        (json!({"looked_after_since": null}), vec!["looked_after_since"]),
        (json!({"sen_caseworker_id": "sen-0001"}), vec!["sen_caseworker_id"]),
        (json!({"date_of_birth": ymd(today().succ_opt().unwrap())}), vec!["date_of_birth"]),
        (json!({"first_name": null}), vec!["first_name"]),
        (json!({"lcs_id": null}), vec!["lcs_id"]),
        (json!({"year_group": "Y7"}), vec!["year_group"]),
    ];
    for (body, fields) in cases {
        let res = patch(&app, &id, &etag, &body).await;
        let p = problem(res, 422).await;
        let names = field_names(&p);
        for f in fields {
            assert!(names.contains(f), "{f} in {p} for {body}");
        }
        assert_eq!(row(&app, &id), before, "{body}");
    }
    assert!(app.audit_rows().iter().all(|r| r.1 != "child.update"));
}

#[actix_web::test]
async fn changing_lcs_id_to_another_childs_answers_409_and_changes_nothing() {
    let app = spawn_app().await;
    create_id(&app, &child("LCS-000055")).await;
    let id = create_id(&app, &child("LCS-000056")).await;
    let etag = etag_of(&app, &id).await;
    let before = row(&app, &id);
    let res = patch(&app, &id, &etag, &json!({"lcs_id": "LCS-000055", "first_name": "Sam"})).await;
    problem(res, 409).await;
    assert_eq!(row(&app, &id), before);
    assert_eq!(app.count("children"), 2);
    // The same tag still works for a good change: the refused one left no trace.
    let res = patch(&app, &id, &etag, &json!({"lcs_id": "LCS-000057"})).await;
    let body = json_with(res, 200).await;
    assert_eq!(body["lcs_id"], "LCS-000057");
}

#[actix_web::test]
async fn only_vso_and_vs_admin_may_patch() {
    let app = spawn_app().await;
    let id =
        create_id(&app, &with(child("LCS-000058"), json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0001"})))
            .await;
    let etag = etag_of(&app, &id).await;
    let before = row(&app, &id);
    let audit_before = app.audit_rows().len();
    let callers = [
        ("sw-0001", "social_worker"),
        ("sen-0001", "sen_caseworker"),
        ("epep-0001", "epep"),
        ("lcs-0001", "lcs"),
        ("dash-0001", "dashboard"),
        ("who-0001", "teacher"),
    ];
    for (sub, role) in callers {
        let token = app.token(sub, &[role]);
        let res = patch_req(
            &app,
            &token,
            &id,
            Some(&etag),
            "application/merge-patch+json",
            json!({"first_name": "Sam"}).to_string(),
        )
        .send()
        .await
        .unwrap();
        problem(res, 403).await;
        assert_eq!(row(&app, &id), before, "{role}");
    }
    let denied: Vec<_> = app.audit_rows()[audit_before..].to_vec();
    assert_eq!(denied.len(), callers.len());
    for (r, (sub, role)) in denied.iter().zip(callers) {
        assert_eq!(r.0, sub);
        assert_eq!(r.2, "denied");
        if role != "teacher" {
            assert_eq!(r.1, "child.update");
        }
    }
    // vs_admin may.
    let res = patch_req(
        &app,
        &admin(&app),
        &id,
        Some(&etag),
        "application/merge-patch+json",
        json!({"first_name": "Sam"}).to_string(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
}

// ---------------------------------------------------------------------------------------------------------------
// List: filters
// ---------------------------------------------------------------------------------------------------------------

/// Five children spread over every filter.
async fn seed_roll(app: &TestApp) {
    let t = today();
    let past = ymd(t.pred_opt().unwrap());
    let future = ymd(t.checked_add_months(Months::new(2)).unwrap());
    let a = with(child("LCS-A"), json!({"upn": upn(1), "next_pep_due_on": future}));
    let b = with(
        child("LCS-B"),
        json!({
            "upn": upn(2), "first_name": "Bobbie", "last_name": "Sample",
            "school": {"urn": "100002"}, "vso_id": "vso-0002", "social_worker_id": "sw-0002",
            "year_group": "7", "placement": {"out_of_authority": true}, "sen_status": "ehcp",
            "sen_caseworker_id": "sen-0001", "next_pep_due_on": past
        }),
    );
    let c = with(
        child("LCS-C"),
        json!({
            "upn": upn(3), "first_name": "Casey", "last_name": "Tester",
            "vso_id": "vso-0001", "social_worker_id": "sw-0002", "year_group": "10",
            "placement": {"out_of_authority": true}, "sen_status": "sen_support",
            "lac_status": "ceased", "ceased_on": ymd(t), "next_pep_due_on": past
        }),
    );
    let d = with(
        child("LCS-D"),
        json!({
            "upn": "UN1", "first_name": "Dana", "last_name": "Fifty%Fifty", "school": null, "vso_id": null,
            "year_group": "R", "placement": null, "date_of_birth": "2021-05-05"
        }),
    );
    let e = with(
        child("LCS-E"),
        json!({
            "upn": null, "first_name": "Eden", "last_name": "Snake_Case", "school": {"urn": "1000003"},
            "vso_id": "vso-0002", "social_worker_id": "sw-0003", "year_group": "12",
            "date_of_birth": "2009-10-10"
        }),
    );
    for body in [a, b, c, d, e] {
        create(app, &body).await;
    }
}

#[actix_web::test]
async fn every_list_filter_narrows_the_roll() {
    let app = spawn_app().await;
    seed_roll(&app).await;
    let b_upn = upn(2);
    let b_upn_lower = b_upn.to_lowercase();
    let cases: Vec<(Query, Vec<&str>)> = vec![
        (vec![], vec!["LCS-A", "LCS-B", "LCS-C", "LCS-D", "LCS-E"]),
        (vec![("lac_status", "looked_after")], vec!["LCS-A", "LCS-B", "LCS-D", "LCS-E"]),
        (vec![("lac_status", "ceased")], vec!["LCS-C"]),
        (vec![("school_urn", "100001")], vec!["LCS-A", "LCS-C"]),
        (vec![("school_urn", "1000003")], vec!["LCS-E"]),
        (vec![("school_urn", "999999")], vec![]),
        (vec![("vso_id", "vso-0001")], vec!["LCS-A", "LCS-C"]),
        (vec![("vso_id", "vso-0002")], vec!["LCS-B", "LCS-E"]),
        (vec![("social_worker_id", "sw-0002")], vec!["LCS-B", "LCS-C"]),
        (vec![("social_worker_id", "sw-0001")], vec!["LCS-A", "LCS-D"]),
        (vec![("year_group", "7")], vec!["LCS-B"]),
        (vec![("year_group", "r")], vec!["LCS-D"]),
        (vec![("year_group", "R")], vec!["LCS-D"]),
        (vec![("year_group", "N1")], vec![]),
        (vec![("key_stage", "EYFS")], vec!["LCS-D"]),
        (vec![("key_stage", "KS1")], vec![]),
        (vec![("key_stage", "KS2")], vec!["LCS-A"]),
        (vec![("key_stage", "KS3")], vec!["LCS-B"]),
        (vec![("key_stage", "KS4")], vec!["LCS-C"]),
        (vec![("key_stage", "post16")], vec!["LCS-E"]),
        (vec![("out_of_authority", "true")], vec!["LCS-B", "LCS-C"]),
        (vec![("out_of_authority", "false")], vec!["LCS-A", "LCS-E"]),
        (vec![("sen_status", "ehcp")], vec!["LCS-B"]),
        (vec![("sen_status", "sen_support")], vec!["LCS-C"]),
        (vec![("sen_status", "none")], vec!["LCS-A", "LCS-D", "LCS-E"]),
        (vec![("pep_status", "due")], vec!["LCS-A", "LCS-D", "LCS-E"]),
        (vec![("pep_status", "overdue")], vec!["LCS-B"]),
        (vec![("pep_status", "not_required")], vec!["LCS-C"]),
        (vec![("pep_status", "in_date")], vec![]),
        (vec![("q", "alex")], vec!["LCS-A"]),
        (vec![("q", "EXAMPLE")], vec!["LCS-A"]),
        (vec![("q", "aMpL")], vec!["LCS-A", "LCS-B"]),
        (vec![("q", "sample")], vec!["LCS-B"]),
        (vec![("q", "  casey ")], vec!["LCS-C"]),
        (vec![("q", "%")], vec!["LCS-D"]),
        (vec![("q", "_")], vec!["LCS-E"]),
        (vec![("q", "y%f")], vec!["LCS-D"]),
        (vec![("q", "e_c")], vec!["LCS-E"]),
        (vec![("q", "d_na")], vec![]),
        (vec![("q", "a%e")], vec![]),
        (vec![("q", "\\")], vec![]),
        (vec![("lcs_id", "LCS-C")], vec!["LCS-C"]),
        (vec![("lcs_id", "lcs-c")], vec![]),
        (vec![("lcs_id", "LCS")], vec![]),
        (vec![("upn", b_upn.as_str())], vec!["LCS-B"]),
        (vec![("upn", b_upn_lower.as_str())], vec!["LCS-B"]),
        (vec![("upn", "UN1")], vec!["LCS-D"]),
        // Combinations narrow together.
        (vec![("lac_status", "looked_after"), ("school_urn", "100001")], vec!["LCS-A"]),
        (vec![("vso_id", "vso-0001"), ("lac_status", "ceased")], vec!["LCS-C"]),
        (vec![("out_of_authority", "true"), ("sen_status", "ehcp"), ("pep_status", "overdue")], vec!["LCS-B"]),
        (vec![("key_stage", "KS3"), ("year_group", "7")], vec!["LCS-B"]),
        (vec![("key_stage", "KS2"), ("year_group", "7")], vec![]),
        (vec![("social_worker_id", "sw-0002"), ("q", "tester")], vec!["LCS-C"]),
        (vec![("social_worker_id", "sw-0002"), ("q", "alex")], vec![]),
        (vec![("lcs_id", "LCS-A"), ("upn", b_upn.as_str())], vec![]),
        (vec![("pep_status", "due"), ("key_stage", "post16"), ("vso_id", "vso-0002")], vec!["LCS-E"]),
    ];
    for (query, expected) in cases {
        assert_eq!(listed(&app, &query).await, expected, "{query:?}");
    }
}

#[actix_web::test]
async fn q_is_case_insensitive_beyond_ascii() {
    let app = spawn_app().await;
    create(&app, &with(child("LCS-000070"), json!({"first_name": "Élodie", "last_name": "Øster"}))).await;
    for q in ["élodie", "ÉLODIE", "Élodie", "øster", "ØSTER"] {
        assert_eq!(listed(&app, &[("q", q)]).await, vec!["LCS-000070"], "{q}");
    }
}

#[actix_web::test]
async fn bad_filter_values_answer_400_problem() {
    let app = spawn_app().await;
    seed_roll(&app).await;
    let token = admin(&app);
    let long_q = "a".repeat(101);
    let too_long_upn = "B8012000050011".to_owned();
    let cases: Vec<(&str, &str)> = vec![
        ("lac_status", "foo"),
        ("key_stage", "KS9"),
        ("key_stage", "KS"),
        ("year_group", "15"),
        ("year_group", "0"),
        ("year_group", "N3"),
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("colour", "red"),
        ("sen_status", "some"),
        ("pep_status", "late"),
        ("out_of_authority", "maybe"),
        ("school_urn", "12"),
        ("school_urn", "abcdef"),
        ("q", ""),
        ("q", "   "),
        ("q", long_q.as_str()),
        ("lcs_id", "LCS 1"),
        ("upn", too_long_upn.as_str()),
        ("vso_id", "vso 1"),
        ("cursor", "garbage"),
    ];
    let audit_before = app.audit_rows().len();
    for (name, value) in cases {
        let res = app.get("/api/v1/children", &token).query(&[(name, value)]).send().await.unwrap();
        let p = problem(res, 400).await;
        assert_eq!(p["title"], "Bad request", "{name}={value}");
    }
    assert_eq!(app.audit_rows().len(), audit_before, "a refused query reads no child");
    // The bounds themselves are fine.
    for limit in ["1", "200"] {
        list(&app, &token, &[("limit", limit)]).await;
    }
}

#[actix_web::test]
async fn limit_defaults_to_50_and_goes_up_to_200() {
    let app = spawn_app().await;
    for i in 0..51 {
        create(&app, &child(&format!("LCS-L{i:03}"))).await;
    }
    let token = vso(&app);
    let page = list(&app, &token, &[]).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    assert!(page["next_cursor"].is_string());
    let page = list(&app, &token, &[("limit", "200")]).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 51);
    assert!(page["next_cursor"].is_null());
    let expected: Vec<String> = (0..51).map(|i| format!("LCS-L{i:03}")).collect();
    assert_eq!(lcs_ids(&page), expected, "oldest first");
    let page = list(&app, &token, &[("limit", "51")]).await;
    assert!(page["next_cursor"].is_null(), "an exactly full page has no next page");
}

// ---------------------------------------------------------------------------------------------------------------
// List: cursors
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn cursor_pages_visit_every_child_once_while_children_are_added() {
    let app = spawn_app().await;
    let original: Vec<String> = (0..7).map(|i| format!("LCS-P{i:02}")).collect();
    for lcs in &original {
        create(&app, &child(lcs)).await;
    }
    let token = vso(&app);
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "3".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let page = list(&app, &token, &query.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        let ids = lcs_ids(&page);
        assert!(ids.len() <= 3);
        seen.extend(ids);
        pages += 1;
        assert!(pages < 20, "the walk ends");
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        // Added between pages (once, to keep the walk finite).
        if pages <= 2 {
            create(&app, &child(&format!("LCS-NEW{pages}"))).await;
        }
    }
    for lcs in &original {
        assert_eq!(seen.iter().filter(|s| *s == lcs).count(), 1, "{lcs} exactly once in {seen:?}");
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no child twice: {seen:?}");
    assert_eq!(seen.len(), 9, "the children added during the walk come last");
    assert_eq!(&seen[..7], &original[..]);
}

#[actix_web::test]
async fn a_filtered_walk_pages_through_the_filtered_roll() {
    let app = spawn_app().await;
    for i in 0..7 {
        let body = if i % 2 == 0 {
            child(&format!("LCS-F{i}"))
        } else {
            with(child(&format!("LCS-F{i}")), json!({"lac_status": "ceased", "ceased_on": ymd(today())}))
        };
        create(&app, &body).await;
    }
    let token = vso(&app);
    let first = list(&app, &token, &[("lac_status", "looked_after"), ("limit", "2")]).await;
    assert_eq!(lcs_ids(&first), vec!["LCS-F0", "LCS-F2"]);
    let c = first["next_cursor"].as_str().unwrap().to_owned();
    let second = list(&app, &token, &[("lac_status", "looked_after"), ("limit", "2"), ("cursor", &c)]).await;
    assert_eq!(lcs_ids(&second), vec!["LCS-F4", "LCS-F6"]);
    assert!(second["next_cursor"].is_null());
    // The page size may change mid-walk; the filters may not.
    let other = list(&app, &token, &[("lac_status", "looked_after"), ("cursor", &c)]).await;
    assert_eq!(lcs_ids(&other), vec!["LCS-F4", "LCS-F6"]);
}

#[actix_web::test]
async fn a_cursor_cannot_be_carried_to_other_filters_or_callers_or_forged() {
    let app = spawn_app().await;
    for i in 0..5 {
        create(&app, &child(&format!("LCS-K{i}"))).await;
    }
    let token = vso(&app);
    let page = list(&app, &token, &[("limit", "2"), ("lac_status", "looked_after")]).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let bad = |query: Vec<(&'static str, String)>, token: String| {
        let app = &app;
        async move {
            let res = app.get("/api/v1/children", &token).query(&query).send().await.unwrap();
            problem(res, 400).await
        }
    };
    // Other filters.
    bad(vec![("limit", "2".into()), ("cursor", cursor.clone())], token.clone()).await;
    bad(vec![("lac_status", "ceased".into()), ("cursor", cursor.clone())], token.clone()).await;
    bad(vec![("lac_status", "looked_after".into()), ("q", "alex".into()), ("cursor", cursor.clone())], token.clone())
        .await;
    // Another caller, same filters.
    bad(vec![("lac_status", "looked_after".into()), ("cursor", cursor.clone())], app.token("vso-0002", &["vso"])).await;
    // Tampered: position changed, or signature changed.
    let (pos, mac) = cursor.split_once('.').unwrap();
    let mut pos_bytes = pos.as_bytes().to_vec();
    let last = pos_bytes.len() - 3;
    pos_bytes[last] = if pos_bytes[last] == b'A' { b'B' } else { b'A' };
    let forged_pos = format!("{}.{mac}", String::from_utf8(pos_bytes).unwrap());
    let mut mac_bytes = mac.as_bytes().to_vec();
    mac_bytes[0] = if mac_bytes[0] == b'A' { b'B' } else { b'A' };
    let forged_mac = format!("{pos}.{}", String::from_utf8(mac_bytes).unwrap());
    for forged in [forged_pos, forged_mac, pos.to_owned(), format!("{cursor}x"), "x".repeat(600), String::new()] {
        bad(vec![("lac_status", "looked_after".into()), ("cursor", forged.clone())], token.clone()).await;
    }
    // The genuine cursor still works.
    let next = list(&app, &token, &[("lac_status", "looked_after"), ("limit", "2"), ("cursor", &cursor)]).await;
    assert_eq!(lcs_ids(&next), vec!["LCS-K2", "LCS-K3"]);
}

// ---------------------------------------------------------------------------------------------------------------
// Access by role
// ---------------------------------------------------------------------------------------------------------------

/// Creates the roll and returns lcs_id → id.
async fn seeded_ids(app: &TestApp) -> BTreeMap<String, String> {
    seed_roll(app).await;
    let page = list(app, &admin(app), &[]).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["lcs_id"].as_str().unwrap().to_owned(), c["id"].as_str().unwrap().to_owned()))
        .collect()
}

#[actix_web::test]
async fn a_social_worker_sees_only_their_own_children() {
    let app = spawn_app().await;
    let ids = seeded_ids(&app).await;
    let sw = app.token("sw-0001", &["social_worker"]);
    assert_eq!(lcs_ids(&list(&app, &sw, &[]).await), vec!["LCS-A", "LCS-D"]);
    // Filters cannot widen the caseload.
    assert!(lcs_ids(&list(&app, &sw, &[("social_worker_id", "sw-0002")]).await).is_empty());
    assert!(lcs_ids(&list(&app, &sw, &[("lcs_id", "LCS-B")]).await).is_empty());
    assert_eq!(lcs_ids(&list(&app, &sw, &[("q", "a")]).await), vec!["LCS-A", "LCS-D"]);
    let res = get_child(&app, &sw, &ids["LCS-A"]).await;
    let body = json_with(res, 200).await;
    assert_eq!(body["social_worker_id"], "sw-0001");
    assert!(body["placement"].is_object(), "full view for their own child");

    for other in ["LCS-B", "LCS-C", "LCS-E"] {
        let res = get_child(&app, &sw, &ids[other]).await;
        let p = problem(res, 404).await;
        // The same answer as for a child that does not exist.
        let missing = problem(get_child(&app, &sw, &uuid::Uuid::now_v7().to_string()).await, 404).await;
        assert_eq!(p["detail"], missing["detail"]);
        assert_eq!(p["title"], missing["title"]);
    }
    // Another social worker sees theirs.
    let sw2 = app.token("sw-0002", &["social_worker"]);
    assert_eq!(lcs_ids(&list(&app, &sw2, &[]).await), vec!["LCS-B", "LCS-C"]);
    // The caseload follows the child: moved to sw-0001, B becomes visible to them and invisible to sw-0002.
    let etag = etag_of(&app, &ids["LCS-B"]).await;
    let res = patch(&app, &ids["LCS-B"], &etag, &json!({"social_worker_id": "sw-0001"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(lcs_ids(&list(&app, &sw, &[]).await), vec!["LCS-A", "LCS-B", "LCS-D"]);
    assert_eq!(get_child(&app, &sw2, &ids["LCS-B"]).await.status(), 404);
    // A social worker cannot create.
    let res = post_child(&app, &sw, &child("LCS-SW-1")).await;
    problem(res, 403).await;
    assert_eq!(app.count("children"), 5);
}

#[actix_web::test]
async fn an_sen_caseworker_sees_only_ehcp_children_allocated_to_them() {
    let app = spawn_app().await;
    let ids = seeded_ids(&app).await;
    // A second EHCP child of theirs, and one whose EHCP ended while still allocated (set in the database, as the
    // API refuses a caseworker for a child without an EHCP).
    let f = create_id(
        &app,
        &with(
            child("LCS-F"),
            json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0001", "social_worker_id": "sw-0009"}),
        ),
    )
    .await;
    let g = create_id(
        &app,
        &with(
            child("LCS-G"),
            json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0001", "social_worker_id": "sw-0009"}),
        ),
    )
    .await;
    sql(&app, "UPDATE children SET sen_status = 'sen_support' WHERE lcs_id = 'LCS-G'");
    let h =
        create_id(&app, &with(child("LCS-H"), json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0002"}))).await;

    let sen = app.token("sen-0001", &["sen_caseworker"]);
    assert_eq!(lcs_ids(&list(&app, &sen, &[]).await), vec!["LCS-B", "LCS-F"]);
    assert_eq!(get_child(&app, &sen, &ids["LCS-B"]).await.status(), 200);
    assert_eq!(get_child(&app, &sen, &f).await.status(), 200);
    problem(get_child(&app, &sen, &g).await, 404).await;
    problem(get_child(&app, &sen, &h).await, 404).await;
    problem(get_child(&app, &sen, &ids["LCS-A"]).await, 404).await;
    assert!(lcs_ids(&list(&app, &sen, &[("lcs_id", "LCS-G")]).await).is_empty());

    // Holding both roles is the union of both caseloads.
    let both = app.token("sen-0001", &["sen_caseworker", "social_worker"]);
    sql(&app, "UPDATE children SET social_worker_id = 'sen-0001' WHERE lcs_id = 'LCS-E'");
    assert_eq!(lcs_ids(&list(&app, &both, &[]).await), vec!["LCS-B", "LCS-E", "LCS-F"]);
    problem(post_child(&app, &sen, &child("LCS-SEN-1")).await, 403).await;
}

#[actix_web::test]
async fn epep_may_only_look_a_child_up_by_exact_lcs_id_or_upn_and_sees_identity_fields() {
    let app = spawn_app().await;
    let ids = seeded_ids(&app).await;
    let epep = app.token("epep-0001", &["epep"]);

    problem(get_child(&app, &epep, &ids["LCS-A"]).await, 403).await;
    for query in [
        vec![],
        vec![("q", "alex")],
        vec![("school_urn", "100001")],
        vec![("lcs_id", "LCS-A"), ("q", "alex")],
        vec![("upn", UPN), ("lac_status", "looked_after")],
        vec![("lac_status", "looked_after")],
    ] {
        let res = app.get("/api/v1/children", &epep).query(&query).send().await.unwrap();
        problem(res, 403).await;
    }

    let identity = set(&["id", "lcs_id", "upn", "first_name", "last_name", "date_of_birth"]);
    let page = list(&app, &epep, &[("lcs_id", "LCS-B")]).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let keys: BTreeSet<String> = items[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, identity, "{}", items[0]);
    for hidden in ["social_worker_id", "placement", "school", "sen_status", "lac_status", "vso_id"] {
        assert!(items[0].get(hidden).is_none(), "{hidden}");
    }
    assert_eq!(items[0]["id"], ids["LCS-B"].as_str());
    assert_eq!(items[0]["first_name"], "Bobbie");
    assert_eq!(items[0]["date_of_birth"], "2015-03-01");

    let b_upn = upn(2);
    for u in [b_upn.clone(), b_upn.to_lowercase()] {
        let page = list(&app, &epep, &[("upn", &u)]).await;
        assert_eq!(lcs_ids(&page), vec!["LCS-B"]);
        let keys: BTreeSet<String> = page["items"][0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, identity);
    }
    let page = list(&app, &epep, &[("lcs_id", "LCS-A"), ("upn", &upn(1))]).await;
    assert_eq!(lcs_ids(&page), vec!["LCS-A"]);
    let page = list(&app, &epep, &[("lcs_id", "LCS-NONE")]).await;
    assert!(lcs_ids(&page).is_empty());
    // Paging parameters are not filters.
    let page = list(&app, &epep, &[("lcs_id", "LCS-A"), ("limit", "1")]).await;
    assert_eq!(lcs_ids(&page), vec!["LCS-A"]);

    // Nothing else.
    problem(post_child(&app, &epep, &child("LCS-EPEP-1")).await, 403).await;
    assert_eq!(app.count("children"), 5);
}

#[actix_web::test]
async fn epep_cannot_list_children_by_a_placeholder_upn() {
    let app = spawn_app().await;
    for i in 0..3 {
        create(&app, &with(child(&format!("LCS-PH{i}")), json!({"upn": "UN1"}))).await;
    }
    let epep = app.token("epep-0001", &["epep"]);
    for placeholder in ["UN1", "un1", " UN1 ", "UN3"] {
        let res = app.get("/api/v1/children", &epep).query(&[("upn", placeholder)]).send().await.unwrap();
        // Either refused, or no match: a placeholder identifies nobody.
        if res.status() == 200 {
            let page: Value = res.json().await.unwrap();
            assert!(lcs_ids(&page).is_empty(), "{placeholder}: {page}");
        } else {
            assert!(res.status().is_client_error(), "{placeholder}");
        }
    }
    assert!(app.audit_rows().iter().all(|r| r.1 != "child.read"), "no child was disclosed to the placeholder lookups");
    // With an exact lcs_id the lookup is by that id, and the placeholder merely narrows it.
    let page = list(&app, &epep, &[("lcs_id", "LCS-PH1"), ("upn", "UN1")]).await;
    assert_eq!(lcs_ids(&page), vec!["LCS-PH1"]);
}

#[actix_web::test]
async fn lcs_dashboard_and_unknown_roles_are_refused_everything_on_children() {
    let app = spawn_app().await;
    let ids = seeded_ids(&app).await;
    let audit_before = app.audit_rows().len();
    let callers = [("lcs-0001", "lcs"), ("dash-0001", "dashboard"), ("who-0001", "teacher")];
    for (sub, role) in callers {
        let token = app.token(sub, &[role]);
        problem(app.get("/api/v1/children", &token).send().await.unwrap(), 403).await;
        problem(app.get("/api/v1/children", &token).query(&[("lcs_id", "LCS-A")]).send().await.unwrap(), 403).await;
        problem(get_child(&app, &token, &ids["LCS-A"]).await, 403).await;
        problem(get_child(&app, &token, &uuid::Uuid::now_v7().to_string()).await, 403).await;
        problem(post_child(&app, &token, &child("LCS-NO")).await, 403).await;
    }
    assert_eq!(app.count("children"), 5);
    let rows = app.audit_rows()[audit_before..].to_vec();
    assert_eq!(rows.len(), callers.len() * 5, "one denied event per attempt");
    assert!(rows.iter().all(|r| r.2 == "denied"), "{rows:?}");
    assert!(rows.iter().all(|r| r.3.is_none()), "a role refusal reads no child, so names none");
}

#[actix_web::test]
async fn a_vso_sees_every_child() {
    let app = spawn_app().await;
    let ids = seeded_ids(&app).await;
    let token = app.token("vso-0009", &["vso"]);
    assert_eq!(lcs_ids(&list(&app, &token, &[]).await), vec!["LCS-A", "LCS-B", "LCS-C", "LCS-D", "LCS-E"]);
    // A list item is the same full child a read answers.
    let page = list(&app, &token, &[]).await;
    for item in page["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        assert_eq!(ids[item["lcs_id"].as_str().unwrap()], id);
        let read = json_with(get_child(&app, &token, id).await, 200).await;
        assert_eq!(&read, item);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_read_records_one_allowed_child_read_event() {
    let app = spawn_app().await;
    let id = create_id(&app, &child("LCS-000080")).await;
    let res =
        app.get(&format!("/api/v1/children/{id}"), &vso(&app)).header("X-Request-Id", "read-1").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        audit_of(&app, "read-1"),
        vec![(
            "vso-0001".to_owned(),
            "child.read".to_owned(),
            "allowed".to_owned(),
            Some(id.clone()),
            "read-1".to_owned()
        )]
    );
    // A 304 still hands the caller confirmation of the child's state: recorded as a read as well.
    let etag = etag_of(&app, &id).await;
    let res = app
        .get(&format!("/api/v1/children/{id}"), &vso(&app))
        .header("X-Request-Id", "read-2")
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(audit_of(&app, "read-2").len(), 1);
}

#[actix_web::test]
async fn a_list_records_one_read_per_child_returned() {
    let app = spawn_app().await;
    let ids = seeded_ids(&app).await;
    let res = app
        .get("/api/v1/children", &vso(&app))
        .query(&[("lac_status", "looked_after")])
        .header("X-Request-Id", "list-1")
        .send()
        .await
        .unwrap();
    let page = json_with(res, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    let rows = audit_of(&app, "list-1");
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.0 == "vso-0001" && r.1 == "child.read" && r.2 == "allowed"));
    let read: BTreeSet<String> = rows.iter().map(|r| r.3.clone().unwrap()).collect();
    let expected: BTreeSet<String> = ["LCS-A", "LCS-B", "LCS-D", "LCS-E"].iter().map(|l| ids[*l].clone()).collect();
    assert_eq!(read, expected);

    // A page records only the children on it; an empty list records none.
    let res = app
        .get("/api/v1/children", &vso(&app))
        .query(&[("limit", "2")])
        .header("X-Request-Id", "list-2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(audit_of(&app, "list-2").len(), 2);
    let res = app
        .get("/api/v1/children", &vso(&app))
        .query(&[("q", "nobody")])
        .header("X-Request-Id", "list-3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(audit_of(&app, "list-3").iter().all(|r| r.3.is_none()));

    // An epep lookup is a read of the child it finds.
    let res = app
        .get("/api/v1/children", &app.token("epep-0001", &["epep"]))
        .query(&[("lcs_id", "LCS-C")])
        .header("X-Request-Id", "list-4")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let rows = audit_of(&app, "list-4");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].3.as_deref(), Some(ids["LCS-C"].as_str()));
}

#[actix_web::test]
async fn a_patch_records_the_changed_field_names_never_their_values() {
    let app = spawn_app().await;
    let id = create_id(&app, &child("LCS-000081")).await;
    let etag = etag_of(&app, &id).await;
    let res = patch_req(
        &app,
        &vso(&app),
        &id,
        Some(&etag),
        "application/merge-patch+json",
        json!({
            "upn": "UN2",
            "placement": {"provider": "PR4"},
            "first_name": "Zebedee",
            "last_name": "Example"
        })
        .to_string(),
    )
    .header("X-Request-Id", "patch-1")
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let rows = audit_of(&app, "patch-1");
    assert_eq!(rows.len(), 1, "one event per change: {rows:?}");
    assert_eq!(rows[0].1, "child.update");
    assert_eq!(rows[0].2, "allowed");
    assert_eq!(rows[0].3.as_deref(), Some(id.as_str()));

    let res = app.get("/api/v1/audit-events", &admin(&app)).query(&[("child_id", id.as_str())]).send().await.unwrap();
    let page = json_with(res, 200).await;
    let events = page["items"].as_array().unwrap();
    let update = events.iter().find(|e| e["request_id"] == "patch-1").unwrap();
    assert_eq!(update["action"], "child.update");
    assert_eq!(update["actor_id"], "vso-0001");
    assert_eq!(update["actor_roles"], json!(["vso"]));
    let changed: BTreeSet<String> =
        update["changed_fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
    assert_eq!(
        changed,
        set(&["upn", "placement.provider", "first_name"]),
        "last_name was sent unchanged, so it is not a change"
    );
    let text = update.to_string();
    for value in ["UN2", "PR4", "Zebedee", UPN, "PR1", "Alex"] {
        assert!(!text.contains(value), "{value} leaked into {text}");
    }

    // A patch that changes nothing records no change.
    let etag = etag_of(&app, &id).await;
    let res = patch_req(
        &app,
        &vso(&app),
        &id,
        Some(&etag),
        "application/merge-patch+json",
        json!({"first_name": "Zebedee"}).to_string(),
    )
    .header("X-Request-Id", "patch-2")
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert!(audit_of(&app, "patch-2").iter().all(|r| r.1 != "child.update" || r.2 != "allowed"));
}

#[actix_web::test]
async fn refusals_record_denied_events() {
    let app = spawn_app().await;
    let ids = seeded_ids(&app).await;

    // Wrong role: 403, one denied event.
    let res = app
        .get(&format!("/api/v1/children/{}", ids["LCS-A"]), &app.token("lcs-0001", &["lcs"]))
        .header("X-Request-Id", "deny-1")
        .send()
        .await
        .unwrap();
    problem(res, 403).await;
    let rows = audit_of(&app, "deny-1");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "lcs-0001");
    assert_eq!(rows[0].1, "child.read");
    assert_eq!(rows[0].2, "denied");

    // A social worker's 404 on another worker's child: one denied event naming the child.
    let res = app
        .get(&format!("/api/v1/children/{}", ids["LCS-B"]), &app.token("sw-0001", &["social_worker"]))
        .header("X-Request-Id", "deny-2")
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    let rows = audit_of(&app, "deny-2");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "sw-0001");
    assert_eq!(rows[0].1, "child.read");
    assert_eq!(rows[0].2, "denied");
    assert_eq!(rows[0].3.as_deref(), Some(ids["LCS-B"].as_str()));

    // epep without an exact filter; epep reading by id.
    let epep = app.token("epep-0001", &["epep"]);
    let res = app.get("/api/v1/children", &epep).header("X-Request-Id", "deny-3").send().await.unwrap();
    problem(res, 403).await;
    let rows = audit_of(&app, "deny-3");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, "denied");
    let res = app
        .get(&format!("/api/v1/children/{}", ids["LCS-A"]), &epep)
        .header("X-Request-Id", "deny-4")
        .send()
        .await
        .unwrap();
    problem(res, 403).await;
    let rows = audit_of(&app, "deny-4");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, "denied");

    // A refused create.
    let res = app
        .client
        .post(app.url("/api/v1/children"))
        .bearer_auth(app.token("dash-0001", &["dashboard"]))
        .header("X-Request-Id", "deny-5")
        .json(&child("LCS-DENY"))
        .send()
        .await
        .unwrap();
    problem(res, 403).await;
    let rows = audit_of(&app, "deny-5");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "child.create");
    assert_eq!(rows[0].2, "denied");

    // The audit trail shows them to vs_admin.
    let res = app
        .get("/api/v1/audit-events", &admin(&app))
        .query(&[("child_id", ids["LCS-B"].as_str())])
        .send()
        .await
        .unwrap();
    let page = json_with(res, 200).await;
    assert!(page["items"].as_array().unwrap().iter().any(|e| e["request_id"] == "deny-2" && e["outcome"] == "denied"));
}

#[actix_web::test]
async fn rejected_writes_leave_no_change_events() {
    let app = spawn_app().await;
    let id = create_id(&app, &child("LCS-000082")).await;
    create_id(&app, &child("LCS-000083")).await;
    let etag = etag_of(&app, &id).await;
    let before = app.audit_rows().iter().filter(|r| r.2 == "allowed" && r.1 != "child.read").count();
    problem(patch(&app, &id, &etag, &json!({"sex": "X"})).await, 422).await;
    problem(patch(&app, &id, "\"stale\"", &json!({"sex": "M"})).await, 412).await;
    problem(patch(&app, &id, &etag, &json!({"lcs_id": "LCS-000083"})).await, 409).await;
    problem(post_child(&app, &vso(&app), &child("LCS-000083")).await, 409).await;
    problem(post_child(&app, &vso(&app), &with(child("LCS-000084"), json!({"sex": "X"}))).await, 422).await;
    let after = app.audit_rows().iter().filter(|r| r.2 == "allowed" && r.1 != "child.read").count();
    assert_eq!(after, before);
    assert_eq!(app.count("children"), 2);
}
