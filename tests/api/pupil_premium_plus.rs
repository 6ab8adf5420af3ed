//! Pupil Premium Plus (`/api/v1/pupil-premium-plus/...`): budgets with If-Match, requests with validation and
//! Idempotency-Key, the requested → approved | rejected → paid lifecycle with impact, no overspend (also under
//! concurrent approvals), notifications to the requester, caseload reads, filters and paging, and audit. Every
//! rejected write is checked in the database too.

use crate::helpers::*;
use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use virtual_school::db::notifications_repo::NotificationRow;
use virtual_school::db::pp_repo::{AllocationRow, BudgetRow};

const YEAR: &str = "2026-27";
const BUDGETS: &str = "/api/v1/pupil-premium-plus/budgets";
const ALLOCATIONS: &str = "/api/v1/pupil-premium-plus/allocations";

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn admin(app: &TestApp) -> String {
    app.token("admin-0001", &["vs_admin"])
}

fn vso(app: &TestApp) -> String {
    app.token("vso-0001", &["vso"])
}

fn sw(app: &TestApp, sub: &str) -> String {
    app.token(sub, &["social_worker"])
}

/// A looked-after child of `social_worker` at school 100001 (synthetic data).
fn child(lcs_id: &str, social_worker: &str) -> Value {
    json!({
        "lcs_id": lcs_id,
        "first_name": "Alex",
        "last_name": "Example",
        "date_of_birth": "2015-03-01",
        "sex": "U",
        "lac_status": "looked_after",
        "looked_after_since": ymd(today() - Duration::days(40)),
        "school": {"urn": "100001", "name": "Example Primary School"},
        "year_group": "6",
        "sen_status": "none",
        "vso_id": "vso-0001",
        "social_worker_id": social_worker
    })
}

async fn json_with(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "status; body: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn create_child(app: &TestApp, body: &Value) -> String {
    let res = app.client.post(app.url("/api/v1/children")).bearer_auth(admin(app)).json(body).send().await.unwrap();
    json_with(res, 201).await["id"].as_str().unwrap().to_owned()
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

fn put_budget_req(app: &TestApp, token: &str, year: &str, body: &Value) -> reqwest::RequestBuilder {
    app.client.put(app.url(&format!("{BUDGETS}/{year}"))).bearer_auth(token).json(body)
}

fn budget(grant: i64, retention: i64) -> Value {
    json!({"grant_pence": grant, "rate_pence": 263_000, "eligible_children": 40, "central_retention_pence": retention})
}

/// Sets a new budget (first PUT) as vs_admin.
async fn set_budget(app: &TestApp, year: &str, grant: i64, retention: i64) {
    json_with(put_budget_req(app, &admin(app), year, &budget(grant, retention)).send().await.unwrap(), 201).await;
}

async fn get_budget(app: &TestApp, year: &str) -> Value {
    json_with(app.get(&format!("{BUDGETS}/{year}"), &admin(app)).send().await.unwrap(), 200).await
}

fn request_body(child_id: &str, amount: i64) -> Value {
    json!({"child_id": child_id, "academic_year": YEAR, "term": "spring", "amount_pence": amount,
        "purpose": "Weekly maths tutoring agreed in the PEP"})
}

async fn post_request(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url(ALLOCATIONS)).bearer_auth(token).json(body).send().await.unwrap()
}

/// Requests an allocation as the VSO and returns its id.
async fn request(app: &TestApp, child_id: &str, amount: i64) -> String {
    json_with(post_request(app, &vso(app), &request_body(child_id, amount)).await, 201).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn act(app: &TestApp, token: &str, id: &str, step: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url(&format!("{ALLOCATIONS}/{id}/{step}"))).bearer_auth(token).json(body).send().await.unwrap()
}

async fn approve(app: &TestApp, id: &str) -> reqwest::Response {
    act(app, &admin(app), id, "decision", &json!({"decision": "approve"})).await
}

fn allocation_row(app: &TestApp, alloc_id: &str) -> AllocationRow {
    use virtual_school::db::schema::pp_allocations::dsl::*;
    let mut conn = app.db.conn();
    pp_allocations.filter(id.eq(alloc_id)).select(AllocationRow::as_select()).first(&mut conn).unwrap()
}

fn budget_row(app: &TestApp, year: &str) -> Option<BudgetRow> {
    use virtual_school::db::schema::pp_budgets::dsl::*;
    let mut conn = app.db.conn();
    pp_budgets.filter(academic_year.eq(year)).select(BudgetRow::as_select()).first(&mut conn).optional().unwrap()
}

fn status_of(app: &TestApp, id: &str) -> String {
    allocation_row(app, id).status
}

/// Sum of approved and paid allocations of `year`, straight from the database.
fn committed_in_db(app: &TestApp, year: &str) -> i64 {
    use virtual_school::db::schema::pp_allocations::dsl::*;
    let mut conn = app.db.conn();
    let amounts: Vec<i64> = pp_allocations
        .filter(academic_year.eq(year))
        .filter(status.eq_any(["approved", "paid"]))
        .select(amount_pence)
        .load(&mut conn)
        .unwrap();
    amounts.iter().sum()
}

