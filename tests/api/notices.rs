//! Notices about a child (`/api/v1/children/{child_id}/notices`): who each of the ten kinds notifies (the allocated
//! VSO or the `vs_admin` team, the SEN caseworker of a child with an EHCP for placement and school kinds), case
//! transfer and school change applied to the child, validation, access, audit and the cursor list. Every rejected
//! write is also checked in the database: no notice, no notification, no change to the child.

use crate::helpers::*;
use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use virtual_school::db::children_repo::{self, Caseload, ChildRow};
use virtual_school::db::notices_repo::NoticeRow;
use virtual_school::db::notifications_repo::NotificationRow;
use virtual_school::domain::calendar::WorkingDays;

/// The kinds API.md lists, in its order.
const KINDS: [&str; 10] = [
    "placement_change",
    "placement_breakdown_risk",
    "school_change",
    "health_change",
    "behaviour_change",
    "engagement_change",
    "meeting",
    "document_shared",
    "school_communication",
    "case_transfer",
];

/// The kinds the SEN caseworker of a child with an EHCP hears about too.
const SEN_KINDS: [&str; 3] = ["placement_change", "placement_breakdown_risk", "school_change"];

/// The new social worker every `case_transfer` in these tests moves the child to.
const NEW_SW: &str = "sw-0002";

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A looked-after child of `sw-0001` and `vso-0001`, in care since 40 days ago, without SEN.
fn child(lcs_id: &str) -> Value {
    json!({
        "lcs_id": lcs_id,
        "first_name": "Alex",
        "last_name": "Example",
        "date_of_birth": "2015-03-01",
        "sex": "U",
        "looked_after_since": ymd(today() - Duration::days(40)),
        "school": {"urn": "100001", "name": "Example Primary School"},
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

fn sw(app: &TestApp) -> String {
    app.token("sw-0001", &["social_worker"])
}

/// Reads a JSON body after checking the status, showing the body when the status is wrong.
async fn json_with(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "status; body: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Creates a child as a `vso` and returns its id.
async fn create_child(app: &TestApp, body: &Value) -> String {
    let res = app.client.post(app.url("/api/v1/children")).bearer_auth(vso(app)).json(body).send().await.unwrap();
    json_with(res, 201).await["id"].as_str().unwrap().to_owned()
}

/// A valid notice of `kind` effective today, with what that kind needs.
fn notice(kind: &str, summary: &str) -> Value {
    let mut body = json!({"kind": kind, "summary": summary, "effective_on": ymd(today()),
        "details": "Discussed with the carer and the designated teacher."});
    match kind {
        "case_transfer" => body["new_social_worker_id"] = json!(NEW_SW),
        "school_change" => body["new_school"] = json!({"urn": "100002", "name": "Example Academy"}),
        _ => {}
    }
    body
}

fn notices_path(child_id: &str) -> String {
    format!("/api/v1/children/{child_id}/notices")
}

fn send_req(app: &TestApp, token: &str, child_id: &str, body: &Value) -> reqwest::RequestBuilder {
    app.client.post(app.url(&notices_path(child_id))).bearer_auth(token).json(body)
}

async fn send(app: &TestApp, token: &str, child_id: &str, body: &Value) -> reqwest::Response {
    send_req(app, token, child_id, body).send().await.unwrap()
}

/// Sends a notice that must be accepted and returns the stored notice.
async fn sent(app: &TestApp, token: &str, child_id: &str, body: &Value) -> Value {
    json_with(send(app, token, child_id, body).await, 201).await
}

async fn get_child(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/children/{id}"), token).send().await.unwrap()
}

/// The stored child, straight from the database.
fn child_row(app: &TestApp, id: &str) -> ChildRow {
    let mut conn = app.db.conn();
    children_repo::find(&mut conn, &Caseload::All, id).unwrap().expect("the child is stored")
}

fn sql(app: &TestApp, statement: &str) {
    let mut conn = app.db.conn();
    diesel::sql_query(statement).execute(&mut conn).unwrap();
}

/// Every stored notification, oldest first.
fn notification_rows(app: &TestApp) -> Vec<NotificationRow> {
    use virtual_school::db::schema::notifications::dsl::*;
    let mut conn = app.db.conn();
    notifications.select(NotificationRow::as_select()).order(id.asc()).load(&mut conn).unwrap()
}

/// Every stored notice, oldest first.
fn notice_rows(app: &TestApp) -> Vec<NoticeRow> {
    use virtual_school::db::schema::notices::dsl::*;
    let mut conn = app.db.conn();
    notices.select(NoticeRow::as_select()).order(id.asc()).load(&mut conn).unwrap()
}

/// The `notification_ids` of a stored notice.
fn ids_of(notice: &Value) -> Vec<String> {
    notice["notification_ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_owned()).collect()
}

/// The stored notifications with these ids; each one must exist.
fn rows_with(app: &TestApp, ids: &[String]) -> Vec<NotificationRow> {
    let all = notification_rows(app);
    ids.iter()
        .map(|i| all.iter().find(|r| &r.id == i).unwrap_or_else(|| panic!("notification {i} is stored")).clone())
        .collect()
}

/// Who a notification is for: the person's `sub`, or `team:<role>`.
fn recipient(r: &NotificationRow) -> String {
    match (&r.recipient_id, &r.recipient_team) {
        (Some(p), None) => p.clone(),
        (None, Some(t)) => format!("team:{t}"),
        other => panic!("a notification is for exactly one person or team: {other:?}"),
    }
}

fn recipients(rows: &[NotificationRow]) -> BTreeSet<String> {
    rows.iter().map(recipient).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
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

/// `(actor_id, action, outcome, child_id, request_id)`, as `TestApp::audit_rows` gives them.
type AuditRow = (String, String, String, Option<String>, String);

fn audit_of(app: &TestApp, request_id: &str) -> Vec<AuditRow> {
    app.audit_rows().into_iter().filter(|r| r.4 == request_id).collect()
}

/// A caller's inbox (`GET /api/v1/notifications`, one page of up to 200).
async fn inbox(app: &TestApp, token: &str) -> Vec<Value> {
    let res = app.get("/api/v1/notifications", token).query(&[("limit", "200")]).send().await.unwrap();
    let page = json_with(res, 200).await;
    assert!(page["next_cursor"].is_null());
    page["items"].as_array().unwrap().clone()
}

fn kinds_in(items: &[Value]) -> Vec<String> {
    items.iter().map(|n| n["kind"].as_str().unwrap().to_owned()).collect()
}

/// The counts a rejected notice must leave alone.
fn counts(app: &TestApp) -> (i64, i64, i64) {
    (app.count("notices"), app.count("notifications"), app.count("children"))
}

/// Until `send_notice`, `list_notices` and `get_notice` are registered in `routes::configure`, every request to
/// `/api/v1/children/{child_id}/notices` answers 404 from the fallback.
const UNROUTED: &str =
    "BUG: the notices routes are not registered in routes::configure (every notices request answers 404)";

// ---------------------------------------------------------------------------------------------------------------
// Recipients, kind by kind
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn every_kind_notifies_the_allocated_vso() {
    let app = spawn_app().await;
    for (i, kind) in KINDS.iter().enumerate() {
        let id = create_child(&app, &child(&format!("LCS-K{i:02}"))).await;
        let before = app.count("notifications");
        let summary = format!("Notice {i}: {kind} from the social worker");
        let res = send(&app, &sw(&app), &id, &notice(kind, &summary)).await;
        let body = json_with(res, 201).await;
        assert_eq!(body["kind"], *kind);
        assert_eq!(body["child_id"], id.as_str());
        assert_eq!(body["summary"], summary.as_str());
        assert_eq!(body["sent_by"], "sw-0001");
        let ids = ids_of(&body);
        let rows = rows_with(&app, &ids);
        let expected = if *kind == "case_transfer" { set(&["vso-0001", NEW_SW]) } else { set(&["vso-0001"]) };
        assert_eq!(recipients(&rows), expected, "{kind}");
        assert_eq!(app.count("notifications"), before + ids.len() as i64, "{kind}: only these were created");
        for r in &rows {
            assert_eq!(r.kind, *kind);
            assert_eq!(r.child_id.as_deref(), Some(id.as_str()));
            assert!(r.acknowledged_at.is_none() && r.acknowledged_by.is_none());
            assert!(r.summary.contains(&summary), "{kind}: {}", r.summary);
        }
        let to_vso = rows.iter().find(|r| r.recipient_id.as_deref() == Some("vso-0001")).unwrap();
        assert_eq!(to_vso.summary, summary, "the VSO gets the notice's summary");
    }
    assert_eq!(app.count("notices"), 10);

    // The VSO's inbox holds one of each kind, newest first; nobody else heard anything but the new social worker.
    let items = inbox(&app, &vso(&app)).await;
    let mut expected: Vec<String> = KINDS.iter().map(|k| (*k).to_owned()).collect();
    expected.reverse();
    assert_eq!(kinds_in(&items), expected);
    assert!(items.iter().all(|n| n["recipient_id"] == "vso-0001" && n["recipient_team"].is_null()));
    assert!(inbox(&app, &admin(&app)).await.is_empty(), "the vs_admin team is not told when a VSO is allocated");
    assert!(inbox(&app, &app.token("vso-0002", &["vso"])).await.is_empty());
    assert!(inbox(&app, &sw(&app)).await.is_empty(), "the sender is not notified");
    assert_eq!(kinds_in(&inbox(&app, &app.token(NEW_SW, &["social_worker"])).await), vec!["case_transfer"]);
}

#[actix_web::test]
async fn with_no_vso_allocated_every_kind_notifies_the_vs_admin_team() {
    let app = spawn_app().await;
    for (i, kind) in KINDS.iter().enumerate() {
        let id = create_child(&app, &with(child(&format!("LCS-T{i:02}")), json!({"vso_id": null}))).await;
        assert!(child_row(&app, &id).vso_id.is_none());
        let body = sent(&app, &sw(&app), &id, &notice(kind, &format!("Team notice {i}"))).await;
        let rows = rows_with(&app, &ids_of(&body));
        let expected = if *kind == "case_transfer" { set(&["team:vs_admin", NEW_SW]) } else { set(&["team:vs_admin"]) };
        assert_eq!(recipients(&rows), expected, "{kind}");
        let team = rows.iter().find(|r| r.recipient_team.is_some()).unwrap();
        assert!(team.recipient_id.is_none());
        assert_eq!(team.kind, *kind);
    }
    assert_eq!(app.count("notifications"), 11);

    // Every vs_admin sees the team's notifications, whoever they are; a VSO does not.
    for who in ["admin-0001", "admin-0002"] {
        let items = inbox(&app, &app.token(who, &["vs_admin"])).await;
        assert_eq!(items.len(), 10, "{who}");
        assert!(items.iter().all(|n| n["recipient_team"] == "vs_admin" && n["recipient_id"].is_null()));
        let kinds: BTreeSet<String> = kinds_in(&items).into_iter().collect();
        assert_eq!(kinds, KINDS.iter().map(|k| (*k).to_owned()).collect());
    }
    assert!(inbox(&app, &vso(&app)).await.is_empty());
}

#[actix_web::test]
async fn placement_and_school_kinds_also_notify_the_sen_caseworker_of_a_child_with_an_ehcp() {
    let app = spawn_app().await;
    for (i, kind) in KINDS.iter().enumerate() {
        let id = create_child(
            &app,
            &with(child(&format!("LCS-E{i:02}")), json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0001"})),
        )
        .await;
        let summary = format!("EHCP notice {i}");
        let body = sent(&app, &sw(&app), &id, &notice(kind, &summary)).await;
        let rows = rows_with(&app, &ids_of(&body));
        let expected = match *kind {
            k if SEN_KINDS.contains(&k) => set(&["vso-0001", "sen-0001"]),
            "case_transfer" => set(&["vso-0001", NEW_SW]),
            _ => set(&["vso-0001"]),
        };
        assert_eq!(recipients(&rows), expected, "{kind}");
        if let Some(sen) = rows.iter().find(|r| r.recipient_id.as_deref() == Some("sen-0001")) {
            assert_eq!(sen.summary, summary);
            assert_eq!(sen.kind, *kind);
            assert_eq!(sen.child_id.as_deref(), Some(id.as_str()));
        }
    }
    // The caseworker's inbox: exactly the three placement and school notices.
    let items = inbox(&app, &app.token("sen-0001", &["sen_caseworker"])).await;
    assert_eq!(kinds_in(&items), vec!["school_change", "placement_breakdown_risk", "placement_change"]);
    assert!(items.iter().all(|n| n["recipient_id"] == "sen-0001"));
}

#[actix_web::test]
async fn the_sen_caseworker_is_told_only_when_the_child_has_an_ehcp() {
    let app = spawn_app().await;
    // SEN support: the API allocates no caseworker then, so one is left over in the database (an EHCP that ended).
    let support = create_child(&app, &with(child("LCS-S01"), json!({"sen_status": "sen_support"}))).await;
    sql(&app, &format!("UPDATE children SET sen_caseworker_id = 'sen-0001' WHERE id = '{support}'"));
    assert_eq!(child_row(&app, &support).sen_caseworker_id.as_deref(), Some("sen-0001"));
    for kind in SEN_KINDS {
        let body = sent(&app, &vso(&app), &support, &notice(kind, "SEN support only")).await;
        assert_eq!(recipients(&rows_with(&app, &ids_of(&body))), set(&["vso-0001"]), "{kind}");
    }
    // An EHCP but no caseworker allocated: only the VSO.
    let unallocated = create_child(&app, &with(child("LCS-S02"), json!({"sen_status": "ehcp"}))).await;
    let body = sent(&app, &vso(&app), &unallocated, &notice("placement_change", "No caseworker yet")).await;
    assert_eq!(recipients(&rows_with(&app, &ids_of(&body))), set(&["vso-0001"]));
    // An EHCP and no VSO: the team and the caseworker.
    let no_vso = create_child(
        &app,
        &with(child("LCS-S03"), json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0002", "vso_id": null})),
    )
    .await;
    let body = sent(&app, &vso(&app), &no_vso, &notice("placement_breakdown_risk", "Carer under strain")).await;
    assert_eq!(recipients(&rows_with(&app, &ids_of(&body))), set(&["team:vs_admin", "sen-0002"]));

    assert!(inbox(&app, &app.token("sen-0001", &["sen_caseworker"])).await.is_empty());
    assert_eq!(app.count("notifications"), 6);
}

// ---------------------------------------------------------------------------------------------------------------
// Case transfer
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn case_transfer_needs_new_social_worker_id_and_no_other_kind_takes_one() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-CT1")).await;
    let before = counts(&app);

    let mut missing = notice("case_transfer", "Transfer to the east team");
    missing.as_object_mut().unwrap().remove("new_social_worker_id");
    let p = problem(send(&app, &sw(&app), &id, &missing).await, 422).await;
    assert_eq!(field_names(&p), set(&["new_social_worker_id"]));

    let mut blank = notice("case_transfer", "Transfer to the east team");
    blank["new_social_worker_id"] = json!("");
    let p = problem(send(&app, &sw(&app), &id, &blank).await, 422).await;
    assert_eq!(field_names(&p), set(&["new_social_worker_id"]));

    let mut spaced = notice("case_transfer", "Transfer to the east team");
    spaced["new_social_worker_id"] = json!("sw 0002");
    let p = problem(send(&app, &sw(&app), &id, &spaced).await, 422).await;
    assert_eq!(field_names(&p), set(&["new_social_worker_id"]));

    for kind in KINDS.iter().filter(|k| **k != "case_transfer") {
        let mut other = notice(kind, "Not a transfer");
        other["new_social_worker_id"] = json!(NEW_SW);
        let p = problem(send(&app, &sw(&app), &id, &other).await, 422).await;
        assert!(field_names(&p).contains("new_social_worker_id"), "{kind}: {p}");
    }

    assert_eq!(counts(&app), before, "nothing stored");
    assert_eq!(child_row(&app, &id).social_worker_id.as_deref(), Some("sw-0001"), "the child did not move");
    assert_eq!(get_child(&app, &sw(&app), &id).await.status(), 200);
}

#[actix_web::test]
async fn case_transfer_moves_the_child_and_access_follows_at_once() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-CT2")).await;
    let old_sw = sw(&app);
    let new_sw = app.token(NEW_SW, &["social_worker"]);
    problem(get_child(&app, &new_sw, &id).await, 404).await;
    let version_before = child_row(&app, &id).version;

    let res = send_req(&app, &old_sw, &id, &notice("case_transfer", "Case moves to the east team"))
        .header("X-Request-Id", "transfer-1")
        .send()
        .await
        .unwrap();
    let body = json_with(res, 201).await;
    assert_eq!(body["kind"], "case_transfer");
    assert_eq!(body["new_social_worker_id"], NEW_SW);
    assert!(body["new_school"].is_null());
    let rows = rows_with(&app, &ids_of(&body));
    assert_eq!(recipients(&rows), set(&["vso-0001", NEW_SW]));

    // The child has moved: in the API and in the database.
    let stored = child_row(&app, &id);
    assert_eq!(stored.social_worker_id.as_deref(), Some(NEW_SW));
    assert_eq!(stored.version, version_before + 1);
    let as_admin = json_with(get_child(&app, &admin(&app), &id).await, 200).await;
    assert_eq!(as_admin["social_worker_id"], NEW_SW);

    // The new social worker reads the child, lists it, reads its notices and may send the next notice.
    assert_eq!(json_with(get_child(&app, &new_sw, &id).await, 200).await["id"], id.as_str());
    let listed = json_with(app.get("/api/v1/children", &new_sw).send().await.unwrap(), 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let notices = json_with(app.get(&notices_path(&id), &new_sw).send().await.unwrap(), 200).await;
    assert_eq!(notices["items"][0]["id"], body["id"]);
    sent(&app, &new_sw, &id, &notice("meeting", "Introductory visit booked")).await;

    // The old one lost access at once: the child, the roll, the notices, and sending.
    let before = counts(&app);
    problem(get_child(&app, &old_sw, &id).await, 404).await;
    let listed = json_with(app.get("/api/v1/children", &old_sw).send().await.unwrap(), 200).await;
    assert!(listed["items"].as_array().unwrap().is_empty());
    problem(app.get(&notices_path(&id), &old_sw).send().await.unwrap(), 404).await;
    problem(
        app.get(&format!("{}/{}", notices_path(&id), body["id"].as_str().unwrap()), &old_sw).send().await.unwrap(),
        404,
    )
    .await;
    problem(send(&app, &old_sw, &id, &notice("meeting", "Too late")).await, 404).await;
    assert_eq!(counts(&app), before);

    // Both the new social worker and the VSO were told.
    let new_inbox = inbox(&app, &new_sw).await;
    assert_eq!(kinds_in(&new_inbox), vec!["case_transfer"]);
    assert_eq!(new_inbox[0]["child_id"], id.as_str());
    assert!(new_inbox[0]["summary"].as_str().unwrap().contains("Case moves to the east team"));
    let vso_inbox = inbox(&app, &vso(&app)).await;
    assert_eq!(kinds_in(&vso_inbox), vec!["meeting", "case_transfer"]);

    // The transfer is audited as a notice and as a change of the child.
    let audit = audit_of(&app, "transfer-1");
    let actions: BTreeSet<(String, String)> = audit.iter().map(|r| (r.1.clone(), r.2.clone())).collect();
    assert!(actions.contains(&("notice.create".into(), "allowed".into())), "{audit:?}");
    assert!(actions.contains(&("child.update".into(), "allowed".into())), "{audit:?}");
    assert!(audit.iter().all(|r| r.0 == "sw-0001" && r.3.as_deref() == Some(id.as_str())), "{audit:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// School change
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn school_change_needs_a_valid_new_school_and_no_other_kind_takes_one() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-SC1")).await;
    let before = counts(&app);
    let school_change = |new_school: Value| {
        let mut body = notice("school_change", "Moves school after the half term");
        body["new_school"] = new_school;
        body
    };

    let mut missing = notice("school_change", "Moves school");
    missing.as_object_mut().unwrap().remove("new_school");
    let p = problem(send(&app, &sw(&app), &id, &missing).await, 422).await;
    assert_eq!(field_names(&p), set(&["new_school"]));
    let p = problem(send(&app, &sw(&app), &id, &school_change(Value::Null)).await, 422).await;
    assert_eq!(field_names(&p), set(&["new_school"]));

    for urn in ["12345", "12345678", "10000A", " 100002", ""] {
        let body = school_change(json!({"urn": urn, "name": "Example Academy"}));
        let p = problem(send(&app, &sw(&app), &id, &body).await, 422).await;
        assert_eq!(field_names(&p), set(&["new_school.urn"]), "urn {urn:?}");
    }
    let p = problem(send(&app, &sw(&app), &id, &school_change(json!({"name": "Example Academy"}))).await, 422).await;
    assert_eq!(field_names(&p), set(&["new_school.urn"]));
    for name in [json!(null), json!(""), json!("   "), json!("x".repeat(201)), json!("Line\nbreak")] {
        let body = school_change(json!({"urn": "100002", "name": name}));
        let p = problem(send(&app, &sw(&app), &id, &body).await, 422).await;
        assert_eq!(field_names(&p), set(&["new_school.name"]), "name {name}");
    }
    let p = problem(send(&app, &sw(&app), &id, &school_change(json!({}))).await, 422).await;
    assert_eq!(field_names(&p), set(&["new_school.urn", "new_school.name"]));
    // An unknown field inside new_school is refused like any unknown field.
    let body = school_change(json!({"urn": "100002", "name": "Example Academy", "phase": "secondary"}));
    problem(send(&app, &sw(&app), &id, &body).await, 400).await;

    for kind in KINDS.iter().filter(|k| **k != "school_change") {
        let mut other = notice(kind, "Not a school change");
        other["new_school"] = json!({"urn": "100002", "name": "Example Academy"});
        let p = problem(send(&app, &sw(&app), &id, &other).await, 422).await;
        assert!(field_names(&p).contains("new_school"), "{kind}: {p}");
    }

    assert_eq!(counts(&app), before, "nothing stored");
    let stored = child_row(&app, &id);
    assert_eq!(stored.school_urn.as_deref(), Some("100001"), "the school did not move");
}

#[actix_web::test]
async fn school_change_moves_the_school_and_sets_the_pep_due_10_working_days_after_effective_on() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-SC2")).await;
    let effective = today() - Duration::days(3);
    let expected_due = WorkingDays::default().add_working_days(effective, 10);
    let old_due = child_row(&app, &id).pep_required_on;
    assert_ne!(old_due, Some(expected_due), "the test needs a due date that changes");

    let mut body = notice("school_change", "Moves to Example Academy after the half term");
    body["effective_on"] = json!(ymd(effective));
    let res = send(&app, &sw(&app), &id, &body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers().contains_key("x-request-id"));
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    let notice_id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/children/{id}/notices/{notice_id}"));
    assert_eq!(created["new_school"], json!({"urn": "100002", "name": "Example Academy"}));
    assert_eq!(created["effective_on"], ymd(effective));
    assert_eq!(created["details"], "Discussed with the carer and the designated teacher.");
    assert!(created["new_social_worker_id"].is_null());
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'), "{created}");

    // The notification ids name stored notifications about this child.
    let ids = ids_of(&created);
    assert_eq!(ids.len(), 1);
    let rows = rows_with(&app, &ids);
    assert_eq!(rows[0].recipient_id.as_deref(), Some("vso-0001"));
    assert_eq!(rows[0].kind, "school_change");

    // The stored notice matches, and GET of the Location answers it.
    let stored = notice_rows(&app);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, notice_id);
    assert_eq!(stored[0].new_school_urn.as_deref(), Some("100002"));
    assert_eq!(stored[0].sent_by, "sw-0001");
    assert_eq!(serde_json::from_str::<Vec<String>>(&stored[0].notification_ids).unwrap(), ids);
    for token in [sw(&app), vso(&app), admin(&app)] {
        let again = json_with(app.get(&location, &token).send().await.unwrap(), 200).await;
        assert_eq!(again, created);
    }

    // The child moved school and has a new PEP due date.
    let child_now = json_with(get_child(&app, &vso(&app), &id).await, 200).await;
    assert_eq!(child_now["school"], json!({"urn": "100002", "name": "Example Academy"}));
    assert_eq!(child_now["next_pep_due_on"], ymd(expected_due));
    let row = child_row(&app, &id);
    assert_eq!(row.school_urn.as_deref(), Some("100002"));
    assert_eq!(row.school_name.as_deref(), Some("Example Academy"));
    assert_eq!(row.pep_required_on, Some(expected_due));
}

#[actix_web::test]
async fn school_change_for_a_child_no_longer_looked_after_moves_the_school_but_schedules_no_pep() {
    let app = spawn_app().await;
    let id =
        create_child(&app, &with(child("LCS-SC3"), json!({"lac_status": "ceased", "ceased_on": ymd(today())}))).await;
    let due_before = child_row(&app, &id).pep_required_on;
    sent(&app, &vso(&app), &id, &notice("school_change", "Moved school after leaving care")).await;
    let row = child_row(&app, &id);
    assert_eq!(row.school_urn.as_deref(), Some("100002"));
    assert_eq!(row.pep_required_on, due_before);
}

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn invalid_notices_answer_422_naming_the_field_and_store_nothing() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-V01")).await;
    let before = counts(&app);
    let audit_before = app.audit_rows().len();
    let base = notice("health_change", "New diagnosis; school to review support");
    let far = ymd(today() + Duration::days(400));
    let cases: Vec<(&str, Value)> = vec![
        ("summary", json!({"summary": null})),
        ("summary", json!({"summary": ""})),
        ("summary", json!({"summary": "   "})),
        ("summary", json!({"summary": "x".repeat(501)})),
        ("summary", json!({"summary": "First line\nsecond line"})),
        ("kind", json!({"kind": null})),
        ("kind", json!({"kind": "gossip"})),
        ("kind", json!({"kind": "Placement_Change"})),
        ("kind", json!({"kind": "became_looked_after"})),
        ("effective_on", json!({"effective_on": null})),
        ("effective_on", json!({"effective_on": "2026-13-01"})),
        ("effective_on", json!({"effective_on": "2026-02-30"})),
        ("effective_on", json!({"effective_on": "01/02/2026"})),
        ("effective_on", json!({"effective_on": "2026-1-5"})),
        ("effective_on", json!({"effective_on": "tomorrow"})),
        ("effective_on", json!({"effective_on": far})),
        ("details", json!({"details": "x".repeat(5001)})),
    ];
    for (field, change) in cases {
        let body = with(base.clone(), change.clone());
        let p = problem(send(&app, &sw(&app), &id, &body).await, 422).await;
        assert_eq!(field_names(&p), set(&[field]), "{change}");
        assert_eq!(counts(&app), before, "{change}: nothing stored");
    }
    // Every bad field at once, each named.
    let body = json!({"kind": "gossip", "summary": "", "effective_on": "soon", "details": "x".repeat(5001)});
    let p = problem(send(&app, &sw(&app), &id, &body).await, 422).await;
    assert_eq!(field_names(&p), set(&["kind", "summary", "effective_on", "details"]));
    assert_eq!(counts(&app), before);
    let audit = app.audit_rows();
    assert!(
        audit[audit_before..].iter().all(|r| r.1 != "notice.create" || r.2 != "allowed"),
        "no notice was recorded as sent"
    );

    // The limits themselves are accepted, in characters rather than bytes; blank details are dropped.
    let at_limit = with(base.clone(), json!({"summary": "é".repeat(500), "details": "ü".repeat(5000)}));
    let body = sent(&app, &sw(&app), &id, &at_limit).await;
    assert_eq!(body["summary"].as_str().unwrap().chars().count(), 500);
    let blank_details = with(base, json!({"details": "  "}));
    assert!(sent(&app, &sw(&app), &id, &blank_details).await["details"].is_null());
    assert_eq!(app.count("notices"), before.0 + 2);
}

#[actix_web::test]
async fn malformed_notices_answer_400_or_415_and_store_nothing() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-V02")).await;
    let before = counts(&app);
    let base = notice("meeting", "Strategy meeting on Thursday");
    let raw = |content_type: &'static str, body: String| {
        app.client
            .post(app.url(&notices_path(&id)))
            .bearer_auth(sw(&app))
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let p = problem(send(&app, &sw(&app), &id, &with(base.clone(), json!({"urgency": "high"}))).await, 400).await;
    assert!(p["detail"].as_str().unwrap().contains("urgency"), "{p}");
    for server_owned in ["id", "sent_by", "notification_ids", "created_at", "child_id"] {
        let mut body = base.clone();
        body[server_owned] = json!("x");
        problem(send(&app, &sw(&app), &id, &body).await, 400).await;
    }
    problem(send(&app, &sw(&app), &id, &with(base.clone(), json!({"summary": 42}))).await, 400).await;
    problem(raw("application/json", "{\"kind\": ".into()).await.unwrap(), 400).await;
    problem(raw("application/json", "[]".into()).await.unwrap(), 400).await;
    problem(raw("text/plain", base.to_string()).await.unwrap(), 415).await;
    problem(
        app.client
            .post(app.url("/api/v1/children/not-a-uuid/notices"))
            .bearer_auth(sw(&app))
            .json(&base)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(counts(&app), before);

    // A notice about a child that does not exist.
    let unknown = uuid::Uuid::now_v7().to_string();
    problem(send(&app, &admin(&app), &unknown, &base).await, 404).await;
    assert_eq!(counts(&app), before);
    // Nothing leaked: the valid body is still accepted afterwards.
    sent(&app, &sw(&app), &id, &base).await;
    assert_eq!(app.count("notices"), before.0 + 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Access and audit
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn the_childs_social_worker_vso_and_vs_admin_may_send_others_are_refused() {
    let app = spawn_app().await;
    let id =
        create_child(&app, &with(child("LCS-A01"), json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0001"})))
            .await;
    let body = notice("behaviour_change", "Two fixed-term suspensions this half term");

    // Allowed: the child's social worker, any VSO (not only the allocated one), any vs_admin.
    for (n, token) in [sw(&app), vso(&app), app.token("vso-0002", &["vso"]), admin(&app)].iter().enumerate() {
        let rid = format!("send-ok-{n}");
        let res = send_req(&app, token, &id, &body).header("X-Request-Id", rid.as_str()).send().await.unwrap();
        let created = json_with(res, 201).await;
        let audit = audit_of(&app, &rid);
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!((audit[0].1.as_str(), audit[0].2.as_str()), ("notice.create", "allowed"));
        assert_eq!(audit[0].3.as_deref(), Some(id.as_str()));
        assert_eq!(created["sent_by"], audit[0].0.as_str());
    }
    assert_eq!(app.count("notices"), 4);
    let before = counts(&app);

    // Another social worker: 404 as for a child that does not exist, and a denied event naming the child.
    let other_sw = app.token("sw-0009", &["social_worker"]);
    let res = send_req(&app, &other_sw, &id, &body).header("X-Request-Id", "send-404").send().await.unwrap();
    let p = problem(res, 404).await;
    let missing = problem(send(&app, &other_sw, &uuid::Uuid::now_v7().to_string(), &body).await, 404).await;
    assert_eq!(p["detail"], missing["detail"]);
    assert_eq!(
        audit_of(&app, "send-404"),
        vec![(
            "sw-0009".to_owned(),
            "notice.create".to_owned(),
            "denied".to_owned(),
            Some(id.clone()),
            "send-404".to_owned()
        )]
    );

    // Roles that do not send notices: 403 and a denied event, even the child's own SEN caseworker.
    for (sub, role) in
        [("sen-0001", "sen_caseworker"), ("lcs-system", "lcs"), ("epep-system", "epep"), ("dash-0001", "dashboard")]
    {
        let rid = format!("send-403-{role}");
        let res = send_req(&app, &app.token(sub, &[role]), &id, &body)
            .header("X-Request-Id", rid.as_str())
            .send()
            .await
            .unwrap();
        problem(res, 403).await;
        let audit = audit_of(&app, &rid);
        assert_eq!(audit.len(), 1, "{role}: {audit:?}");
        assert_eq!((audit[0].0.as_str(), audit[0].1.as_str(), audit[0].2.as_str()), (sub, "notice.create", "denied"));
    }

    // No token, or a bad one: 401 with the challenge.
    for res in [
        app.client.post(app.url(&notices_path(&id))).json(&body).send().await.unwrap(),
        app.client.post(app.url(&notices_path(&id))).bearer_auth("not.a.token").json(&body).send().await.unwrap(),
    ] {
        assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        problem(res, 401).await;
    }
    assert_eq!(counts(&app), before, "no refused notice stored anything");
}

// ---------------------------------------------------------------------------------------------------------------
// Reading notices
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_childs_notices_are_listed_newest_first_with_cursor_pages() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-L01")).await;
    let other = create_child(&app, &child("LCS-L02")).await;
    sent(&app, &sw(&app), &other, &notice("meeting", "Another child's meeting")).await;
    let mut sent_ids = Vec::new();
    for (i, kind) in
        ["health_change", "meeting", "document_shared", "school_communication", "engagement_change"].iter().enumerate()
    {
        let body = sent(&app, &sw(&app), &id, &notice(kind, &format!("Notice number {i}"))).await;
        sent_ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let newest_first: Vec<String> = sent_ids.iter().rev().cloned().collect();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let res = app.get(&notices_path(&id), &vso(&app)).query(&query).send().await.unwrap();
        assert_eq!(res.headers()["cache-control"], "no-store");
        let page = json_with(res, 200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        for n in items {
            assert_eq!(n["child_id"], id.as_str());
            assert_eq!(n["sent_by"], "sw-0001");
            assert_eq!(n["notification_ids"].as_array().unwrap().len(), 1);
        }
        seen.extend(items.iter().map(|n| n["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, newest_first, "every notice once, newest first, none of the other child's");

    // The whole list in one page, with what was sent.
    let page = json_with(app.get(&notices_path(&id), &sw(&app)).send().await.unwrap(), 200).await;
    assert!(page["next_cursor"].is_null());
    let summaries: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|n| n["summary"].as_str().unwrap()).collect();
    assert_eq!(
        summaries,
        vec!["Notice number 4", "Notice number 3", "Notice number 2", "Notice number 1", "Notice number 0"]
    );

    // A cursor belongs to its child; bad limits and cursors are 400.
    let first =
        json_with(app.get(&notices_path(&id), &vso(&app)).query(&[("limit", "2")]).send().await.unwrap(), 200).await;
    let c = first["next_cursor"].as_str().unwrap();
    problem(app.get(&notices_path(&other), &vso(&app)).query(&[("cursor", c)]).send().await.unwrap(), 400).await;
    problem(app.get(&notices_path(&id), &vso(&app)).query(&[("cursor", "garbage")]).send().await.unwrap(), 400).await;
    for limit in ["0", "201", "-1", "two"] {
        problem(app.get(&notices_path(&id), &vso(&app)).query(&[("limit", limit)]).send().await.unwrap(), 400).await;
    }
    problem(app.get(&notices_path(&id), &vso(&app)).query(&[("kind", "meeting")]).send().await.unwrap(), 400).await;
    let empty = create_child(&app, &child("LCS-L03")).await;
    let page = json_with(app.get(&notices_path(&empty), &vso(&app)).send().await.unwrap(), 200).await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
}

#[actix_web::test]
async fn notices_are_read_by_whoever_may_read_the_child_and_each_read_is_audited() {
    let app = spawn_app().await;
    let id =
        create_child(&app, &with(child("LCS-R01"), json!({"sen_status": "ehcp", "sen_caseworker_id": "sen-0001"})))
            .await;
    let one = sent(&app, &sw(&app), &id, &notice("placement_change", "New foster carer from Monday")).await;
    let two = sent(&app, &sw(&app), &id, &notice("meeting", "Looked-after review next week")).await;
    let one_path = format!("{}/{}", notices_path(&id), one["id"].as_str().unwrap());

    // The child's SEN caseworker (the child has an EHCP), its social worker, any VSO, vs_admin.
    for token in [app.token("sen-0001", &["sen_caseworker"]), sw(&app), app.token("vso-0002", &["vso"]), admin(&app)] {
        let page = json_with(app.get(&notices_path(&id), &token).send().await.unwrap(), 200).await;
        let ids: Vec<&Value> = page["items"].as_array().unwrap().iter().map(|n| &n["id"]).collect();
        assert_eq!(ids, vec![&two["id"], &one["id"]]);
        assert_eq!(json_with(app.get(&one_path, &token).send().await.unwrap(), 200).await, one);
    }

    // Another social worker, another SEN caseworker: 404 for the list and for one notice.
    for token in [app.token("sw-0009", &["social_worker"]), app.token("sen-0002", &["sen_caseworker"])] {
        problem(app.get(&notices_path(&id), &token).send().await.unwrap(), 404).await;
        problem(app.get(&one_path, &token).send().await.unwrap(), 404).await;
    }
    // The caseworker loses sight of the notices when the EHCP ends.
    sql(&app, &format!("UPDATE children SET sen_status = 'sen_support' WHERE id = '{id}'"));
    problem(app.get(&notices_path(&id), &app.token("sen-0001", &["sen_caseworker"])).send().await.unwrap(), 404).await;
    // Roles that do not read children: 403.
    for (sub, role) in [("lcs-system", "lcs"), ("epep-system", "epep"), ("dash-0001", "dashboard")] {
        problem(app.get(&notices_path(&id), &app.token(sub, &[role])).send().await.unwrap(), 403).await;
    }
    // A notice under another child, or no such notice: 404.
    let other = create_child(&app, &child("LCS-R02")).await;
    let wrong_child = format!("{}/{}", notices_path(&other), one["id"].as_str().unwrap());
    problem(app.get(&wrong_child, &admin(&app)).send().await.unwrap(), 404).await;
    let no_notice = format!("{}/{}", notices_path(&id), uuid::Uuid::now_v7());
    problem(app.get(&no_notice, &admin(&app)).send().await.unwrap(), 404).await;

    // A list records one read per notice it shows, naming the child; a refused one a denied event.
    let res = app.get(&notices_path(&id), &vso(&app)).header("X-Request-Id", "notices-read-1").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let audit = audit_of(&app, "notices-read-1");
    let notice_reads: Vec<&AuditRow> = audit.iter().filter(|r| r.1 == "notice.read").collect();
    assert_eq!(notice_reads.len(), 2, "{audit:?}");
    assert!(audit.iter().all(|r| r.0 == "vso-0001" && r.2 == "allowed" && r.3.as_deref() == Some(id.as_str())));
    let res = app
        .get(&notices_path(&id), &app.token("sw-0009", &["social_worker"]))
        .header("X-Request-Id", "notices-read-2")
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    let audit = audit_of(&app, "notices-read-2");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!((audit[0].2.as_str(), audit[0].3.as_deref()), ("denied", Some(id.as_str())));
}

/// Shows the routing bug on its own: the contract's path answers 404 from the fallback, whatever the caller.
#[actix_web::test]
async fn the_notices_paths_are_routed() {
    let app = spawn_app().await;
    let id = create_child(&app, &child("LCS-X01")).await;
    let res = send(&app, &admin(&app), &id, &notice("meeting", "Routing check")).await;
    assert_eq!(res.status(), 201, "{UNROUTED}: {}", res.text().await.unwrap());
    let res = app.get(&notices_path(&id), &admin(&app)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{UNROUTED}");
}
