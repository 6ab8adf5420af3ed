//! PEPs (`/api/v1/peps`): pushes from the ePEP provider (new, unchanged, revised, conflicting, idempotent, concurrent),
//! the checks on a push, the child's PEP schedule (`pep_status`, `next_pep_due_on` and the `pep_status` list filter),
//! the notifications of a sign-off, reads within the caseload, quality reviews, the LCS upload confirmation and the
//! audit trail. Every test pins the service's date, so terms and deadlines are the same whatever day the suite runs;
//! the expected dates are worked out by hand in the comments. Every rejected write is also checked in the database:
//! no PEP, revision, attainment row, review or notification stored, and the child unchanged.

use crate::helpers::*;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use virtual_school::db::children_repo::{self, Caseload, ChildRow};
use virtual_school::db::notifications_repo::NotificationRow;
use virtual_school::db::peps_repo::{AttainmentRow, PepRow, ReviewRow, RevisionRow};

// ---------------------------------------------------------------------------------------------------------------
// Dates (default calendar: autumn 1 Sep - 31 Dec, deadline 30 Nov; spring 1 Jan - the day before Easter Monday,
// deadline 15 Mar; summer from Easter Monday, deadline 30 Jun; initial PEP 10 working days after care began)
// ---------------------------------------------------------------------------------------------------------------

/// The day most tests run on: Friday 4 December 2026, in the autumn term 2026-27 and after its deadline.
const TODAY: &str = "2026-12-04";
/// `term_ordinal` of autumn 2026-27: 2026 * 3 + 0.
const AUTUMN_2026: i64 = 6078;
/// `term_ordinal` of summer 2025-26: 2025 * 3 + 2.
const SUMMER_2025: i64 = 6077;
/// The autumn 2026-27 PEP deadline.
const AUTUMN_DEADLINE: &str = "2026-11-30";
/// The spring 2026-27 PEP deadline: what an autumn 2026-27 PEP is next owed by.
const SPRING_DEADLINE: &str = "2027-03-15";
/// In care since Monday 2 November 2026: the initial PEP is due 10 working days later (3-6, 9-13, 16 November),
/// Monday 16 November 2026.
const SINCE_NOV_2: &str = "2026-11-02";
const DUE_NOV_16: &str = "2026-11-16";
/// In care since Wednesday 10 January 2024: the initial PEP was due 10 working days later (11, 12, 15-19, 22-24
/// January), Wednesday 24 January 2024.
const LONG_AGO: &str = "2024-01-10";
const LONG_AGO_DUE: &str = "2024-01-24";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The real server with its date pinned to `day`.
async fn app_on(day: &str) -> TestApp {
    let day = d(day);
    spawn_app_with(move |c| c.pinned_today = Some(day)).await
}

// ---------------------------------------------------------------------------------------------------------------
// Callers
// ---------------------------------------------------------------------------------------------------------------

const EPEP: &str = "epep-0001";

fn epep(app: &TestApp) -> String {
    app.token(EPEP, &["epep"])
}

fn admin(app: &TestApp) -> String {
    app.token("admin-0001", &["vs_admin"])
}

fn vso(app: &TestApp) -> String {
    app.token("vso-0001", &["vso"])
}