fn notification_rows(app: &TestApp) -> Vec<NotificationRow> {
    use virtual_school::db::schema::notifications::dsl::*;
    let mut conn = app.db.conn();
    notifications.select(NotificationRow::as_select()).order(id.asc()).load(&mut conn).unwrap()
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

/// Audit rows of one action as `(actor, outcome, child_id)`.
fn audited(app: &TestApp, action: &str) -> Vec<(String, String, Option<String>)> {
    app.audit_rows().into_iter().filter(|r| r.1 == action).map(|r| (r.0, r.2, r.3)).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Budgets
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_budget_is_created_once_then_changed_only_with_a_current_if_match() {
    let app = spawn_app().await;
    let url = format!("{BUDGETS}/{YEAR}");

    // Wrong role, malformed years and invalid fields store nothing.
    for token in [vso(&app), sw(&app, "sw-0001"), app.token("lcs-1", &["lcs"]), app.token("d-1", &["dashboard"])] {
        problem(put_budget_req(&app, &token, YEAR, &budget(1_000, 0)).send().await.unwrap(), 403).await;
    }
    for bad in ["2026-28", "2026", "26-27", "2026-2027"] {
        let p = problem(put_budget_req(&app, &admin(&app), bad, &budget(1_000, 0)).send().await.unwrap(), 400).await;
        assert!(p["detail"].as_str().unwrap().contains("academic_year"), "{bad}: {p}");
    }
    let bad = json!({"grant_pence": -1, "rate_pence": 0, "eligible_children": 100_001});
    let p = problem(put_budget_req(&app, &admin(&app), YEAR, &bad).send().await.unwrap(), 422).await;
    assert_eq!(field_names(&p), set(&["grant_pence", "rate_pence", "eligible_children", "central_retention_pence"]));
    let too_big = json!({"grant_pence": 100_000_000_001_i64, "rate_pence": 1_000_001, "eligible_children": 0,
        "central_retention_pence": 0});
    let p = problem(put_budget_req(&app, &admin(&app), YEAR, &too_big).send().await.unwrap(), 422).await;
    assert_eq!(field_names(&p), set(&["grant_pence", "rate_pence"]));
    let p = problem(put_budget_req(&app, &admin(&app), YEAR, &budget(1_000, 1_001)).send().await.unwrap(), 422).await;
    assert_eq!(field_names(&p), set(&["central_retention_pence"]));
    let unknown = json!({"grant_pence": 1, "rate_pence": 1, "eligible_children": 1, "central_retention_pence": 0,
        "spent": 0});
    problem(put_budget_req(&app, &admin(&app), YEAR, &unknown).send().await.unwrap(), 400).await;
    // If-Match on a budget that does not exist yet.
    let res = put_budget_req(&app, &admin(&app), YEAR, &budget(1_000, 0)).header("If-Match", "\"v1\"");
    problem(res.send().await.unwrap(), 412).await;
    assert_eq!(app.count("pp_budgets"), 0);
    problem(app.get(&url, &admin(&app)).send().await.unwrap(), 404).await;

    // The first PUT creates it.
    let res = put_budget_req(&app, &admin(&app), YEAR, &budget(10_520_000, 1_000_000)).send().await.unwrap();
    assert_eq!(header(&res, "location").as_deref(), Some(url.as_str()));
    assert_eq!(header(&res, "etag").as_deref(), Some("\"v1\""));
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    let body = json_with(res, 201).await;
    assert_eq!(body["academic_year"], YEAR);
    assert_eq!(body["grant_pence"], 10_520_000);
    assert_eq!(body["rate_pence"], 263_000);
    assert_eq!(body["eligible_children"], 40);
    assert_eq!(body["central_retention_pence"], 1_000_000);
    assert_eq!(body["approved_pence"], 0);
    assert_eq!(body["paid_pence"], 0);
    assert_eq!(body["remaining_pence"], 9_520_000);
    assert_eq!(body["updated_by"], "admin-0001");
    assert!(body["updated_at"].is_string());
    let row = budget_row(&app, YEAR).unwrap();
    assert_eq!((row.grant_pence, row.central_retention_pence, row.version), (10_520_000, 1_000_000, 1));

    // Read by vs_admin and vso; refused to everyone else.
    for token in [admin(&app), vso(&app)] {
        let res = app.get(&url, &token).send().await.unwrap();
        assert_eq!(header(&res, "etag").as_deref(), Some("\"v1\""));
        assert_eq!(json_with(res, 200).await, body);
    }
    for role in ["social_worker", "sen_caseworker", "lcs", "epep", "dashboard"] {
        problem(app.get(&url, &app.token("someone", &[role])).send().await.unwrap(), 403).await;
    }
    problem(app.get(&format!("{BUDGETS}/2027-28"), &admin(&app)).send().await.unwrap(), 404).await;
    problem(app.get(&format!("{BUDGETS}/2027-29"), &admin(&app)).send().await.unwrap(), 400).await;

    // Changing it needs a current If-Match.
    let change = budget(11_000_000, 500_000);
    let p = problem(put_budget_req(&app, &admin(&app), YEAR, &change).send().await.unwrap(), 428).await;
    assert!(p["detail"].as_str().unwrap().contains("If-Match"), "{p}");
    let stale = put_budget_req(&app, &admin(&app), YEAR, &change).header("If-Match", "\"v0\"");
    problem(stale.send().await.unwrap(), 412).await;
    assert_eq!(budget_row(&app, YEAR).unwrap(), row, "refused changes leave the budget as it was");
    let res = put_budget_req(&app, &admin(&app), YEAR, &change).header("If-Match", "\"v1\"").send().await.unwrap();
    assert_eq!(header(&res, "etag").as_deref(), Some("\"v2\""));
    assert!(header(&res, "location").is_none());
    let body = json_with(res, 200).await;
    assert_eq!(body["remaining_pence"], 10_500_000);
    let row = budget_row(&app, YEAR).unwrap();
    assert_eq!((row.grant_pence, row.central_retention_pence, row.version), (11_000_000, 500_000, 2));
    // The old tag is stale now.
    let stale = put_budget_req(&app, &admin(&app), YEAR, &budget(1, 0)).header("If-Match", "\"v1\"");
    problem(stale.send().await.unwrap(), 412).await;
    assert_eq!(budget_row(&app, YEAR).unwrap().version, 2);

    // Audit: two puts, three reads, and every refusal of a role.
    let puts = audited(&app, "pp_budget.put");
    assert_eq!(puts.iter().filter(|r| r.1 == "allowed").count(), 2);
    assert_eq!(puts.iter().filter(|r| r.1 == "denied").count(), 4);
    let reads = audited(&app, "pp_budget.read");
    assert_eq!(reads.iter().filter(|r| r.1 == "allowed").count(), 2);
    assert_eq!(reads.iter().filter(|r| r.1 == "denied").count(), 5);
    assert!(puts.iter().chain(&reads).all(|r| r.2.is_none()), "budgets hold no child's data");
}

// ---------------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_request_is_validated_field_by_field_and_stores_nothing_when_refused() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-PP1", "sw-0001")).await;
    let ceased = create_child(
        &app,
        &json!({"lcs_id": "LCS-PP2", "first_name": "Sam", "last_name": "Example", "date_of_birth": "2014-01-01",
            "sex": "U", "lac_status": "ceased", "looked_after_since": ymd(today() - Duration::days(400)),
            "ceased_on": ymd(today() - Duration::days(10)), "school": {"urn": "100001", "name": "Example Primary School"}}),
    )
    .await;

    let bad = json!({"academic_year": "2026-28", "term": "winter", "amount_pence": 0, "school_urn": "12",
        "purpose": "   "});
    let p = problem(post_request(&app, &vso(&app), &bad).await, 422).await;
    assert_eq!(field_names(&p), set(&["child_id", "academic_year", "term", "amount_pence", "school_urn", "purpose"]));
    let p = problem(post_request(&app, &vso(&app), &json!({})).await, 422).await;
    assert_eq!(field_names(&p), set(&["child_id", "academic_year", "term", "amount_pence", "purpose"]));
    let p = problem(post_request(&app, &vso(&app), &request_body(&id, 1_000_001)).await, 422).await;
    assert_eq!(field_names(&p), set(&["amount_pence"]));
    let long = with_field(request_body(&id, 100), "purpose", json!("x".repeat(2001)));
    let p = problem(post_request(&app, &vso(&app), &long).await, 422).await;
    assert_eq!(field_names(&p), set(&["purpose"]));
    let p =
        problem(post_request(&app, &vso(&app), &request_body(&uuid::Uuid::now_v7().to_string(), 100)).await, 422).await;
    assert_eq!(field_names(&p), set(&["child_id"]));
    let p = problem(post_request(&app, &vso(&app), &request_body(&ceased, 100)).await, 422).await;
    assert_eq!(field_names(&p), set(&["child_id"]));
    assert!(p["errors"][0]["reason"].as_str().unwrap().contains("not looked after"), "{p}");
    problem(post_request(&app, &vso(&app), &with_field(request_body(&id, 100), "status", json!("paid"))).await, 400)
        .await;
    problem(post_request(&app, &vso(&app), &with_field(request_body(&id, 100), "amount_pence", json!(1.5))).await, 400)
        .await;
    for role in ["social_worker", "sen_caseworker", "lcs", "epep", "dashboard"] {
        problem(post_request(&app, &app.token("sw-0001", &[role]), &request_body(&id, 100)).await, 403).await;
    }
    assert_eq!(app.count("pp_allocations"), 0);
    assert_eq!(audited(&app, "pp_allocation.create").iter().filter(|r| r.1 == "denied").count(), 5);

    // A valid request without a school takes the child's; it starts requested.
    let res = post_request(&app, &vso(&app), &request_body(&id, 60_000)).await;
    let location = header(&res, "location").unwrap();
    assert_eq!(header(&res, "etag").as_deref(), Some("\"v1\""));
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    let body = json_with(res, 201).await;
    let alloc = body["id"].as_str().unwrap();
    assert_eq!(location, format!("{ALLOCATIONS}/{alloc}"));
    assert_eq!(body["child_id"], id.as_str());
    assert_eq!(body["academic_year"], YEAR);
    assert_eq!(body["term"], "spring");
    assert_eq!(body["amount_pence"], 60_000);
    assert_eq!(body["school_urn"], "100001");
    assert_eq!(body["status"], "requested");
    assert_eq!(body["requested_by"], "vso-0001");
    assert!(body["pep_id"].is_null() && body["decided_by"].is_null() && body["paid_on"].is_null());
    let row = allocation_row(&app, alloc);
    assert_eq!((row.status.as_str(), row.amount_pence, row.school_urn.as_str()), ("requested", 60_000, "100001"));
    assert_eq!(row.requested_by, "vso-0001");
    // An explicit school is kept; vs_admin may request too.
    let other = with_field(request_body(&id, 100), "school_urn", json!("1234567"));
    let body = json_with(post_request(&app, &admin(&app), &other).await, 201).await;
    assert_eq!(body["school_urn"], "1234567");
    assert_eq!(body["requested_by"], "admin-0001");
    assert_eq!(app.count("pp_allocations"), 2);
    let creates = audited(&app, "pp_allocation.create");
    assert_eq!(creates.iter().filter(|r| r.1 == "allowed" && r.2.as_deref() == Some(id.as_str())).count(), 2);
}

fn with_field(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

#[actix_web::test]
async fn a_request_replayed_with_its_idempotency_key_answers_as_the_first_time() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-IDEM", "sw-0001")).await;
    let send = |body: Value, key: &'static str| {
        app.client.post(app.url(ALLOCATIONS)).bearer_auth(vso(&app)).header("Idempotency-Key", key).json(&body).send()
    };
    let first = send(request_body(&id, 5_000), "pp-1").await.unwrap();
    let (loc, etag) = (header(&first, "location"), header(&first, "etag"));
    let first_body = json_with(first, 201).await;
    let again = send(request_body(&id, 5_000), "pp-1").await.unwrap();
    assert_eq!(header(&again, "location"), loc);
    assert_eq!(header(&again, "etag"), etag);
    assert_eq!(header(&again, "idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(json_with(again, 201).await, first_body);
    assert_eq!(app.count("pp_allocations"), 1, "the replay stored nothing");
    let p = problem(send(request_body(&id, 6_000), "pp-1").await.unwrap(), 422).await;
    assert_eq!(field_names(&p), set(&["Idempotency-Key"]));
    assert_eq!(app.count("pp_allocations"), 1);
    json_with(send(request_body(&id, 5_000), "pp-2").await.unwrap(), 201).await;
    assert_eq!(app.count("pp_allocations"), 2, "a new key is a new request");
}

#[actix_web::test]
async fn a_pep_id_must_be_one_of_the_childs_peps() {
    let app = spawn_app().await;
    let a = create_child(&app, &child("LCS-PA", "sw-0001")).await;
    let b = create_child(&app, &child("LCS-PB", "sw-0001")).await;
    let pep = uuid::Uuid::now_v7().to_string();
    let mut conn = app.db.conn();
    diesel::sql_query(format!(
        "INSERT INTO peps (id, external_id, child_id, revision, academic_year, term, term_ordinal, meeting_date, \
         signed_off_at, signed_off_by, deadline, signed_off_late, latest_in_term, content_hash, content, pushed_by, \
         created_by, received_at, version, created_at, updated_at) VALUES ('{pep}', 'EXT-1', '{a}', 1, '2026-27', 'autumn', 6078, \
         '2026-10-01', '2026-10-02 10:00:00', 'dt-1', NULL, FALSE, TRUE, 'h', '{{}}', 'epep-1', \
         'epep-1', '2026-10-02 10:00:00', 1, '2026-10-02 10:00:00', '2026-10-02 10:00:00')"
    ))
    .execute(&mut conn)
    .unwrap();

    let of_a = with_field(request_body(&b, 100), "pep_id", json!(pep));
    let p = problem(post_request(&app, &vso(&app), &of_a).await, 422).await;
    assert_eq!(field_names(&p), set(&["pep_id"]));
    let unknown = with_field(request_body(&a, 100), "pep_id", json!(uuid::Uuid::now_v7().to_string()));
    let p = problem(post_request(&app, &vso(&app), &unknown).await, 422).await;
    assert_eq!(field_names(&p), set(&["pep_id"]));
    problem(post_request(&app, &vso(&app), &with_field(request_body(&a, 100), "pep_id", json!("nope"))).await, 400)
        .await;
    assert_eq!(app.count("pp_allocations"), 0);
    let body =
        json_with(post_request(&app, &vso(&app), &with_field(request_body(&a, 100), "pep_id", json!(pep))).await, 201)
            .await;
    assert_eq!(body["pep_id"], pep.as_str());
    assert_eq!(allocation_row(&app, body["id"].as_str().unwrap()).pep_id.as_deref(), Some(pep.as_str()));
}

// ---------------------------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn the_lifecycle_moves_one_way_and_every_other_step_answers_409_naming_the_status() {
    let app = spawn_app().await;
    let child_id = create_child(&app, &child("LCS-LIFE", "sw-0001")).await;
    set_budget(&app, YEAR, 100_000, 10_000).await;
    let a = request(&app, &child_id, 30_000).await;

    // Bad decisions are 422 and change nothing.
    let p = problem(act(&app, &admin(&app), &a, "decision", &json!({})).await, 422).await;
    assert_eq!(field_names(&p), set(&["decision"]));
    let p = problem(act(&app, &admin(&app), &a, "decision", &json!({"decision": "maybe"})).await, 422).await;
    assert_eq!(field_names(&p), set(&["decision"]));
    let p = problem(act(&app, &admin(&app), &a, "decision", &json!({"decision": "reject"})).await, 422).await;
    assert_eq!(field_names(&p), set(&["reason"]));
    let p = problem(act(&app, &admin(&app), &a, "decision", &json!({"decision": "reject", "reason": " "})).await, 422)
        .await;
    assert_eq!(field_names(&p), set(&["reason"]));
    for token in [vso(&app), sw(&app, "sw-0001")] {
        problem(act(&app, &token, &a, "decision", &json!({"decision": "approve"})).await, 403).await;
    }
    let missing = uuid::Uuid::now_v7().to_string();
    problem(approve(&app, &missing).await, 404).await;
    problem(act(&app, &admin(&app), "not-a-uuid", "decision", &json!({"decision": "approve"})).await, 400).await;

    // Not yet approved: no payment, no impact.
    let pay_body = json!({"paid_on": ymd(today()), "reference": "PO-0001"});
    let impact_body = json!({"rating": "met", "notes": "Reading age up by a year"});
    let p = problem(act(&app, &admin(&app), &a, "payment", &pay_body).await, 409).await;
    assert_eq!(p["detail"], "the allocation is requested; only an approved allocation can be paid");
    let p = problem(act(&app, &vso(&app), &a, "impact", &impact_body).await, 409).await;
    assert_eq!(p["detail"], "the allocation is requested; impact is recorded only on a paid allocation");
    let row = allocation_row(&app, &a);
    assert_eq!((row.status.as_str(), row.version), ("requested", 1));
    assert_eq!(app.count("notifications"), 0);

    // Approve: the requester hears of it, by LCS id and never by name.
    let res = approve(&app, &a).await;
    assert_eq!(header(&res, "etag").as_deref(), Some("\"v2\""));
    let body = json_with(res, 200).await;
    assert_eq!(body["status"], "approved");
    assert_eq!(body["decided_by"], "admin-0001");
    assert!(body["decided_at"].is_string() && body["decision_reason"].is_null());
    let row = allocation_row(&app, &a);
    assert_eq!((row.status.as_str(), row.version, row.decided_by.as_deref()), ("approved", 2, Some("admin-0001")));
    let notes = notification_rows(&app);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].recipient_id.as_deref(), Some("vso-0001"));
    assert_eq!(notes[0].kind, "pupil_premium_plus_approved");
    assert_eq!(notes[0].child_id.as_deref(), Some(child_id.as_str()));
    assert!(notes[0].summary.contains("LCS-LIFE") && notes[0].summary.contains("£300.00"), "{}", notes[0].summary);
    assert!(!notes[0].summary.contains("Alex") && !notes[0].summary.contains("Example"), "{}", notes[0].summary);

    let p = problem(approve(&app, &a).await, 409).await;
    assert_eq!(p["detail"], "the allocation is approved; only a requested allocation can be decided");
    let p = problem(act(&app, &vso(&app), &a, "impact", &impact_body).await, 409).await;
    assert!(p["detail"].as_str().unwrap().starts_with("the allocation is approved;"), "{p}");

    // Payment: not in the future, with a reference.
    let bad_pay = json!({"paid_on": ymd(today() + Duration::days(1)), "reference": "x".repeat(101)});
    let p = problem(act(&app, &admin(&app), &a, "payment", &bad_pay).await, 422).await;
    assert_eq!(field_names(&p), set(&["paid_on", "reference"]));
    let p = problem(act(&app, &admin(&app), &a, "payment", &json!({"paid_on": "01/02/2026"})).await, 422).await;
    assert_eq!(field_names(&p), set(&["paid_on", "reference"]));
    problem(act(&app, &vso(&app), &a, "payment", &pay_body).await, 403).await;
    assert_eq!(status_of(&app, &a), "approved");
    let body = json_with(act(&app, &admin(&app), &a, "payment", &pay_body).await, 200).await;
    assert_eq!(body["status"], "paid");
    assert_eq!(body["paid_on"], ymd(today()));
    assert_eq!(body["payment_reference"], "PO-0001");
    assert_eq!(body["paid_by"], "admin-0001");
    let row = allocation_row(&app, &a);
    assert_eq!((row.status.as_str(), row.paid_on, row.version), ("paid", Some(today()), 3));
    let p = problem(act(&app, &admin(&app), &a, "payment", &pay_body).await, 409).await;
    assert_eq!(p["detail"], "the allocation is paid; only an approved allocation can be paid");
    let p = problem(approve(&app, &a).await, 409).await;
    assert_eq!(p["detail"], "the allocation is paid; only a requested allocation can be decided");

    // Impact on the paid allocation.
    let p = problem(act(&app, &vso(&app), &a, "impact", &json!({"rating": "great", "notes": ""})).await, 422).await;
    assert_eq!(field_names(&p), set(&["rating", "notes"]));
    problem(act(&app, &sw(&app, "sw-0001"), &a, "impact", &impact_body).await, 403).await;
    assert!(allocation_row(&app, &a).impact_rating.is_none());
    let body = json_with(act(&app, &vso(&app), &a, "impact", &impact_body).await, 200).await;
    assert_eq!(body["status"], "paid");
    assert_eq!(body["impact_rating"], "met");
    assert_eq!(body["impact_notes"], "Reading age up by a year");
    assert_eq!(body["impact_by"], "vso-0001");
    let row = allocation_row(&app, &a);
    assert_eq!((row.impact_rating.as_deref(), row.version), (Some("met"), 4));

    // Reject another: the reason reaches the requester.
    let b = request(&app, &child_id, 20_000).await;
    let reason = "Not a need identified in the PEP";
    let body =
        json_with(act(&app, &admin(&app), &b, "decision", &json!({"decision": "reject", "reason": reason})).await, 200)
            .await;
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["decision_reason"], reason);
    let notes = notification_rows(&app);
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[1].recipient_id.as_deref(), Some("vso-0001"));
    assert_eq!(notes[1].kind, "pupil_premium_plus_rejected");
    assert!(notes[1].summary.contains(reason), "{}", notes[1].summary);
    for (step, body, detail) in [
        (
            "decision",
            json!({"decision": "approve"}),
            "the allocation is rejected; only a requested allocation can be decided",
        ),
        ("payment", pay_body.clone(), "the allocation is rejected; only an approved allocation can be paid"),
        ("impact", impact_body.clone(), "the allocation is rejected; impact is recorded only on a paid allocation"),
    ] {
        let p = problem(act(&app, &admin(&app), &b, step, &body).await, 409).await;
        assert_eq!(p["detail"], detail);
    }
    let row = allocation_row(&app, &b);
    assert_eq!((row.status.as_str(), row.version), ("rejected", 2));
    assert_eq!(app.count("notifications"), 2, "refused steps notify nobody");

    // Figures, by hand: grant 100,000 less retention 10,000 = 90,000; a paid 30,000; c approved 15,000.
    let c = request(&app, &child_id, 15_000).await;
    json_with(approve(&app, &c).await, 200).await;
    let figures = get_budget(&app, YEAR).await;
    assert_eq!(figures["approved_pence"], 45_000);
    assert_eq!(figures["paid_pence"], 30_000);
    assert_eq!(figures["remaining_pence"], 45_000);
    assert_eq!(committed_in_db(&app, YEAR), 45_000);

    // The budget cannot drop below what is approved.
    let res = put_budget_req(&app, &admin(&app), YEAR, &budget(50_000, 10_000)).header("If-Match", "\"v1\"");
    let p = problem(res.send().await.unwrap(), 409).await;
    assert!(p["detail"].as_str().unwrap().contains("45000 pence (£450.00)"), "{p}");
    let row = budget_row(&app, YEAR).unwrap();
    assert_eq!((row.grant_pence, row.version), (100_000, 1));
    let res = put_budget_req(&app, &admin(&app), YEAR, &budget(55_000, 10_000)).header("If-Match", "\"v1\"");
    assert_eq!(json_with(res.send().await.unwrap(), 200).await["remaining_pence"], 0);

    // Audit: each change once, with the child.
    for (action, n) in [("pp_allocation.decide", 3), ("pp_allocation.pay", 1), ("pp_allocation.impact", 1)] {
        let rows: Vec<_> = audited(&app, action).into_iter().filter(|r| r.1 == "allowed").collect();
        assert_eq!(rows.len(), n, "{action}");
        assert!(rows.iter().all(|r| r.2.as_deref() == Some(child_id.as_str())), "{action}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// No overspend
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn an_approval_past_the_budget_answers_409_with_what_remains() {
    let app = spawn_app().await;
    let child_id = create_child(&app, &child("LCS-OVER", "sw-0001")).await;
    let early = json_with(
        post_request(&app, &vso(&app), &with_field(request_body(&child_id, 1_000), "academic_year", json!("2027-28")))
            .await,
        201,
    )
    .await;
    let early = early["id"].as_str().unwrap().to_owned();
    let p = problem(approve(&app, &early).await, 409).await;
    assert!(p["detail"].as_str().unwrap().starts_with("no budget set for 2027-28"), "{p}");
    assert_eq!(status_of(&app, &early), "requested");

    set_budget(&app, YEAR, 60_000, 10_000).await;
    let a = request(&app, &child_id, 30_000).await;
    let b = request(&app, &child_id, 30_000).await;
    let c = request(&app, &child_id, 20_000).await;
    json_with(approve(&app, &a).await, 200).await;
    let p = problem(approve(&app, &b).await, 409).await;
    assert_eq!(
        p["detail"],
        "approving 30000 pence (£300.00) would overspend the 2026-27 budget: 20000 pence (£200.00) remains"
    );
    let row = allocation_row(&app, &b);
    assert_eq!((row.status.as_str(), row.version), ("requested", 1));
    assert_eq!(app.count("notifications"), 1, "only the approval notified");
    // Exactly what remains still fits; then nothing does.
    json_with(approve(&app, &c).await, 200).await;
    let p = problem(approve(&app, &b).await, 409).await;
    assert!(p["detail"].as_str().unwrap().ends_with("0 pence (£0.00) remains"), "{p}");
    let figures = get_budget(&app, YEAR).await;
    assert_eq!((figures["approved_pence"].as_i64(), figures["remaining_pence"].as_i64()), (Some(50_000), Some(0)));
    // A rejection needs no budget.
    json_with(
        act(&app, &admin(&app), &b, "decision", &json!({"decision": "reject", "reason": "Over budget"})).await,
        200,
    )
    .await;
    assert_eq!(committed_in_db(&app, YEAR), 50_000);
}

#[actix_web::test]
async fn concurrent_approvals_never_overspend() {
    let app = spawn_app().await;
    let child_id = create_child(&app, &child("LCS-RACE", "sw-0001")).await;
    // 100,000 less 20,000 retained leaves 80,000: three of eight 25,000 requests fit.
    set_budget(&app, YEAR, 100_000, 20_000).await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(request(&app, &child_id, 25_000).await);
    }
    let results = futures_util::future::join_all(ids.iter().map(|id| approve(&app, id))).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 5, "{statuses:?}");
    assert_eq!(committed_in_db(&app, YEAR), 75_000);
    let approved = ids.iter().filter(|id| status_of(&app, id) == "approved").count();
    assert_eq!(approved, 3);
    assert_eq!(get_budget(&app, YEAR).await["remaining_pence"], 5_000);
    assert_eq!(app.count("notifications"), 3);
}