fn sw(app: &TestApp) -> String {
    app.token("sw-0001", &["social_worker"])
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies and requests
// ---------------------------------------------------------------------------------------------------------------

/// A looked-after child of `sw-0001` and `vso-0001` (synthetic data), in care since `since`, in Year 7.
fn child(lcs_id: &str, since: &str) -> Value {
    json!({
        "lcs_id": lcs_id,
        "first_name": "Sam",
        "last_name": "Sample",
        "date_of_birth": "2015-03-01",
        "sex": "U",
        "ethnicity": "NOBT",
        "lac_status": "looked_after",
        "looked_after_since": since,
        "legal_status": "C2",
        "placement": {"type": "U1", "provider": "PR1", "out_of_authority": false, "started_on": since},
        "school": {"urn": "100001", "name": "Example Secondary School"},
        "year_group": "7",
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

/// A complete, valid PEP of the autumn term 2026-27: meeting Tuesday 10 November, signed off on the 12th, one
/// action (owned by the school, so no action notification).
fn pep_body(lcs_id: &str, external_id: &str, revision: i64) -> Value {
    json!({
        "external_id": external_id,
        "revision": revision,
        "lcs_id": lcs_id,
        "academic_year": "2026-27",
        "term": "autumn",
        "meeting_date": "2026-11-10",
        "signed_off_at": "2026-11-12T15:30:00Z",
        "signed_off_by": "Officer A (VSO)",
        "care_information": "Settled with foster carers since the summer.",
        "child_views": "I like maths and football.",
        // 112 of 120 sessions is 93.33%.
        "attendance": {"percentage": 93.3, "sessions_possible": 120, "sessions_attended": 112},
        "exclusions": {"suspensions": 1, "suspension_days": 1.5, "permanent_exclusion": false},
        "attainment": [
            {"subject": "Mathematics", "past": 3, "current": 4, "predicted": 5, "target": 5},
            {"subject": "English", "current": 4}
        ],
        "targets": [
            {"id": "T-1", "description": "Read for 20 minutes every day", "due_on": "2027-02-01", "status": "in_progress"}
        ],
        "actions": [
            {"id": "A-1", "description": "Arrange a maths tutor", "owner_role": "school", "due_on": "2026-12-18",
             "status": "open"}
        ],
        "pupil_premium_plus_request": {"amount_pence": 60000, "purpose": "Maths tutoring, one hour a week"}
    })
}

/// `pep_body` for a meeting on `meeting` in `year` and `term`, signed off at `signed`.
fn pep_at(lcs_id: &str, external_id: &str, year_term: (&str, &str), meeting: &str, signed: &str) -> Value {
    with(
        pep_body(lcs_id, external_id, 1),
        json!({"academic_year": year_term.0, "term": year_term.1, "meeting_date": meeting, "signed_off_at": signed}),
    )
}

/// An action of `owner` with `status`.
fn action(id: &str, owner: &str, status: &str, due_on: Option<&str>) -> Value {
    json!({"id": id, "description": format!("Action {id}"), "owner_role": owner, "status": status, "due_on": due_on})
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers().get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap().to_owned()
}

/// Reads a JSON body after checking the status and the headers every API response carries.
async fn json_with(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    assert_eq!(header(&res, "cache-control"), "no-store");
    assert!(!header(&res, "x-request-id").is_empty());
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "status; body: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Creates a child as `vs_admin` and returns its id.
async fn create_child(app: &TestApp, body: &Value) -> String {
    let res = app.client.post(app.url("/api/v1/children")).bearer_auth(admin(app)).json(body).send().await.unwrap();
    json_with(res, 201).await["id"].as_str().unwrap().to_owned()
}

async fn push(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url("/api/v1/peps")).bearer_auth(token).json(body).send().await.unwrap()
}

/// Pushes as the ePEP provider and returns the PEP after checking the status.
async fn pushed(app: &TestApp, body: &Value, status: u16) -> Value {
    json_with(push(app, &epep(app), body).await, status).await
}

/// Pushes as the ePEP provider and returns the new PEP's id.
async fn pushed_id(app: &TestApp, body: &Value) -> String {
    pushed(app, body, 201).await["id"].as_str().unwrap().to_owned()
}

fn pep_path(id: &str) -> String {
    format!("/api/v1/peps/{id}")
}

async fn get_pep(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.get(&pep_path(id), token).send().await.unwrap()
}

async fn get_revisions(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.get(&format!("{}/revisions", pep_path(id)), token).send().await.unwrap()
}

async fn list_peps(app: &TestApp, token: &str, query: &[(&str, &str)]) -> reqwest::Response {
    app.get("/api/v1/peps", token).query(query).send().await.unwrap()
}

/// The `external_id`s of a page, in order.
fn external_ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|p| p["external_id"].as_str().unwrap().to_owned()).collect()
}

/// The `external_id`s `token` may list (one page of up to 200).
async fn listed(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<String> {
    let mut query = query.to_vec();
    query.push(("limit", "200"));
    let page = json_with(list_peps(app, token, &query).await, 200).await;
    assert!(page["next_cursor"].is_null());
    external_ids(&page)
}

fn review_req(app: &TestApp, token: &str, id: &str, if_match: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
    let mut req = app.client.put(app.url(&format!("{}/quality-review", pep_path(id)))).bearer_auth(token).json(body);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req
}

async fn review(app: &TestApp, token: &str, id: &str, if_match: Option<&str>, body: &Value) -> reqwest::Response {
    review_req(app, token, id, if_match, body).send().await.unwrap()
}

async fn lcs_upload(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.client.post(app.url(&format!("{}/lcs-upload", pep_path(id)))).bearer_auth(token).send().await.unwrap()
}

/// The child's `pep_status` and `next_pep_due_on`, as `GET /api/v1/children/{id}` tells them.
async fn schedule_of(app: &TestApp, id: &str) -> (String, Option<String>) {
    let res = app.get(&format!("/api/v1/children/{id}"), &admin(app)).send().await.unwrap();
    let body = json_with(res, 200).await;
    (body["pep_status"].as_str().unwrap().to_owned(), body["next_pep_due_on"].as_str().map(str::to_owned))
}

fn schedule(status: &str, next: Option<&str>) -> (String, Option<String>) {
    (status.to_owned(), next.map(str::to_owned))
}

/// A caller's inbox (`GET /api/v1/notifications`, one page of up to 200), newest first.
async fn inbox(app: &TestApp, token: &str) -> Vec<Value> {
    let res = app.get("/api/v1/notifications", token).query(&[("limit", "200")]).send().await.unwrap();
    let page = json_with(res, 200).await;
    assert!(page["next_cursor"].is_null());
    page["items"].as_array().unwrap().clone()
}

fn kinds_in(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(|n| n["kind"].as_str().unwrap().to_owned()).collect()
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

fn reason_of(problem: &Value, field: &str) -> String {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == field)
        .unwrap_or_else(|| panic!("{field} in {problem}"))["reason"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// The database
// ---------------------------------------------------------------------------------------------------------------

fn pep_rows(app: &TestApp) -> Vec<PepRow> {
    use virtual_school::db::schema::peps::dsl::*;
    let mut conn = app.db.conn();
    peps.select(PepRow::as_select()).order(id.asc()).load(&mut conn).unwrap()
}

fn pep_row(app: &TestApp, pep_id: &str) -> PepRow {
    pep_rows(app).into_iter().find(|p| p.id == pep_id).unwrap_or_else(|| panic!("PEP {pep_id} is stored"))
}

fn revision_rows(app: &TestApp) -> Vec<RevisionRow> {
    use virtual_school::db::schema::pep_revisions::dsl::*;
    let mut conn = app.db.conn();
    pep_revisions.select(RevisionRow::as_select()).order((pep_id.asc(), revision.asc())).load(&mut conn).unwrap()
}

fn attainment_rows(app: &TestApp) -> Vec<AttainmentRow> {
    use virtual_school::db::schema::pep_attainment::dsl::*;
    let mut conn = app.db.conn();
    pep_attainment.select(AttainmentRow::as_select()).order((pep_id.asc(), position.asc())).load(&mut conn).unwrap()
}

fn review_rows(app: &TestApp) -> Vec<ReviewRow> {
    use virtual_school::db::schema::pep_quality_reviews::dsl::*;
    let mut conn = app.db.conn();
    pep_quality_reviews.select(ReviewRow::as_select()).order(id.asc()).load(&mut conn).unwrap()
}

fn notification_rows(app: &TestApp) -> Vec<NotificationRow> {
    use virtual_school::db::schema::notifications::dsl::*;
    let mut conn = app.db.conn();
    notifications.select(NotificationRow::as_select()).order(id.asc()).load(&mut conn).unwrap()
}

fn child_row(app: &TestApp, id: &str) -> ChildRow {
    let mut conn = app.db.conn();
    children_repo::find(&mut conn, &Caseload::All, id).unwrap().expect("the child is stored")
}

/// Rows a rejected write must leave alone: peps, pep_revisions, pep_attainment, pep_quality_reviews, notifications.
fn counts(app: &TestApp) -> [i64; 5] {
    ["peps", "pep_revisions", "pep_attainment", "pep_quality_reviews", "notifications"].map(|t| app.count(t))
}

/// Who a notification is for: the person's `sub`, or `team:<role>`.
fn recipient(r: &NotificationRow) -> String {
    match (&r.recipient_id, &r.recipient_team) {
        (Some(p), None) => p.clone(),
        (None, Some(t)) => format!("team:{t}"),
        other => panic!("a notification is for exactly one person or team: {other:?}"),
    }
}

/// `(recipient, kind)` of every stored notification after the first `skip`, in the order they were stored.
fn notified(app: &TestApp, skip: usize) -> Vec<(String, String)> {
    notification_rows(app).iter().skip(skip).map(|r| (recipient(r), r.kind.clone())).collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

/// `(actor_id, action, outcome, resource_type, resource_id, child_id, changed_fields)`.
type Audit = (String, String, String, String, Option<String>, Option<String>, Option<String>);

/// The audit events of one request (by the response's `X-Request-Id`), sorted.
fn audit_of(app: &TestApp, rid: &str) -> Vec<Audit> {
    use virtual_school::db::schema::audit_events::dsl::*;
    let mut conn = app.db.conn();
    let mut rows: Vec<Audit> = audit_events
        .filter(request_id.eq(rid))
        .select((actor_id, action, outcome, resource_type, resource_id, child_id, changed_fields))
        .load(&mut conn)
        .unwrap();
    rows.sort();
    rows
}

/// One expected audit event.
fn ev(
    who: &str,
    act: &str,
    outcome: &str,
    res: (&str, Option<&str>),
    child: Option<&str>,
    fields: Option<&str>,
) -> Audit {
    (
        who.to_owned(),
        act.to_owned(),
        outcome.to_owned(),
        res.0.to_owned(),
        res.1.map(str::to_owned),
        child.map(str::to_owned),
        fields.map(str::to_owned),
    )
}

fn sorted(mut rows: Vec<Audit>) -> Vec<Audit> {
    rows.sort();
    rows
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Pushes: new, unchanged, revised, conflicting
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_new_pep_answers_201_with_location_and_etag_and_is_stored_in_full() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-P01", SINCE_NOV_2)).await;
    let before = child_row(&app, &child_id);
    assert_eq!(before.pep_required_on, Some(d(DUE_NOV_16)), "initial PEP 10 working days after 2 November");
    assert_eq!(before.pep_required_since, Some(d(SINCE_NOV_2)));
    assert_eq!(before.last_pep_term, None);
    // The initial PEP was due on 16 November: overdue on 4 December.
    assert_eq!(schedule_of(&app, &child_id).await, schedule("overdue", Some(DUE_NOV_16)));

    let res = push(&app, &epep(&app), &pep_body("LCS-P01", "EPEP-0001", 1)).await;
    assert_eq!(res.status(), 201);
    assert_eq!(header(&res, "etag"), "\"v1\"");
    let location = header(&res, "location");
    let body = json_with(res, 201).await;
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/peps/{id}"));
    assert_eq!(body["external_id"], "EPEP-0001");
    assert_eq!(body["revision"], 1);
    assert_eq!(body["child_id"], child_id.as_str());
    assert_eq!(body["academic_year"], "2026-27");
    assert_eq!(body["term"], "autumn");
    assert_eq!(body["meeting_date"], "2026-11-10");
    assert_eq!(body["signed_off_at"], "2026-11-12T15:30:00Z");
    assert_eq!(body["signed_off_by"], "Officer A (VSO)");
    // In care since 2 November (after the term began): the initial PEP, due 16 November, is the one it settles, and
    // 12 November is on time.
    assert_eq!(body["deadline"], DUE_NOV_16);
    assert_eq!(body["signed_off_late"], false);
    assert_eq!(body["care_information"], "Settled with foster carers since the summer.");
    assert_eq!(body["child_views"], "I like maths and football.");
    assert_eq!(body["attendance"]["percentage"], 93.3);
    assert_eq!(body["attendance"]["sessions_possible"], 120);
    assert_eq!(body["attendance"]["sessions_attended"], 112);
    assert_eq!(body["exclusions"]["suspensions"], 1);
    assert_eq!(body["exclusions"]["suspension_days"], 1.5);
    assert_eq!(body["exclusions"]["permanent_exclusion"], false);
    let attainment = body["attainment"].as_array().unwrap();
    assert_eq!(attainment.len(), 2);
    assert_eq!(attainment[0]["subject"], "Mathematics");
    assert_eq!((attainment[0]["past"].as_f64(), attainment[0]["current"].as_f64()), (Some(3.0), Some(4.0)));
    assert_eq!((attainment[0]["predicted"].as_f64(), attainment[0]["target"].as_f64()), (Some(5.0), Some(5.0)));
    assert_eq!(attainment[1]["subject"], "English");
    assert!(
        attainment[1]["past"].is_null() && attainment[1]["predicted"].is_null() && attainment[1]["target"].is_null()
    );
    assert_eq!(
        body["targets"],
        json!([{"id": "T-1", "description": "Read for 20 minutes every day", "due_on": "2027-02-01",
                "status": "in_progress"}])
    );
    assert_eq!(
        body["actions"],
        json!([{"id": "A-1", "description": "Arrange a maths tutor", "owner_role": "school", "due_on": "2026-12-18",
                "status": "open"}])
    );
    assert_eq!(
        body["pupil_premium_plus_request"],
        json!({"amount_pence": 60000, "purpose": "Maths tutoring, one hour a week"})
    );
    for empty in ["quality_rating", "quality_review", "lcs_upload_confirmed_at", "lcs_upload_confirmed_by"] {
        assert!(body[empty].is_null(), "{empty} in {body}");
    }
    assert_eq!(body["created_at"], body["updated_at"]);

    // Stored: the PEP, its first revision, its attainment rows and one notification.
    let row = pep_row(&app, &id);
    assert_eq!((row.external_id.as_str(), row.child_id.as_str(), row.revision), ("EPEP-0001", child_id.as_str(), 1));
    assert_eq!((row.term_ordinal, row.deadline, row.signed_off_late), (AUTUMN_2026, Some(d(DUE_NOV_16)), false));
    assert!(row.latest_in_term);
    assert_eq!(row.year_group.as_deref(), Some("7"));
    assert_eq!(
        (row.attendance_percentage, row.sessions_possible, row.sessions_attended),
        (Some(93.3), Some(120), Some(112))
    );
    assert_eq!((row.suspensions, row.suspension_days, row.permanent_exclusion), (Some(1), Some(1.5), Some(false)));
    assert_eq!((row.pushed_by.as_str(), row.version), (EPEP, 1));
    // The current revision lives in `peps`; `pep_revisions` keeps only revisions a later one replaced.
    assert!(revision_rows(&app).is_empty());
    let attainment = attainment_rows(&app);
    assert_eq!(attainment.len(), 2);
    assert_eq!((attainment[0].position, attainment[0].subject.as_str()), (0, "Mathematics"));
    assert_eq!((attainment[0].past, attainment[0].current_value), (Some(3.0), 4.0));
    assert_eq!((attainment[0].predicted, attainment[0].target), (Some(5.0), Some(5.0)));
    assert_eq!((attainment[1].position, attainment[1].subject.as_str(), attainment[1].past), (1, "English", None));
    assert_eq!(notified(&app, 0), pairs(&[("sw-0001", "pep_signed_off")]));
    assert_eq!(counts(&app), [1, 0, 2, 0, 1]);

    // The child's schedule moved on: the initial PEP is settled and autumn 2026-27 is covered.
    let after = child_row(&app, &child_id);
    assert_eq!((after.pep_required_on, after.pep_required_since), (None, None));
    assert_eq!(after.last_pep_term, Some(AUTUMN_2026));
    assert_eq!(after.version, before.version + 1);
    assert_eq!(schedule_of(&app, &child_id).await, schedule("in_date", Some(SPRING_DEADLINE)));
}

#[actix_web::test]
async fn the_child_is_named_by_lcs_id_or_child_id_and_an_unknown_or_contradictory_child_is_422() {
    let app = app_on(TODAY).await;
    let a = create_child(&app, &child("LCS-P02", SINCE_NOV_2)).await;
    let b = create_child(&app, &child("LCS-P03", SINCE_NOV_2)).await;

    // By child_id alone.
    let by_id = with(pep_body("LCS-P02", "EPEP-0002", 1), json!({"lcs_id": null, "child_id": a}));
    assert_eq!(pushed(&app, &by_id, 201).await["child_id"], a.as_str());
    // By both, naming the same child.
    let both = with(pep_body("LCS-P02", "EPEP-0003", 1), json!({"child_id": a}));
    assert_eq!(pushed(&app, &both, 201).await["child_id"], a.as_str());

    let before = counts(&app);
    assert_eq!(before, [2, 0, 4, 0, 2]);
    let (row_a, row_b) = (child_row(&app, &a), child_row(&app, &b));
    let unknown = uuid::Uuid::new_v4().to_string();
    let cases = [
        // lcs_id names a, child_id names b.
        (with(pep_body("LCS-P02", "EPEP-0004", 1), json!({"child_id": b})), "child_id"),
        (pep_body("LCS-NOBODY", "EPEP-0005", 1), "lcs_id"),
        (with(pep_body("LCS-P02", "EPEP-0006", 1), json!({"lcs_id": null, "child_id": unknown})), "child_id"),
        (with(pep_body("LCS-P02", "EPEP-0007", 1), json!({"lcs_id": null})), "child_id"),
        (with(pep_body("LCS-P02", "EPEP-0008", 1), json!({"lcs_id": null, "child_id": "not-a-uuid"})), "child_id"),
    ];
    for (body, field) in &cases {
        let p = problem(push(&app, &epep(&app), body).await, 422).await;
        assert_eq!(field_names(&p), set(&[field]), "{p}");
    }
    assert_eq!(counts(&app), before, "nothing stored");
    assert_eq!((child_row(&app, &a), child_row(&app, &b)), (row_a, row_b), "no child changed");
}

#[actix_web::test]
async fn a_resend_is_unchanged_a_higher_revision_replaces_and_an_older_or_different_one_conflicts() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-P04", SINCE_NOV_2)).await;
    let rev1 = pep_body("LCS-P04", "EPEP-0010", 1);
    let first = pushed(&app, &rev1, 201).await;
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(counts(&app), [1, 0, 2, 0, 1]);

    // The same again: 200 and the PEP exactly as it was, nothing written.
    let res = push(&app, &epep(&app), &rev1).await;
    assert_eq!((header(&res, "etag"), header(&res, "location")), ("\"v1\"".to_owned(), pep_path(&id)));
    assert_eq!(json_with(res, 200).await, first);
    assert_eq!(counts(&app), [1, 0, 2, 0, 1], "no new revision, no notification");
    assert_eq!(pep_row(&app, &id).version, 1);

    // Revision 2 (new views, 114 of 120 sessions is 95%, one subject): 200, replacing it.
    let rev2 = with(
        pep_body("LCS-P04", "EPEP-0010", 2),
        json!({"child_views": "I want to join the football team.",
               "attendance": {"percentage": 95.0, "sessions_possible": 120, "sessions_attended": 114},
               "attainment": [{"subject": "Mathematics", "current": 5}]}),
    );
    let res = push(&app, &epep(&app), &rev2).await;
    assert_eq!((header(&res, "etag"), header(&res, "location")), ("\"v2\"".to_owned(), pep_path(&id)));
    let second = json_with(res, 200).await;
    assert_eq!((second["id"].as_str(), second["revision"].as_i64()), (Some(id.as_str()), Some(2)));
    assert_eq!(second["child_views"], "I want to join the football team.");
    assert_eq!(second["attendance"]["percentage"], 95.0);
    assert_eq!(second["created_at"], first["created_at"]);
    assert_eq!((second["deadline"].as_str(), second["signed_off_late"].as_bool()), (Some(DUE_NOV_16), Some(false)));
    // peps 1, revisions 2, attainment replaced by the one row of revision 2, notifications + pep_revised.
    assert_eq!(counts(&app), [1, 1, 1, 0, 2]);
    assert_eq!(notified(&app, 1), pairs(&[("sw-0001", "pep_revised")]));
    let row = pep_row(&app, &id);
    assert_eq!((row.revision, row.version, row.sessions_attended), (2, 2, Some(114)));
    assert_eq!(attainment_rows(&app)[0].current_value, 5.0);

    // Both revisions, oldest first, each with its own content.
    let page = json_with(get_revisions(&app, &vso(&app), &id).await, 200).await;
    assert!(page["next_cursor"].is_null());
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.iter().map(|r| r["revision"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(items[0]["child_views"], "I like maths and football.");
    assert_eq!(items[0]["attendance"]["sessions_attended"], 112);
    assert_eq!(items[0]["attainment"].as_array().unwrap().len(), 2);
    assert_eq!(items[1]["child_views"], "I want to join the football team.");
    assert_eq!(items[1]["attendance"]["sessions_attended"], 114);
    assert_eq!(items[1]["attainment"].as_array().unwrap().len(), 1);
    for item in items {
        assert_eq!((item["pushed_by"].as_str(), item["term"].as_str()), (Some(EPEP), Some("autumn")));
        assert_eq!(item["signed_off_at"], "2026-11-12T15:30:00Z");
        assert!(item["received_at"].is_string());
    }

    // A late re-send of revision 1, unchanged: 200 with the PEP as it now stands (revision 2).
    let res = push(&app, &epep(&app), &rev1).await;
    assert_eq!(header(&res, "etag"), "\"v2\"");
    assert_eq!(json_with(res, 200).await, second);

    // Conflicts: revision 1 with other content, revision 2 with other content.
    let stored = pep_row(&app, &id);
    let changed_views = json!({"child_views": "Something else entirely."});
    for body in [with(rev1.clone(), changed_views.clone()), with(rev2.clone(), changed_views)] {
        problem(push(&app, &epep(&app), &body).await, 409).await;
    }
    assert_eq!(counts(&app), [1, 1, 1, 0, 2], "nothing stored");
    assert_eq!(pep_row(&app, &id), stored, "the PEP did not change");
    assert_eq!(child_row(&app, &child_id).last_pep_term, Some(AUTUMN_2026));
}

#[actix_web::test]
async fn an_external_id_cannot_move_to_another_child() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-P05", SINCE_NOV_2)).await;
    let other = create_child(&app, &child("LCS-P06", SINCE_NOV_2)).await;
    let id = pushed_id(&app, &pep_body("LCS-P05", "EPEP-0020", 1)).await;
    let (before, stored, other_row) = (counts(&app), pep_row(&app, &id), child_row(&app, &other));

    for revision in [1, 2] {
        let p = problem(push(&app, &epep(&app), &pep_body("LCS-P06", "EPEP-0020", revision)).await, 409).await;
        assert!(p["detail"].as_str().unwrap().contains("another child"), "{p}");
    }
    assert_eq!(counts(&app), before);
    assert_eq!(pep_row(&app, &id), stored);
    assert_eq!(child_row(&app, &other), other_row, "the other child is untouched");
}

#[actix_web::test]
async fn an_epep_client_keeps_its_own_peps_whoever_revises_them() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-P07", SINCE_NOV_2)).await;
    let id = pushed_id(&app, &pep_body("LCS-P07", "EPEP-0030", 1)).await;
    let other_client = app.token("epep-0002", &["epep"]);
    let (before, stored) = (counts(&app), pep_row(&app, &id));

    // Another ePEP client may neither re-send nor revise it, and cannot read it.
    for revision in [1, 2] {
        let p = problem(push(&app, &other_client, &pep_body("LCS-P07", "EPEP-0030", revision)).await, 409).await;
        assert!(p["detail"].as_str().unwrap().contains("another ePEP client"), "{p}");
    }
    assert_eq!(counts(&app), before, "nothing stored");
    assert_eq!(pep_row(&app, &id), stored);
    problem(get_pep(&app, &other_client, &id).await, 404).await;

    // The admin team may revise it; the client that pushed it still reads it.
    let revised = json_with(push(&app, &admin(&app), &pep_body("LCS-P07", "EPEP-0030", 2)).await, 200).await;
    assert_eq!(revised["revision"], 2);
    let row = pep_row(&app, &id);
    assert_eq!((row.pushed_by.as_str(), row.created_by.as_str()), ("admin-0001", EPEP));
    assert_eq!(json_with(get_pep(&app, &epep(&app), &id).await, 200).await["revision"], 2);
    assert_eq!(listed(&app, &epep(&app), &[]).await, strings(&["EPEP-0030"]));
}

#[actix_web::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-P07", SINCE_NOV_2)).await;
    let body = pep_body("LCS-P07", "EPEP-0030", 1);
    let send = |body: Value, key: Option<&'static str>| {
        let mut req = app.client.post(app.url("/api/v1/peps")).bearer_auth(epep(&app)).json(&body);
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        req.send()
    };

    let res = send(body.clone(), Some("push-0001")).await.unwrap();
    assert!(res.headers().get("idempotent-replayed").is_none());
    let (location, etag) = (header(&res, "location"), header(&res, "etag"));
    let first = json_with(res, 201).await;
    let after_first = counts(&app);
    assert_eq!(after_first, [1, 0, 2, 0, 1]);

    // The same key and body: the first answer again, 201 included.
    let res = send(body.clone(), Some("push-0001")).await.unwrap();
    assert_eq!(header(&res, "idempotent-replayed"), "true");
    assert_eq!((header(&res, "location"), header(&res, "etag")), (location, etag));
    assert_eq!(json_with(res, 201).await, first);
    assert_eq!(counts(&app), after_first, "no new revision, no notification");

    // The same key for another body: 422, nothing stored.
    let p = problem(send(pep_body("LCS-P07", "EPEP-0030", 2), Some("push-0001")).await.unwrap(), 422).await;
    assert_eq!(field_names(&p), set(&["Idempotency-Key"]));
    assert_eq!(counts(&app), after_first);

    // Without the key, the same body is an unchanged re-send: 200.
    let res = send(body, None).await.unwrap();
    assert!(res.headers().get("idempotent-replayed").is_none());
    assert_eq!(json_with(res, 200).await, first);
}

#[actix_web::test]
async fn only_epep_and_vs_admin_push_peps() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-P08", SINCE_NOV_2)).await;
    let body = pep_body("LCS-P08", "EPEP-0040", 1);
    let child_before = child_row(&app, &child_id);

    for role in ["vso", "social_worker", "sen_caseworker", "lcs", "dashboard"] {
        let who = format!("{role}-9");
        let res = push(&app, &app.token(&who, &[role]), &body).await;
        let rid = header(&res, "x-request-id");
        problem(res, 403).await;
        assert_eq!(audit_of(&app, &rid), vec![ev(&who, "pep.push", "denied", ("pep", None), None, None)], "{role}");
    }
    let res = app.client.post(app.url("/api/v1/peps")).json(&body).send().await.unwrap();
    assert!(header(&res, "www-authenticate").starts_with("Bearer"));
    problem(res, 401).await;
    let res = push(&app, "not-a-token", &body).await;
    problem(res, 401).await;
    assert_eq!(counts(&app), [0, 0, 0, 0, 0], "nothing stored");
    assert_eq!(child_row(&app, &child_id), child_before);

    // vs_admin may push (as may epep, everywhere else in this file).
    let pep = json_with(push(&app, &admin(&app), &body).await, 201).await;
    assert_eq!(pep_row(&app, pep["id"].as_str().unwrap()).pushed_by, "admin-0001");
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Validation
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_push_with_many_bad_fields_names_every_one_and_stores_nothing() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-V01", SINCE_NOV_2)).await;
    let child_before = child_row(&app, &child_id);
    let many = |f: fn(usize) -> Value| (0..51).map(f).collect::<Vec<Value>>();
    let bad = with(
        pep_body("LCS-V01", "EPEP-V1", 1),
        json!({
            "external_id": null, "revision": null, "child_views": null, "signed_off_by": null,
            "academic_year": "2026-28",
            // The day before the meeting (10 November).
            "signed_off_at": "2026-11-09T10:00:00Z",
            // 112 of 120 is 93.3%, not 50%.
            "attendance": {"percentage": 50.0, "sessions_possible": 120, "sessions_attended": 112},
            "exclusions": {"suspensions": 0, "suspension_days": 2.0, "permanent_exclusion": false},
            "attainment": many(|i| json!({"subject": format!("Subject {i}"), "current": 4})),
            "targets": many(|i| json!({"id": format!("T-{i}"), "description": "Read", "status": "not_started"})),
            "actions": many(|i| action(&format!("A-{i}"), "school", "open", None)),
        }),
    );
    let p = problem(push(&app, &epep(&app), &bad).await, 422).await;
    assert_eq!(
        field_names(&p),
        set(&[
            "external_id",
            "revision",
            "child_views",
            "signed_off_by",
            "academic_year",
            "signed_off_at",
            "attendance.percentage",
            "exclusions.suspension_days",
            "attainment",
            "targets",
            "actions",
        ]),
        "{p}"
    );
    assert_eq!(p["errors"].as_array().unwrap().len(), 11, "each once: {p}");
    assert!(reason_of(&p, "academic_year").contains("consecutive"), "{p}");
    assert!(reason_of(&p, "signed_off_at").contains("before the meeting"), "{p}");
    assert!(reason_of(&p, "attendance.percentage").contains("93.3%"), "{p}");
    assert!(reason_of(&p, "attainment").contains("51"), "{p}");
    assert_eq!(counts(&app), [0, 0, 0, 0, 0], "nothing stored");
    assert_eq!(child_row(&app, &child_id), child_before);

    // 50 of each is the limit.
    let fifty = with(
        pep_body("LCS-V01", "EPEP-V2", 1),
        json!({
            "attainment": (0..50).map(|i| json!({"subject": format!("Subject {i}"), "current": 4})).collect::<Vec<_>>(),
            "targets": (0..50).map(|i| json!({"id": format!("T-{i}"), "description": "Read", "status": "achieved"}))
                .collect::<Vec<_>>(),
            "actions": (0..50).map(|i| action(&format!("A-{i}"), "carer", "done", None)).collect::<Vec<_>>(),
        }),
    );
    let pep = pushed(&app, &fifty, 201).await;
    assert_eq!(pep["actions"].as_array().unwrap().len(), 50);
    assert_eq!(counts(&app), [1, 0, 50, 0, 1]);
}

#[actix_web::test]
async fn row_errors_and_cross_field_errors_are_listed_together() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-V02", SINCE_NOV_2)).await;
    let child_before = child_row(&app, &child_id);
    let bad = with(
        pep_body("LCS-V02", "EPEP-V3", 1),
        json!({
            "revision": 0,
            // 10 November is in the autumn term, not spring.
            "term": "spring",
            "attendance": {"percentage": 100.0, "sessions_possible": 100, "sessions_attended": 101},
            "attainment": [{"subject": "Maths", "current": 4}, {"subject": "MATHS", "current": 5}],
            "targets": [
                {"id": "T-1", "description": "Read", "status": "done"},
                {"id": "T-1", "description": "Write", "status": "achieved"}
            ],
            "actions": [action("A-1", "teacher", "pending", None), action("A-1", "carer", "open", None)],
        }),
    );
    let p = problem(push(&app, &epep(&app), &bad).await, 422).await;
    assert_eq!(
        field_names(&p),
        set(&[
            "revision",
            "academic_year",
            "attendance.sessions_attended",
            "attainment[1].subject",
            "targets[0].status",
            "targets[1].id",
            "actions[0].owner_role",
            "actions[0].status",
            "actions[1].id",
        ]),
        "{p}"
    );
    assert!(reason_of(&p, "academic_year").contains("2026-27 autumn, not 2026-27 spring"), "{p}");
    assert!(reason_of(&p, "actions[1].id").contains("twice"), "{p}");
    assert_eq!(counts(&app), [0, 0, 0, 0, 0], "nothing stored");
    assert_eq!(child_row(&app, &child_id), child_before);
}

#[actix_web::test]
async fn the_meeting_and_the_sign_off_must_not_be_in_the_future() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-V03", SINCE_NOV_2)).await;
    // Saturday 5 December is tomorrow.
    let tomorrow = pep_at("LCS-V03", "EPEP-V4", ("2026-27", "autumn"), "2026-12-05", "2026-12-05T09:00:00Z");
    let p = problem(push(&app, &epep(&app), &tomorrow).await, 422).await;
    assert_eq!(field_names(&p), set(&["meeting_date", "signed_off_at"]), "{p}");
    assert!(reason_of(&p, "meeting_date").contains("future"));
    // A sign-off in the future of a meeting today.
    let later = pep_at("LCS-V03", "EPEP-V4", ("2026-27", "autumn"), TODAY, "2026-12-05T09:00:00Z");
    let p = problem(push(&app, &epep(&app), &later).await, 422).await;
    assert_eq!(field_names(&p), set(&["signed_off_at"]), "{p}");
    assert_eq!(counts(&app), [0, 0, 0, 0, 0]);

    // A meeting today signed off in the last second of today is accepted.
    let today = pep_at("LCS-V03", "EPEP-V4", ("2026-27", "autumn"), TODAY, "2026-12-04T23:59:59Z");
    let pep = pushed(&app, &today, 201).await;
    assert_eq!(
        (pep["meeting_date"].as_str(), pep["signed_off_at"].as_str()),
        (Some(TODAY), Some("2026-12-04T23:59:59Z"))
    );
}

#[actix_web::test]
async fn a_meeting_before_the_childs_birth_is_refused() {
    let app = app_on(TODAY).await;
    let baby = with(
        child("LCS-V04", "2026-11-01"),
        json!({"date_of_birth": "2026-11-01", "year_group": null, "school": null}),
    );
    let child_id = create_child(&app, &baby).await;
    let child_before = child_row(&app, &child_id);
    // 20 October is in the autumn term and in the past, but before the birth on 1 November.
    let body = pep_at("LCS-V04", "EPEP-V5", ("2026-27", "autumn"), "2026-10-20", "2026-10-21T10:00:00Z");
    let p = problem(push(&app, &epep(&app), &body).await, 422).await;
    assert_eq!(field_names(&p), set(&["meeting_date"]), "{p}");
    assert!(reason_of(&p, "meeting_date").contains("date of birth"));
    assert_eq!(counts(&app), [0, 0, 0, 0, 0]);
    assert_eq!(child_row(&app, &child_id), child_before);
}

#[actix_web::test]
async fn an_unknown_field_is_400_malformed_json_is_400_and_another_media_type_is_415() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-V05", SINCE_NOV_2)).await;
    let child_before = child_row(&app, &child_id);
    let good = pep_body("LCS-V05", "EPEP-V6", 1);
    for body in [with(good.clone(), json!({"colour": "blue"})), with(good.clone(), json!({"attendance": {"late": 3}}))]
    {
        let p = problem(push(&app, &epep(&app), &body).await, 400).await;
        assert!(p["detail"].as_str().unwrap().contains("unknown field"), "{p}");
    }
    let send = |content_type: &str, body: String| {
        app.client
            .post(app.url("/api/v1/peps"))
            .bearer_auth(epep(&app))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    problem(send("application/json", "{\"external_id\": ".into()).await.unwrap(), 400).await;
    problem(send("text/plain", good.to_string()).await.unwrap(), 415).await;
    assert_eq!(counts(&app), [0, 0, 0, 0, 0]);
    assert_eq!(child_row(&app, &child_id), child_before);
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Terms and compliance
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_child_long_in_care_with_no_pep_is_overdue_from_the_earlier_of_its_owed_dates() {
    let app = app_on(TODAY).await;
    // The initial PEP (24 January 2024) is owed, and this term's (30 November 2026): the earlier shows.
    let a = create_child(&app, &child("LCS-C01", LONG_AGO)).await;
    assert_eq!(child_row(&app, &a).pep_required_on, Some(d(LONG_AGO_DUE)));
    assert_eq!(schedule_of(&app, &a).await, schedule("overdue", Some(LONG_AGO_DUE)));
    // An event-driven PEP set by hand for 20 December: this term's deadline (30 November) comes first.
    let b = create_child(&app, &with(child("LCS-C02", LONG_AGO), json!({"next_pep_due_on": "2026-12-20"}))).await;
    assert_eq!(schedule_of(&app, &b).await, schedule("overdue", Some(AUTUMN_DEADLINE)));
    // Set by hand for 20 November: before this term's deadline.
    let c = create_child(&app, &with(child("LCS-C03", LONG_AGO), json!({"next_pep_due_on": "2026-11-20"}))).await;
    assert_eq!(schedule_of(&app, &c).await, schedule("overdue", Some("2026-11-20")));
}

#[actix_web::test]
async fn a_signed_off_pep_of_this_term_puts_the_child_in_date_until_next_terms_deadline() {
    let app = app_on(TODAY).await;
    let id = create_child(&app, &child("LCS-C04", LONG_AGO)).await;
    let version = child_row(&app, &id).version;
    let pep = pushed(&app, &pep_body("LCS-C04", "EPEP-C4", 1), 201).await;
    // It settles the initial PEP owed since 24 January 2024 (the meeting is after care began), so that is its
    // deadline, long past.
    assert_eq!((pep["deadline"].as_str(), pep["signed_off_late"].as_bool()), (Some(LONG_AGO_DUE), Some(true)));
    let row = child_row(&app, &id);
    assert_eq!((row.pep_required_on, row.pep_required_since, row.last_pep_term), (None, None, Some(AUTUMN_2026)));
    assert_eq!(row.version, version + 1);
    assert_eq!(schedule_of(&app, &id).await, schedule("in_date", Some(SPRING_DEADLINE)));
}

#[actix_web::test]
async fn a_pep_of_a_previous_term_does_not_make_the_child_in_date() {
    let app = app_on(TODAY).await;
    let id = create_child(&app, &child("LCS-C05", LONG_AGO)).await;
    // Summer 2025-26 runs from Easter Monday, 6 April 2026, to 31 August 2026.
    let summer = pep_at("LCS-C05", "EPEP-C5", ("2025-26", "summer"), "2026-06-10", "2026-06-12T10:00:00Z");
    let pep = pushed(&app, &summer, 201).await;
    assert_eq!((pep["deadline"].as_str(), pep["signed_off_late"].as_bool()), (Some(LONG_AGO_DUE), Some(true)));
    let row = child_row(&app, &id);
    assert_eq!((row.pep_required_on, row.last_pep_term), (None, Some(SUMMER_2025)), "the initial PEP is settled");
    // Autumn 2026-27's PEP is owed (looked after before the term began) and its deadline has passed.
    assert_eq!(schedule_of(&app, &id).await, schedule("overdue", Some(AUTUMN_DEADLINE)));

    // This term's PEP, signed off on 12 November, before the term's deadline: on time, and in date.
    let autumn = pushed(&app, &pep_body("LCS-C05", "EPEP-C5b", 1), 201).await;
    assert_eq!(
        (autumn["deadline"].as_str(), autumn["signed_off_late"].as_bool()),
        (Some(AUTUMN_DEADLINE), Some(false))
    );
    assert_eq!(child_row(&app, &id).last_pep_term, Some(AUTUMN_2026));
    assert_eq!(schedule_of(&app, &id).await, schedule("in_date", Some(SPRING_DEADLINE)));
    // The late summer PEP told the VSO; the on-time autumn one did not.
    let vso_kinds: Vec<String> =
        notification_rows(&app).iter().filter(|r| recipient(r) == "vso-0001").map(|r| r.kind.clone()).collect();
    assert_eq!(vso_kinds, strings(&["pep_signed_off_late"]));
}

#[actix_web::test]
async fn a_revision_that_moves_the_pep_to_an_earlier_term_takes_the_child_out_of_date() {
    let app = app_on(TODAY).await;
    let id = create_child(&app, &child("LCS-C10", LONG_AGO)).await;
    let pep_id = pushed_id(&app, &pep_body("LCS-C10", "EPEP-C10", 1)).await;
    assert_eq!(schedule_of(&app, &id).await, schedule("in_date", Some(SPRING_DEADLINE)));

    // Revision 2 corrects the meeting to 10 June 2026, in the summer term 2025-26: no PEP of this term is left.
    let corrected = with(
        pep_at("LCS-C10", "EPEP-C10", ("2025-26", "summer"), "2026-06-10", "2026-06-12T10:00:00Z"),
        json!({"revision": 2}),
    );
    let res = push(&app, &epep(&app), &corrected).await;
    let rid = header(&res, "x-request-id");
    let pep = json_with(res, 200).await;
    assert_eq!((pep["academic_year"].as_str(), pep["term"].as_str()), (Some("2025-26"), Some("summer")));
    let row = pep_row(&app, &pep_id);
    assert_eq!((row.term_ordinal, row.latest_in_term), (SUMMER_2025, true));
    assert_eq!(child_row(&app, &id).last_pep_term, Some(SUMMER_2025));
    // This term's PEP is owed again, and 30 November has passed.
    assert_eq!(schedule_of(&app, &id).await, schedule("overdue", Some(AUTUMN_DEADLINE)));
    assert!(with_status(&app, "overdue").await.contains("LCS-C10"));
    assert!(with_status(&app, "in_date").await.is_empty());
    // The revision names the fields it changed (in no particular order), and the child's schedule moved.
    let mut events = audit_of(&app, &rid);
    let fields: BTreeSet<String> = events[1].6.take().unwrap().split(',').map(str::to_owned).collect();
    assert_eq!(fields, set(&["revision", "academic_year", "term", "meeting_date", "signed_off_at"]));
    let c = Some(id.as_str());
    assert_eq!(
        events,
        vec![
            ev(EPEP, "child.update", "allowed", ("child", c), c, Some("pep_status")),
            ev(EPEP, "pep.revise", "allowed", ("pep", Some(pep_id.as_str())), c, None),
        ]
    );
}

#[actix_web::test]
async fn a_child_new_to_care_this_term_owes_the_initial_pep_and_is_overdue_after_it() {
    // Wednesday 25 November + 10 working days (26, 27, 30 Nov, 1-4, 7-9 Dec) = Wednesday 9 December.
    // Thursday 5 November + 10 working days (6, 9-13, 16-19 Nov) = Thursday 19 November.
    let app = app_on(TODAY).await;
    let fresh = create_child(&app, &child("LCS-C06", "2026-11-25")).await;
    let older = create_child(&app, &child("LCS-C07", "2026-11-05")).await;
    assert_eq!(child_row(&app, &fresh).pep_required_on, Some(d("2026-12-09")));
    // Not the term's deadline (30 November): care began after the term did.
    assert_eq!(schedule_of(&app, &fresh).await, schedule("due", Some("2026-12-09")));
    assert_eq!(schedule_of(&app, &older).await, schedule("overdue", Some("2026-11-19")));

    // The PEP met on 1 December, signed off on the 2nd: on time for 9 December, and in date.
    let body = pep_at("LCS-C06", "EPEP-C6", ("2026-27", "autumn"), "2026-12-01", "2026-12-02T11:00:00Z");
    let pep = pushed(&app, &body, 201).await;
    assert_eq!((pep["deadline"].as_str(), pep["signed_off_late"].as_bool()), (Some("2026-12-09"), Some(false)));
    assert_eq!(schedule_of(&app, &fresh).await, schedule("in_date", Some(SPRING_DEADLINE)));

    // On the due day itself it is still due; the day after, overdue.
    for (day, status) in [("2026-12-09", "due"), ("2026-12-10", "overdue")] {
        let app = app_on(day).await;
        let id = create_child(&app, &child("LCS-C06", "2026-11-25")).await;
        assert_eq!(schedule_of(&app, &id).await, schedule(status, Some("2026-12-09")), "{day}");
    }
}

#[actix_web::test]
async fn a_pep_met_before_care_began_does_not_settle_the_initial_pep() {
    let app = app_on(TODAY).await;
    let id = create_child(&app, &child("LCS-C08", "2026-11-25")).await;
    // A meeting on 20 November, before this care period began on the 25th (initial PEP due 9 December).
    let body = pep_at("LCS-C08", "EPEP-C8", ("2026-27", "autumn"), "2026-11-20", "2026-11-20T16:00:00Z");
    let pep = pushed(&app, &body, 201).await;
    // It settles nothing and no term PEP was owed (care began this term): no deadline.
    assert!(pep["deadline"].is_null(), "{pep}");
    assert_eq!(pep["signed_off_late"], false);
    let row = child_row(&app, &id);
    assert_eq!((row.pep_required_on, row.pep_required_since), (Some(d("2026-12-09")), Some(d("2026-11-25"))));
    assert_eq!(row.last_pep_term, Some(AUTUMN_2026));
    assert_eq!(schedule_of(&app, &id).await, schedule("due", Some("2026-12-09")));
}

#[actix_web::test]
async fn children_who_need_no_pep_are_not_required() {
    let app = app_on(TODAY).await;
    let cases = [
        // Ceased to be looked after.
        (
            with(child("LCS-N01", LONG_AGO), json!({"lac_status": "ceased", "ceased_on": "2026-10-01"})),
            "not_required",
            None,
        ),
        // Two years old (born 1 June 2024).
        (
            with(child("LCS-N02", "2024-07-01"), json!({"date_of_birth": "2024-06-01", "year_group": null})),
            "not_required",
            None,
        ),
        // Three today (born 4 December 2023): the initial PEP of 24 January 2024 is owed.
        (
            with(child("LCS-N03", LONG_AGO), json!({"date_of_birth": "2023-12-04", "year_group": "N1"})),
            "overdue",
            Some(LONG_AGO_DUE),
        ),
        // Eighteen today (born 4 December 2008).
        (
            with(child("LCS-N04", LONG_AGO), json!({"date_of_birth": "2008-12-04", "year_group": "13"})),
            "not_required",
            None,
        ),
        // Seventeen, past Year 13.
        (
            with(child("LCS-N05", LONG_AGO), json!({"date_of_birth": "2009-06-01", "year_group": "14"})),
            "not_required",
            None,
        ),
        // Seventeen, in Year 13.
        (
            with(child("LCS-N06", LONG_AGO), json!({"date_of_birth": "2009-06-01", "year_group": "13"})),
            "overdue",
            Some(LONG_AGO_DUE),
        ),
    ];
    for (body, status, next) in &cases {
        let id = create_child(&app, body).await;
        assert_eq!(schedule_of(&app, &id).await, schedule(status, *next), "{}", body["lcs_id"]);
        if body["lcs_id"] == "LCS-N02" {
            // The two-year-old has an initial PEP date stored (1 July 2024 + 10 working days: 2-5, 8-12, 15 July);
            // the age rule, not a missing date, makes the PEP not required.
            assert_eq!(child_row(&app, &id).pep_required_on, Some(d("2024-07-15")));
        }
    }
}

/// The `lcs_id`s `GET /api/v1/children?pep_status=` lists, checking each item says the same status.
async fn with_status(app: &TestApp, status: &str) -> BTreeSet<String> {
    let res = app.get("/api/v1/children", &admin(app)).query(&[("pep_status", status), ("limit", "200")]).send().await;
    let page = json_with(res.unwrap(), 200).await;
    assert!(page["next_cursor"].is_null());
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["pep_status"], status, "{c}");
            c["lcs_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Every child's own status and date, then the list filter for each of the four statuses against them.
async fn assert_filter_agrees(app: &TestApp, expected: &[(&str, String, &str, Option<&str>)]) {
    for (lcs, id, status, next) in expected {
        assert_eq!(schedule_of(app, id).await, schedule(status, *next), "{lcs}");
    }
    for status in ["in_date", "due", "overdue", "not_required"] {
        let want: BTreeSet<String> = expected.iter().filter(|e| e.2 == status).map(|e| e.0.to_owned()).collect();
        assert!(!want.is_empty(), "each status has children: {status}");
        assert_eq!(with_status(app, status).await, want, "pep_status={status}");
    }
}

#[actix_web::test]
async fn the_pep_status_filter_agrees_with_each_childs_own_status() {
    let app = app_on(TODAY).await;
    let app_ref = &app;
    let mk = |lcs: &'static str, body: Value| async move { (lcs, create_child(app_ref, &body).await) };
    // In date: a term PEP signed off (one new to care, one long in care).
    let i1 = mk("LCS-F01", child("LCS-F01", SINCE_NOV_2)).await;
    let i2 = mk("LCS-F02", child("LCS-F02", LONG_AGO)).await;
    pushed(&app, &pep_body("LCS-F01", "EPEP-F01", 1), 201).await;
    pushed(&app, &pep_body("LCS-F02", "EPEP-F02", 1), 201).await;
    // Due: new to care (25 Nov -> 9 Dec; today 4 Dec -> 18 Dec: 7-11, 14-18 Dec); an event-driven PEP due today;
    // a term PEP met before care began, so the initial PEP is still owed.
    let d1 = mk("LCS-F03", child("LCS-F03", "2026-11-25")).await;
    let d2 = mk("LCS-F04", child("LCS-F04", TODAY)).await;
    let d3 = mk("LCS-F05", with(child("LCS-F05", "2026-11-20"), json!({"next_pep_due_on": TODAY}))).await;
    let d4 = mk("LCS-F06", child("LCS-F06", "2026-11-25")).await;
    pushed(&app, &pep_at("LCS-F06", "EPEP-F06", ("2026-27", "autumn"), "2026-11-20", "2026-11-20T16:00:00Z"), 201)
        .await;
    // Overdue: the initial PEP of 2024; the initial PEP of 19 November; this term's PEP after a summer PEP; this
    // term's PEP before a later event-driven one.
    let o1 = mk("LCS-F07", child("LCS-F07", LONG_AGO)).await;
    let o2 = mk("LCS-F08", child("LCS-F08", "2026-11-05")).await;
    let o3 = mk("LCS-F09", child("LCS-F09", LONG_AGO)).await;
    pushed(&app, &pep_at("LCS-F09", "EPEP-F09", ("2025-26", "summer"), "2026-06-10", "2026-06-12T10:00:00Z"), 201)
        .await;
    let o4 = mk("LCS-F10", with(child("LCS-F10", LONG_AGO), json!({"next_pep_due_on": "2026-12-20"}))).await;
    // Not required: ceased, two years old, eighteen today, Year 14.
    let n1 =
        mk("LCS-F11", with(child("LCS-F11", LONG_AGO), json!({"lac_status": "ceased", "ceased_on": "2026-10-01"})))
            .await;
    let n2 =
        mk("LCS-F12", with(child("LCS-F12", "2024-07-01"), json!({"date_of_birth": "2024-06-01", "year_group": null})))
            .await;
    let n3 =
        mk("LCS-F13", with(child("LCS-F13", LONG_AGO), json!({"date_of_birth": "2008-12-04", "year_group": "13"})))
            .await;
    let n4 =
        mk("LCS-F14", with(child("LCS-F14", LONG_AGO), json!({"date_of_birth": "2009-06-01", "year_group": "14"})))
            .await;

    let expected = [
        (i1.0, i1.1, "in_date", Some(SPRING_DEADLINE)),
        (i2.0, i2.1, "in_date", Some(SPRING_DEADLINE)),
        (d1.0, d1.1, "due", Some("2026-12-09")),
        (d2.0, d2.1, "due", Some("2026-12-18")),
        (d3.0, d3.1, "due", Some(TODAY)),
        (d4.0, d4.1, "due", Some("2026-12-09")),
        (o1.0, o1.1, "overdue", Some(LONG_AGO_DUE)),
        (o2.0, o2.1, "overdue", Some("2026-11-19")),
        (o3.0, o3.1, "overdue", Some(AUTUMN_DEADLINE)),
        (o4.0, o4.1, "overdue", Some(AUTUMN_DEADLINE)),
        (n1.0, n1.1, "not_required", None),
        (n2.0, n2.1, "not_required", None),
        (n3.0, n3.1, "not_required", None),
        (n4.0, n4.1, "not_required", None),
    ];
    assert_filter_agrees(&app, &expected).await;
    assert_eq!(app.count("children"), 14);
}

#[actix_web::test]
async fn before_the_terms_deadline_the_terms_pep_is_due_and_the_filter_agrees() {
    // Friday 20 November 2026: autumn term, ten days before its deadline.
    let app = app_on("2026-11-20").await;
    let app_ref = &app;
    let mk = |lcs: &'static str, body: Value| async move { (lcs, create_child(app_ref, &body).await) };
    // Long in care, last PEP in the summer: this term's PEP is due by 30 November.
    let due_term = mk("LCS-G01", child("LCS-G01", LONG_AGO)).await;
    pushed(&app, &pep_at("LCS-G01", "EPEP-G01", ("2025-26", "summer"), "2026-06-10", "2026-06-12T10:00:00Z"), 201)
        .await;
    // New to care on Tuesday 10 November: initial PEP due Tuesday 24 November (11-13, 16-20, 23, 24).
    let due_initial = mk("LCS-G02", child("LCS-G02", "2026-11-10")).await;
    // New to care on 5 November: due 19 November, yesterday.
    let overdue_initial = mk("LCS-G03", child("LCS-G03", "2026-11-05")).await;
    // Long in care, no PEP ever: the initial PEP of 2024.
    let overdue_old = mk("LCS-G04", child("LCS-G04", LONG_AGO)).await;
    // In date: a PEP of this term.
    let in_date = mk("LCS-G05", child("LCS-G05", LONG_AGO)).await;
    pushed(&app, &pep_body("LCS-G05", "EPEP-G05", 1), 201).await;
    let not_required =
        mk("LCS-G06", with(child("LCS-G06", LONG_AGO), json!({"lac_status": "ceased", "ceased_on": "2026-10-01"})))
            .await;
    let expected = [
        (due_term.0, due_term.1.clone(), "due", Some(AUTUMN_DEADLINE)),
        (due_initial.0, due_initial.1, "due", Some("2026-11-24")),
        (overdue_initial.0, overdue_initial.1, "overdue", Some("2026-11-19")),
        (overdue_old.0, overdue_old.1, "overdue", Some(LONG_AGO_DUE)),
        (in_date.0, in_date.1, "in_date", Some(SPRING_DEADLINE)),
        (not_required.0, not_required.1, "not_required", None),
    ];
    assert_filter_agrees(&app, &expected).await;

    // Its autumn PEP, signed off on 12 November: on time for 30 November, and in date.
    let pep = pushed(&app, &pep_body("LCS-G01", "EPEP-G01b", 1), 201).await;
    assert_eq!((pep["deadline"].as_str(), pep["signed_off_late"].as_bool()), (Some(AUTUMN_DEADLINE), Some(false)));
    assert_eq!(schedule_of(&app, &due_term.1).await, schedule("in_date", Some(SPRING_DEADLINE)));
    assert!(with_status(&app, "in_date").await.contains("LCS-G01"));
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Sign-off effects
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_sign_off_tells_the_social_worker_of_the_pep_and_of_each_open_action_of_theirs() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-S01", SINCE_NOV_2)).await;
    let body = with(
        pep_body("LCS-S01", "EPEP-S1", 1),
        json!({"actions": [
            action("A-1", "social_worker", "open", Some("2026-12-18")),
            action("A-2", "social_worker", "done", None),
            action("A-3", "social_worker", "cancelled", None),
            action("A-4", "school", "open", None),
            action("A-5", "vso", "open", None),
            action("A-6", "carer", "open", None),
            action("A-7", "social_worker", "open", None),
        ]}),
    );
    pushed(&app, &body, 201).await;
    // One for the PEP, one for each of; on time, so nothing for the VSO.
    assert_eq!(
        notified(&app, 0),
        pairs(&[("sw-0001", "pep_signed_off"), ("sw-0001", "pep_action"), ("sw-0001", "pep_action")])
    );
    let rows = notification_rows(&app);
    assert!(rows.iter().all(|r| r.child_id.as_deref() == Some(child_id.as_str()) && r.acknowledged_at.is_none()));
    let summaries: Vec<&str> = rows.iter().map(|r| r.summary.as_str()).collect();
    assert!(summaries[0].contains("LCS-S01") && summaries[0].contains("2026-27 autumn"), "{}", summaries[0]);
    assert!(summaries[0].contains("2026-11-12"), "{}", summaries[0]);
    let actions: Vec<&&str> = summaries.iter().filter(|s| s.contains("PEP action")).collect();
    assert_eq!(actions.len(), 2);
    assert!(actions.iter().any(|s| s.contains("A-1") && s.contains("due 2026-12-18")), "{actions:?}");
    assert!(actions.iter().any(|s| s.contains("A-7") && s.contains("no date set")), "{actions:?}");

    // The social worker's inbox; nobody else heard anything.
    let items = inbox(&app, &sw(&app)).await;
    assert_eq!(items.len(), 3);
    assert_eq!(kinds_in(&items), set(&["pep_signed_off", "pep_action"]));
    assert!(items.iter().all(|n| n["recipient_id"] == "sw-0001" && n["child_id"] == child_id.as_str()));
    assert!(inbox(&app, &vso(&app)).await.is_empty());
    assert!(inbox(&app, &admin(&app)).await.is_empty());
}

#[actix_web::test]
async fn a_revision_tells_of_the_revision_and_only_of_new_or_changed_open_actions_of_the_social_worker() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-S02", SINCE_NOV_2)).await;
    let rev1 = with(
        pep_body("LCS-S02", "EPEP-S2", 1),
        json!({"actions": [
            action("A-1", "social_worker", "open", Some("2026-12-18")),
            action("A-2", "social_worker", "open", Some("2026-12-11")),
            action("A-3", "social_worker", "done", None),
            action("A-4", "school", "open", None),
        ]}),
    );
    pushed(&app, &rev1, 201).await;
    assert_eq!(notification_rows(&app).len(), 3, "the PEP, A-1 and A-2");

    let rev2 = with(
        pep_body("LCS-S02", "EPEP-S2", 2),
        json!({"actions": [
            // Unchanged.
            action("A-1", "social_worker", "open", Some("2026-12-18")),
            // A new due date.
            action("A-2", "social_worker", "open", Some("2027-01-15")),
            action("A-3", "social_worker", "done", None),
            // Changed, but the school's.
            {"id": "A-4", "description": "Changed", "owner_role": "school", "status": "open"},
            // New and open.
            action("A-5", "social_worker", "open", None),
            // New but cancelled.
            action("A-6", "social_worker", "cancelled", None),
        ]}),
    );
    pushed(&app, &rev2, 200).await;
    assert_eq!(
        notified(&app, 3),
        pairs(&[("sw-0001", "pep_revised"), ("sw-0001", "pep_action"), ("sw-0001", "pep_action")])
    );
    let rows = notification_rows(&app);
    assert!(rows[3].summary.contains("revision 2"), "{}", rows[3].summary);
    let new_actions: BTreeSet<&str> = rows[4..]
        .iter()
        .map(|r| {
            if r.summary.contains("A-2") {
                "A-2"
            } else if r.summary.contains("A-5") {
                "A-5"
            } else {
                "?"
            }
        })
        .collect();
    assert_eq!(new_actions, BTreeSet::from(["A-2", "A-5"]));
    assert!(rows[4..].iter().any(|r| r.summary.contains("due 2027-01-15")));

    // Revision 2 again: nothing new.
    pushed(&app, &rev2, 200).await;
    assert_eq!(notification_rows(&app).len(), 6);
}

#[actix_web::test]
async fn with_no_social_worker_the_vs_admin_team_is_told() {
    let app = app_on(TODAY).await;
    create_child(&app, &with(child("LCS-S03", SINCE_NOV_2), json!({"social_worker_id": null}))).await;
    let body =
        with(pep_body("LCS-S03", "EPEP-S3", 1), json!({"actions": [action("A-1", "social_worker", "open", None)]}));
    pushed(&app, &body, 201).await;
    assert_eq!(notified(&app, 0), pairs(&[("team:vs_admin", "pep_signed_off"), ("team:vs_admin", "pep_action")]));
    for who in ["admin-0001", "admin-0002"] {
        let items = inbox(&app, &app.token(who, &["vs_admin"])).await;
        assert_eq!(kinds_in(&items), set(&["pep_signed_off", "pep_action"]), "{who}");
        assert!(items.iter().all(|n| n["recipient_team"] == "vs_admin" && n["recipient_id"].is_null()));
    }
    assert!(inbox(&app, &sw(&app)).await.is_empty());
}

#[actix_web::test]
async fn a_late_sign_off_tells_the_vso_and_an_on_time_one_does_not() {
    let app = app_on(TODAY).await;
    // All in care since 2 November: initial PEP due 16 November.
    create_child(&app, &child("LCS-S04", SINCE_NOV_2)).await;
    create_child(&app, &child("LCS-S05", SINCE_NOV_2)).await;
    create_child(&app, &with(child("LCS-S06", SINCE_NOV_2), json!({"vso_id": null}))).await;

    // Signed off on 17 November: a day late.
    let late = pep_at("LCS-S04", "EPEP-S4", ("2026-27", "autumn"), "2026-11-17", "2026-11-17T09:00:00Z");
    let pep = pushed(&app, &late, 201).await;
    assert_eq!((pep["deadline"].as_str(), pep["signed_off_late"].as_bool()), (Some(DUE_NOV_16), Some(true)));
    assert_eq!(notified(&app, 0), pairs(&[("sw-0001", "pep_signed_off"), ("vso-0001", "pep_signed_off_late")]));
    let to_vso = &notification_rows(&app)[1];
    assert!(to_vso.summary.contains("2026-11-16") && to_vso.summary.contains("2026-11-17"), "{}", to_vso.summary);
    let items = inbox(&app, &vso(&app)).await;
    assert_eq!(kinds_in(&items), set(&["pep_signed_off_late"]));

    // Signed off on 16 November, the deadline itself: on time.
    let on_time = pep_at("LCS-S05", "EPEP-S5", ("2026-27", "autumn"), "2026-11-16", "2026-11-16T17:00:00Z");
    let pep = pushed(&app, &on_time, 201).await;
    assert_eq!((pep["deadline"].as_str(), pep["signed_off_late"].as_bool()), (Some(DUE_NOV_16), Some(false)));
    assert_eq!(notified(&app, 2), pairs(&[("sw-0001", "pep_signed_off")]));

    // Late with no VSO: the vs_admin team.
    let late = pep_at("LCS-S06", "EPEP-S6", ("2026-27", "autumn"), "2026-11-18", "2026-11-18T09:00:00Z");
    pushed(&app, &late, 201).await;
    assert_eq!(notified(&app, 3), pairs(&[("sw-0001", "pep_signed_off"), ("team:vs_admin", "pep_signed_off_late")]));

    // A revision of the late PEP keeps its deadline and lateness and does not tell the VSO again.
    let rev2 = late_rev("LCS-S04", "EPEP-S4");
    let pep = pushed(&app, &rev2, 200).await;
    assert_eq!((pep["deadline"].as_str(), pep["signed_off_late"].as_bool()), (Some(DUE_NOV_16), Some(true)));
    assert_eq!(notified(&app, 5), pairs(&[("sw-0001", "pep_revised")]));
    assert_eq!(inbox(&app, &vso(&app)).await.len(), 1);
}

/// Revision 2 of the PEP signed off late on 17 November.
fn late_rev(lcs_id: &str, external_id: &str) -> Value {
    with(
        pep_at(lcs_id, external_id, ("2026-27", "autumn"), "2026-11-17", "2026-11-17T09:00:00Z"),
        json!({"revision": 2, "child_views": "Updated after the meeting."}),
    )
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Reads and caseload
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn the_list_filters_by_child_year_and_term_and_pages_with_a_cursor() {
    let app = app_on(TODAY).await;
    let p = create_child(&app, &child("LCS-L01", LONG_AGO)).await;
    let q = create_child(&app, &child("LCS-L02", LONG_AGO)).await;
    // Spring 2025-26: 1 January to 5 April 2026 (Easter Monday 6 April starts the summer).
    let pushes = [
        pep_at("LCS-L01", "EPEP-L1", ("2025-26", "summer"), "2026-06-10", "2026-06-12T10:00:00Z"),
        pep_body("LCS-L01", "EPEP-L2", 1),
        pep_at("LCS-L02", "EPEP-L3", ("2025-26", "spring"), "2026-02-10", "2026-02-11T10:00:00Z"),
        pep_at("LCS-L02", "EPEP-L4", ("2025-26", "summer"), "2026-05-12", "2026-05-13T10:00:00Z"),
        pep_body("LCS-L02", "EPEP-L5", 1),
    ];
    for body in &pushes {
        pushed(&app, body, 201).await;
    }
    let token = vso(&app);
    assert_eq!(listed(&app, &token, &[]).await, strings(&["EPEP-L1", "EPEP-L2", "EPEP-L3", "EPEP-L4", "EPEP-L5"]));
    assert_eq!(listed(&app, &token, &[("child_id", p.as_str())]).await, strings(&["EPEP-L1", "EPEP-L2"]));
    assert_eq!(listed(&app, &token, &[("child_id", q.as_str())]).await, strings(&["EPEP-L3", "EPEP-L4", "EPEP-L5"]));
    assert_eq!(
        listed(&app, &token, &[("academic_year", "2025-26")]).await,
        strings(&["EPEP-L1", "EPEP-L3", "EPEP-L4"])
    );
    assert_eq!(listed(&app, &token, &[("term", "autumn")]).await, strings(&["EPEP-L2", "EPEP-L5"]));
    assert_eq!(
        listed(&app, &token, &[("academic_year", "2025-26"), ("term", "summer")]).await,
        strings(&["EPEP-L1", "EPEP-L4"])
    );
    assert_eq!(listed(&app, &token, &[("child_id", q.as_str()), ("term", "summer")]).await, strings(&["EPEP-L4"]));
    assert!(listed(&app, &token, &[("academic_year", "2024-25")]).await.is_empty());

    // Pages of two: L1 L2, L3 L4, L5.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let page = json_with(app.get("/api/v1/peps", &token).query(&query).send().await.unwrap(), 200).await;
        pages += 1;
        seen.extend(external_ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        if pages == 1 {
            // A cursor is bound to its filters and caller.
            let c = page["next_cursor"].as_str().unwrap();
            problem(list_peps(&app, &token, &[("limit", "2"), ("cursor", c), ("term", "autumn")]).await, 400).await;
            problem(list_peps(&app, &admin(&app), &[("limit", "2"), ("cursor", c)]).await, 400).await;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, strings(&["EPEP-L1", "EPEP-L2", "EPEP-L3", "EPEP-L4", "EPEP-L5"]));

    for bad in [
        vec![("academic_year", "2026-28")],
        vec![("academic_year", "2026/27")],
        vec![("term", "winter")],
        vec![("child_id", "not-a-uuid")],
        vec![("limit", "0")],
        vec![("limit", "201")],
        vec![("colour", "blue")],
        vec![("cursor", "forged.cursor")],
    ] {
        problem(list_peps(&app, &token, &bad).await, 400).await;
    }
}

#[actix_web::test]
async fn a_pep_is_read_with_its_etag_and_answers_304_while_unchanged() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-R01", SINCE_NOV_2)).await;
    let created = pushed(&app, &pep_body("LCS-R01", "EPEP-R1", 1), 201).await;
    let id = created["id"].as_str().unwrap().to_owned();

    let res = get_pep(&app, &vso(&app), &id).await;
    assert_eq!(header(&res, "etag"), "\"v1\"");
    assert_eq!(json_with(res, 200).await, created);

    for tag in ["\"v1\"", "W/\"v1\"", "\"v0\", \"v1\""] {
        let res = app.get(&pep_path(&id), &vso(&app)).header("if-none-match", tag).send().await.unwrap();
        assert_eq!(res.status(), 304, "{tag}");
        assert_eq!(header(&res, "etag"), "\"v1\"");
        assert_eq!(header(&res, "cache-control"), "no-store");
        assert!(res.text().await.unwrap().is_empty());
    }
    let res = app.get(&pep_path(&id), &vso(&app)).header("if-none-match", "\"v0\"").send().await.unwrap();
    assert_eq!(res.status(), 200);

    // After a revision the old tag no longer matches.
    pushed(&app, &pep_body("LCS-R01", "EPEP-R1", 2), 200).await;
    let res = app.get(&pep_path(&id), &vso(&app)).header("if-none-match", "\"v1\"").send().await.unwrap();
    assert_eq!(header(&res, "etag"), "\"v2\"");
    assert_eq!(json_with(res, 200).await["revision"], 2);

    problem(get_pep(&app, &vso(&app), &uuid::Uuid::new_v4().to_string()).await, 404).await;
    problem(get_pep(&app, &vso(&app), "not-a-uuid").await, 400).await;
    problem(get_revisions(&app, &vso(&app), &uuid::Uuid::new_v4().to_string()).await, 404).await;
}

#[actix_web::test]
async fn who_reads_which_pep_follows_the_childs_caseload() {
    let app = app_on(TODAY).await;
    // X: sw-0001's, with an EHCP and sen-0001; Y: sw-0002's; Z: sw-0001's, SEN support.
    let x = create_child(
        &app,
        &with(child("LCS-X", SINCE_NOV_2), json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0001"})),
    )
    .await;
    let y = create_child(&app, &with(child("LCS-Y", SINCE_NOV_2), json!({"social_worker_id": "sw-0002"}))).await;
    create_child(&app, &with(child("LCS-Z", SINCE_NOV_2), json!({"sen_status": "sen_support"}))).await;
    let px = pushed_id(&app, &pep_body("LCS-X", "EPEP-X", 1)).await;
    let py = pushed_id(&app, &pep_body("LCS-Y", "EPEP-Y", 1)).await;
    // Z's PEP is pushed by another ePEP client.
    let other_epep = app.token("epep-0002", &["epep"]);
    let pz = json_with(push(&app, &other_epep, &pep_body("LCS-Z", "EPEP-Z", 1)).await, 201).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let all = [("EPEP-X", px.as_str()), ("EPEP-Y", py.as_str()), ("EPEP-Z", pz.as_str())];

    let readers: [(&str, &str, &[&str]); 9] = [
        ("vso-0001", "vso", &["EPEP-X", "EPEP-Y", "EPEP-Z"]),
        ("vso-0002", "vso", &["EPEP-X", "EPEP-Y", "EPEP-Z"]),
        ("admin-0002", "vs_admin", &["EPEP-X", "EPEP-Y", "EPEP-Z"]),
        ("sw-0001", "social_worker", &["EPEP-X", "EPEP-Z"]),
        ("sw-0002", "social_worker", &["EPEP-Y"]),
        ("sen-0001", "sen_caseworker", &["EPEP-X"]),
        ("sen-0002", "sen_caseworker", &[]),
        (EPEP, "epep", &["EPEP-X", "EPEP-Y"]),
        ("epep-0002", "epep", &["EPEP-Z"]),
    ];
    for (sub, role, visible) in readers {
        let token = app.token(sub, &[role]);
        assert_eq!(listed(&app, &token, &[]).await, strings(visible), "{sub}");
        for (ext, id) in all {
            let want = if visible.contains(&ext) { 200 } else { 404 };
            let res = get_pep(&app, &token, id).await;
            let rid = header(&res, "x-request-id");
            if want == 200 {
                assert_eq!(json_with(res, 200).await["external_id"], ext, "{sub}");
                assert_eq!(json_with(get_revisions(&app, &token, id).await, 200).await["items"][0]["revision"], 1);
            } else {
                problem(res, 404).await;
                problem(get_revisions(&app, &token, id).await, 404).await;
                // The refusal is recorded against the PEP and its child.
                let child = pep_row(&app, id).child_id;
                assert_eq!(
                    audit_of(&app, &rid),
                    vec![ev(sub, "pep.read", "denied", ("pep", Some(id)), Some(child.as_str()), None)],
                    "{sub} {ext}"
                );
            }
        }
    }
    // A child_id filter cannot widen a caseload.
    assert!(listed(&app, &app.token("sw-0002", &["social_worker"]), &[("child_id", x.as_str())]).await.is_empty());
    assert_eq!(
        listed(&app, &app.token("sw-0002", &["social_worker"]), &[("child_id", y.as_str())]).await,
        strings(&["EPEP-Y"])
    );
}

#[actix_web::test]
async fn lcs_and_dashboard_may_not_read_peps_and_no_token_is_401() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-R02", SINCE_NOV_2)).await;
    let id = pushed_id(&app, &pep_body("LCS-R02", "EPEP-R2", 1)).await;
    for role in ["lcs", "dashboard"] {
        let token = app.token(&format!("{role}-1"), &[role]);
        let res = list_peps(&app, &token, &[]).await;
        let rid = header(&res, "x-request-id");
        problem(res, 403).await;
        assert_eq!(
            audit_of(&app, &rid),
            vec![ev(&format!("{role}-1"), "pep.list", "denied", ("pep", None), None, None)]
        );
        problem(get_pep(&app, &token, &id).await, 403).await;
        problem(get_revisions(&app, &token, &id).await, 403).await;
    }
    for res in [
        app.client.get(app.url("/api/v1/peps")).send().await.unwrap(),
        app.client.get(app.url(&pep_path(&id))).send().await.unwrap(),
    ] {
        assert!(header(&res, "www-authenticate").starts_with("Bearer"));
        problem(res, 401).await;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 6. Quality review
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn the_first_quality_review_answers_201_and_a_replacement_needs_the_current_etag() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-Q01", SINCE_NOV_2)).await;
    let id = pushed_id(&app, &pep_body("LCS-Q01", "EPEP-Q1", 1)).await;
    let amber = json!({"rating": "amber", "comments": "The targets need dates."});
    // A first review needs no If-Match, but one sent is checked.
    problem(review(&app, &vso(&app), &id, Some("\"v9\""), &amber).await, 412).await;
    assert_eq!(counts(&app), [1, 0, 2, 0, 1]);

    let res = review(&app, &vso(&app), &id, None, &amber).await;
    assert_eq!(header(&res, "etag"), "\"v2\"");
    let body = json_with(res, 201).await;
    assert_eq!(body["quality_rating"], "amber");
    let qr = &body["quality_review"];
    assert_eq!((qr["rating"].as_str(), qr["comments"].as_str()), (Some("amber"), Some("The targets need dates.")));
    assert_eq!((qr["reviewed_by"].as_str(), qr["revision"].as_i64()), (Some("vso-0001"), Some(1)));
    assert!(qr["reviewed_at"].is_string());
    assert_eq!(counts(&app), [1, 0, 2, 1, 1], "one review, no notification for amber");

    // A second review: If-Match is required, and must be current.
    let green = json!({"rating": "green", "comments": "Dates added."});
    problem(review(&app, &vso(&app), &id, None, &green).await, 428).await;
    problem(review(&app, &vso(&app), &id, Some("\"v1\""), &green).await, 412).await;
    assert_eq!(counts(&app), [1, 0, 2, 1, 1], "nothing stored");
    assert_eq!(pep_row(&app, &id).quality_rating.as_deref(), Some("amber"));

    let res = review(&app, &admin(&app), &id, Some("\"v2\""), &green).await;
    assert_eq!(header(&res, "etag"), "\"v3\"");
    let body = json_with(res, 200).await;
    assert_eq!(body["quality_rating"], "green");
    assert_eq!(body["quality_review"]["reviewed_by"], "admin-0001");
    assert_eq!(counts(&app), [1, 0, 2, 2, 1], "both reviews kept; no notification for green");
    let reviews = review_rows(&app);
    assert_eq!(reviews.iter().map(|r| r.rating.as_str()).collect::<Vec<_>>(), vec!["amber", "green"]);
    assert!(reviews.iter().all(|r| r.pep_id == id && r.revision == 1));
    let row = pep_row(&app, &id);
    assert_eq!((row.quality_rating.as_deref(), row.version), (Some("green"), 3));

    // Reads show the latest.
    let res = get_pep(&app, &vso(&app), &id).await;
    assert_eq!(header(&res, "etag"), "\"v3\"");
    let read = json_with(res, 200).await;
    assert_eq!(
        (read["quality_rating"].as_str(), read["quality_review"]["rating"].as_str()),
        (Some("green"), Some("green"))
    );
    let page = json_with(list_peps(&app, &vso(&app), &[]).await, 200).await;
    assert_eq!(page["items"][0]["quality_review"]["comments"], "Dates added.");
}

#[actix_web::test]
async fn a_red_rating_tells_the_vso_and_the_social_worker() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-Q02", SINCE_NOV_2)).await;
    let id = pushed_id(&app, &pep_body("LCS-Q02", "EPEP-Q2", 1)).await;
    json_with(review(&app, &vso(&app), &id, None, &json!({"rating": "red"})).await, 201).await;
    assert_eq!(notified(&app, 1), pairs(&[("vso-0001", "pep_quality_red"), ("sw-0001", "pep_quality_red")]));
    assert!(notification_rows(&app)[1..].iter().all(|r| r.child_id.as_deref() == Some(child_id.as_str())));
    assert_eq!(kinds_in(&inbox(&app, &vso(&app)).await), set(&["pep_quality_red"]));
    assert_eq!(kinds_in(&inbox(&app, &sw(&app)).await), set(&["pep_signed_off", "pep_quality_red"]));

    // No VSO and no social worker: the vs_admin team, once.
    create_child(&app, &with(child("LCS-Q03", SINCE_NOV_2), json!({"vso_id": null, "social_worker_id": null}))).await;
    let other = pushed_id(&app, &pep_body("LCS-Q03", "EPEP-Q3", 1)).await;
    let before = notification_rows(&app).len();
    json_with(review(&app, &vso(&app), &other, None, &json!({"rating": "red"})).await, 201).await;
    assert_eq!(notified(&app, before), pairs(&[("team:vs_admin", "pep_quality_red")]));
}

#[actix_web::test]
async fn only_vso_and_vs_admin_rate_peps_and_the_rating_is_checked() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-Q04", SINCE_NOV_2)).await;
    let id = pushed_id(&app, &pep_body("LCS-Q04", "EPEP-Q4", 1)).await;
    let stored = pep_row(&app, &id);
    let before = counts(&app);
    let green = json!({"rating": "green"});
    for role in ["social_worker", "epep", "sen_caseworker", "lcs", "dashboard"] {
        let res = review(&app, &app.token("sw-0001", &[role]), &id, None, &green).await;
        let rid = header(&res, "x-request-id");
        problem(res, 403).await;
        assert_eq!(
            audit_of(&app, &rid),
            vec![ev("sw-0001", "pep.quality_review", "denied", ("pep", None), None, None)]
        );
    }
    for (body, field) in [
        (json!({"rating": "purple"}), "rating"),
        (json!({"comments": "No rating"}), "rating"),
        (json!({"rating": "red", "comments": "x".repeat(5001)}), "comments"),
    ] {
        let p = problem(review(&app, &vso(&app), &id, None, &body).await, 422).await;
        assert_eq!(field_names(&p), set(&[field]), "{p}");
    }
    problem(review(&app, &vso(&app), &id, None, &json!({"rating": "red", "score": 1})).await, 400).await;
    problem(review(&app, &vso(&app), &uuid::Uuid::new_v4().to_string(), None, &green).await, 404).await;
    assert_eq!(counts(&app), before, "no review, no notification");
    assert_eq!(pep_row(&app, &id), stored);
}

// ---------------------------------------------------------------------------------------------------------------
// 7. LCS upload
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn the_childs_social_worker_confirms_the_lcs_upload_once() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-U01", SINCE_NOV_2)).await;
    let id = pushed_id(&app, &pep_body("LCS-U01", "EPEP-U1", 1)).await;

    let res = lcs_upload(&app, &sw(&app), &id).await;
    assert_eq!(header(&res, "etag"), "\"v2\"");
    let first = json_with(res, 200).await;
    let at = first["lcs_upload_confirmed_at"].as_str().unwrap().to_owned();
    assert_eq!(first["lcs_upload_confirmed_by"], "sw-0001");
    let row = pep_row(&app, &id);
    assert_eq!((row.lcs_upload_confirmed_by.as_deref(), row.version), (Some("sw-0001"), 2));
    let stored_at = row.lcs_upload_confirmed_at.unwrap().and_utc();
    assert_eq!(chrono::DateTime::parse_from_rfc3339(&at).unwrap(), stored_at);

    // Again, and by vs_admin: the first confirmation stands.
    for token in [sw(&app), admin(&app)] {
        let res = lcs_upload(&app, &token, &id).await;
        assert_eq!(header(&res, "etag"), "\"v2\"");
        let again = json_with(res, 200).await;
        assert_eq!(
            (again["lcs_upload_confirmed_at"].as_str(), again["lcs_upload_confirmed_by"].as_str()),
            (Some(at.as_str()), Some("sw-0001"))
        );
    }
    assert_eq!(pep_row(&app, &id), row);

    // Another social worker: 404; other roles: 403.
    problem(lcs_upload(&app, &app.token("sw-0002", &["social_worker"]), &id).await, 404).await;
    for role in ["vso", "sen_caseworker", "epep", "lcs"] {
        problem(lcs_upload(&app, &app.token("someone", &[role]), &id).await, 403).await;
    }
    problem(lcs_upload(&app, &sw(&app), &uuid::Uuid::new_v4().to_string()).await, 404).await;
    assert_eq!(pep_row(&app, &id), row);
}