// ---------------------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------------------

/// The ids of the first page of allocations `token` may see (checking `Cache-Control`).
async fn list(app: &TestApp, token: String) -> Vec<String> {
    let res = app.get(ALLOCATIONS, &token).send().await.unwrap();
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    let page = json_with(res, 200).await;
    page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[actix_web::test]
async fn reads_follow_the_caseload_and_are_audited() {
    let app = spawn_app().await;
    let mine = create_child(&app, &child("LCS-R1", "sw-0001")).await;
    let theirs = create_child(&app, &child("LCS-R2", "sw-0002")).await;
    let mut ehcp = child("LCS-R3", "sw-0002");
    ehcp["sen_status"] = json!("ehcp");
    ehcp["sen_caseworker_id"] = json!("sen-0001");
    let sen_child = create_child(&app, &ehcp).await;
    let a = request(&app, &mine, 1_000).await;
    let b = request(&app, &theirs, 2_000).await;
    let c = request(&app, &sen_child, 3_000).await;

    assert_eq!(list(&app, vso(&app)).await, vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(list(&app, admin(&app)).await, vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(list(&app, sw(&app, "sw-0001")).await, vec![a.clone()]);
    assert_eq!(list(&app, app.token("sen-0001", &["sen_caseworker"])).await, vec![c.clone()]);
    assert_eq!(list(&app, app.token("sw-0002", &["social_worker"])).await, vec![b.clone(), c.clone()]);
    assert!(list(&app, sw(&app, "sw-0003")).await.is_empty());

    // One by one: in the caseload 200 with ETag, outside it 404.
    let res = app.get(&format!("{ALLOCATIONS}/{a}"), &sw(&app, "sw-0001")).send().await.unwrap();
    assert_eq!(header(&res, "etag").as_deref(), Some("\"v1\""));
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(json_with(res, 200).await["child_id"], mine.as_str());
    let before = app.audit_rows().len();
    problem(app.get(&format!("{ALLOCATIONS}/{b}"), &sw(&app, "sw-0001")).send().await.unwrap(), 404).await;
    let denied = &app.audit_rows()[before..];
    assert_eq!(denied.len(), 1);
    assert_eq!((denied[0].1.as_str(), denied[0].2.as_str()), ("pp_allocation.read", "denied"));
    assert_eq!(denied[0].3.as_deref(), Some(theirs.as_str()));
    problem(app.get(&format!("{ALLOCATIONS}/{}", uuid::Uuid::now_v7()), &admin(&app)).send().await.unwrap(), 404).await;
    problem(app.get(&format!("{ALLOCATIONS}/{c}"), &sw(&app, "sw-0001")).send().await.unwrap(), 404).await;
    json_with(
        app.get(&format!("{ALLOCATIONS}/{c}"), &app.token("sen-0001", &["sen_caseworker"])).send().await.unwrap(),
        200,
    )
    .await;

    // Roles without PP+ reads: 403, audited.
    for role in ["lcs", "epep", "dashboard"] {
        let token = app.token(&format!("{role}-1"), &[role]);
        problem(app.get(ALLOCATIONS, &token).send().await.unwrap(), 403).await;
        problem(app.get(&format!("{ALLOCATIONS}/{a}"), &token).send().await.unwrap(), 403).await;
        let rows: Vec<_> = app.audit_rows().into_iter().filter(|r| r.0 == format!("{role}-1")).collect();
        assert_eq!(rows.len(), 2, "{role}");
        assert!(rows.iter().all(|r| r.2 == "denied"));
    }

    // Every allocation returned is one audited read with its child.
    let before = app.audit_rows().len();
    let res = app.get(ALLOCATIONS, &vso(&app)).header("X-Request-Id", "pp-list-1").send().await.unwrap();
    json_with(res, 200).await;
    let rows: Vec<_> = app.audit_rows()[before..].iter().filter(|r| r.4 == "pp-list-1").cloned().collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.1 == "pp_allocation.read" && r.2 == "allowed"));
    let children: BTreeSet<_> = rows.iter().filter_map(|r| r.3.clone()).collect();
    assert_eq!(children, [mine, theirs, sen_child].into_iter().collect());
}

#[actix_web::test]
async fn the_list_filters_and_pages() {
    let app = spawn_app().await;
    let one = create_child(&app, &child("LCS-F1", "sw-0001")).await;
    let two = create_child(&app, &child("LCS-F2", "sw-0001")).await;
    set_budget(&app, YEAR, 1_000_000, 0).await;
    let a = request(&app, &one, 100).await;
    let b = request(&app, &two, 200).await;
    let c_body = with_field(
        with_field(request_body(&one, 300), "academic_year", json!("2027-28")),
        "school_urn",
        json!("200002"),
    );
    let c = json_with(post_request(&app, &vso(&app), &c_body).await, 201).await["id"].as_str().unwrap().to_owned();
    let d = request(&app, &two, 400).await;
    let e = request(&app, &one, 500).await;
    json_with(approve(&app, &b).await, 200).await;
    json_with(approve(&app, &e).await, 200).await;

    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    };
    let query = |q: Vec<(&'static str, String)>| {
        let req = app.get(ALLOCATIONS, &vso(&app)).query(&q);
        async move { req.send().await.unwrap() }
    };
    let page = json_with(query(vec![("child_id", one.clone())]).await, 200).await;
    assert_eq!(ids(&page), vec![a.clone(), c.clone(), e.clone()]);
    let page = json_with(query(vec![("academic_year", "2027-28".into())]).await, 200).await;
    assert_eq!(ids(&page), vec![c.clone()]);
    let page = json_with(query(vec![("school_urn", "100001".into())]).await, 200).await;
    assert_eq!(ids(&page), vec![a.clone(), b.clone(), d.clone(), e.clone()]);
    let page = json_with(query(vec![("status", "approved".into())]).await, 200).await;
    assert_eq!(ids(&page), vec![b.clone(), e.clone()]);
    let page = json_with(query(vec![("status", "requested".into()), ("child_id", two.clone())]).await, 200).await;
    assert_eq!(ids(&page), vec![d.clone()]);
    for (name, value) in [
        ("status", "queried"),
        ("academic_year", "2026-28"),
        ("school_urn", "12"),
        ("child_id", "x"),
        ("limit", "0"),
        ("limit", "201"),
        ("colour", "red"),
    ] {
        problem(query(vec![(name, value.into())]).await, 400).await;
    }

    // Paging: two at a time, in request order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![("limit", "2".to_owned())];
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let page = json_with(query(q).await, 200).await;
        let got = ids(&page);
        assert!(got.len() <= 2);
        seen.extend(got);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec![a, b, c, d, e]);
    // A cursor belongs to its filters and its caller.
    let first = json_with(query(vec![("limit", "2".into())]).await, 200).await;
    let cur = first["next_cursor"].as_str().unwrap().to_owned();
    problem(query(vec![("limit", "2".into()), ("status", "approved".into()), ("cursor", cur.clone())]).await, 400)
        .await;
    let res = app.get(ALLOCATIONS, &admin(&app)).query(&[("limit", "2"), ("cursor", cur.as_str())]).send().await;
    problem(res.unwrap(), 400).await;
}