#[actix_web::test]
async fn a_new_revision_needs_a_new_lcs_upload_confirmation() {
    let app = app_on(TODAY).await;
    create_child(&app, &child("LCS-U02", SINCE_NOV_2)).await;
    let id = pushed_id(&app, &pep_body("LCS-U02", "EPEP-U2", 1)).await;
    json_with(lcs_upload(&app, &sw(&app), &id).await, 200).await;
    assert!(pep_row(&app, &id).lcs_upload_confirmed_at.is_some());

    let revised = pushed(&app, &pep_body("LCS-U02", "EPEP-U2", 2), 200).await;
    assert!(revised["lcs_upload_confirmed_at"].is_null() && revised["lcs_upload_confirmed_by"].is_null());
    let row = pep_row(&app, &id);
    assert_eq!((row.lcs_upload_confirmed_at, row.lcs_upload_confirmed_by), (None, None));

    let confirmed = json_with(lcs_upload(&app, &admin(&app), &id).await, 200).await;
    assert_eq!(confirmed["lcs_upload_confirmed_by"], "admin-0001");
    assert!(confirmed["lcs_upload_confirmed_at"].is_string());
}

// ---------------------------------------------------------------------------------------------------------------
// 8. Audit
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn every_pep_read_and_change_leaves_an_audit_event_naming_the_pep_and_its_child() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-A01", SINCE_NOV_2)).await;
    let c = Some(child_id.as_str());
    let rid = |res: &reqwest::Response| header(res, "x-request-id");

    // Create: the PEP and the child's schedule.
    let res = push(&app, &epep(&app), &pep_body("LCS-A01", "EPEP-A1", 1)).await;
    let r = rid(&res);
    let id = json_with(res, 201).await["id"].as_str().unwrap().to_owned();
    let pep = ("pep", Some(id.as_str()));
    assert_eq!(
        audit_of(&app, &r),
        sorted(vec![
            ev(EPEP, "pep.create", "allowed", pep, c, Some("*")),
            ev(EPEP, "child.update", "allowed", ("child", c), c, Some("next_pep_due_on,pep_status")),
        ])
    );
    // An unchanged re-send.
    let res = push(&app, &epep(&app), &pep_body("LCS-A01", "EPEP-A1", 1)).await;
    assert_eq!(audit_of(&app, &rid(&res)), vec![ev(EPEP, "pep.push_unchanged", "allowed", pep, c, None)]);
    // A revision changing the child's views (the schedule is already moved: no child.update).
    let rev2 = with(pep_body("LCS-A01", "EPEP-A1", 2), json!({"child_views": "New views."}));
    let res = push(&app, &epep(&app), &rev2).await;
    assert_eq!(
        audit_of(&app, &rid(&res)),
        vec![ev(EPEP, "pep.revise", "allowed", pep, c, Some("revision,child_views"))]
    );

    // Reads: get, revisions, and each listed PEP.
    let res = get_pep(&app, &vso(&app), &id).await;
    assert_eq!(audit_of(&app, &rid(&res)), vec![ev("vso-0001", "pep.read", "allowed", pep, c, None)]);
    let res = get_revisions(&app, &sw(&app), &id).await;
    assert_eq!(audit_of(&app, &rid(&res)), vec![ev("sw-0001", "pep.read", "allowed", pep, c, None)]);
    let other_child = create_child(&app, &child("LCS-A02", SINCE_NOV_2)).await;
    let other = pushed_id(&app, &pep_body("LCS-A02", "EPEP-A2", 1)).await;
    let res = list_peps(&app, &vso(&app), &[]).await;
    assert_eq!(
        audit_of(&app, &rid(&res)),
        sorted(vec![
            ev("vso-0001", "pep.read", "allowed", pep, c, None),
            ev("vso-0001", "pep.read", "allowed", ("pep", Some(other.as_str())), Some(other_child.as_str()), None),
        ])
    );

    // Review and LCS upload.
    let res = review(&app, &vso(&app), &id, None, &json!({"rating": "green"})).await;
    assert_eq!(
        audit_of(&app, &rid(&res)),
        vec![ev("vso-0001", "pep.quality_review", "allowed", pep, c, Some("quality_rating,quality_review"))]
    );
    let res = lcs_upload(&app, &sw(&app), &id).await;
    assert_eq!(
        audit_of(&app, &rid(&res)),
        vec![ev(
            "sw-0001",
            "pep.lcs_upload",
            "allowed",
            pep,
            c,
            Some("lcs_upload_confirmed_at,lcs_upload_confirmed_by")
        )]
    );
    let res = lcs_upload(&app, &sw(&app), &id).await;
    assert_eq!(audit_of(&app, &rid(&res)), vec![ev("sw-0001", "pep.lcs_upload", "allowed", pep, c, None)]);

    // Denials.
    let sw2 = app.token("sw-0002", &["social_worker"]);
    let res = get_pep(&app, &sw2, &id).await;
    assert_eq!(audit_of(&app, &rid(&res)), vec![ev("sw-0002", "pep.read", "denied", pep, c, None)]);
    let res = get_revisions(&app, &sw2, &id).await;
    assert_eq!(audit_of(&app, &rid(&res)), vec![ev("sw-0002", "pep.read", "denied", pep, c, None)]);
    let res = lcs_upload(&app, &sw2, &id).await;
    assert_eq!(audit_of(&app, &rid(&res)), vec![ev("sw-0002", "pep.lcs_upload", "denied", pep, c, None)]);
    let res = lcs_upload(&app, &vso(&app), &id).await;
    assert_eq!(audit_of(&app, &rid(&res)), vec![ev("vso-0001", "pep.lcs_upload", "denied", ("pep", None), None, None)]);
    let res = review(&app, &sw(&app), &id, None, &json!({"rating": "red"})).await;
    assert_eq!(
        audit_of(&app, &rid(&res)),
        vec![ev("sw-0001", "pep.quality_review", "denied", ("pep", None), None, None)]
    );
    let res = push(&app, &vso(&app), &pep_body("LCS-A01", "EPEP-A1", 3)).await;
    assert_eq!(audit_of(&app, &rid(&res)), vec![ev("vso-0001", "pep.push", "denied", ("pep", None), None, None)]);
    let unknown = uuid::Uuid::new_v4().to_string();
    let res = get_pep(&app, &vso(&app), &unknown).await;
    assert_eq!(
        audit_of(&app, &rid(&res)),
        vec![ev("vso-0001", "pep.read", "denied", ("pep", Some(unknown.as_str())), None, None)]
    );
}

// ---------------------------------------------------------------------------------------------------------------
// 9. Concurrency
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn concurrent_pushes_of_one_pep_store_it_once() {
    let app = app_on(TODAY).await;
    let child_id = create_child(&app, &child("LCS-K01", SINCE_NOV_2)).await;
    let token = epep(&app);

    let body = pep_body("LCS-K01", "EPEP-K1", 1);
    let responses = futures_util::future::join_all((0..8).map(|_| push(&app, &token, &body))).await;
    let mut statuses = Vec::new();
    let mut ids = BTreeSet::new();
    for res in responses {
        let status = res.status().as_u16();
        statuses.push(status);
        let pep = json_with(res, status).await;
        assert_eq!(pep["revision"], 1, "{pep}");
        ids.insert(pep["id"].as_str().unwrap().to_owned());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 200, 200, 201]);
    assert_eq!(ids.len(), 1, "every answer is the same PEP");
    assert_eq!(counts(&app), [1, 0, 2, 0, 1], "one PEP, no replaced revision yet, one notification");
    let actions: Vec<String> =
        app.audit_rows().into_iter().filter(|r| r.3.as_deref() == Some(child_id.as_str())).map(|r| r.1).collect();
    assert_eq!(actions.iter().filter(|a| *a == "pep.create").count(), 1);
    assert_eq!(actions.iter().filter(|a| *a == "pep.push_unchanged").count(), 7);

    // The same revision 2, eight times at once: applied once.
    let rev2 = pep_body("LCS-K01", "EPEP-K1", 2);
    let responses = futures_util::future::join_all((0..8).map(|_| push(&app, &token, &rev2))).await;
    for res in responses {
        assert_eq!(json_with(res, 200).await["revision"], 2);
    }
    assert_eq!(counts(&app), [1, 1, 2, 0, 2], "revision 1 replaced and kept, one pep_revised");
    assert_eq!(pep_row(&app, ids.first().unwrap()).version, 2);
}
