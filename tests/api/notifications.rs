//! The inbox (`GET /api/v1/notifications`) and acknowledgement (`POST /api/v1/notifications/{id}/acknowledge`):
//! only the caller's own (and their team's for `vs_admin`), `recipient_id` for `vs_admin` only, the filters, newest
//! first with cursors, idempotent acknowledgement, somebody else's answering 404 and staying unacknowledged, and a
//! team notification acknowledged once for every `vs_admin`. Inboxes are filled by LCS batches (end to end) and by
//! the service function every event uses (`services::notifications::notify`), for exact control over who gets what.

use crate::helpers::*;
use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use virtual_school::auth::Role;
use virtual_school::db::notifications_repo::NotificationRow;
use virtual_school::services::notifications::{notify, Notice, Recipient};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn admin(app: &TestApp) -> String {
    app.token("admin-0001", &["vs_admin"])
}

fn admin2(app: &TestApp) -> String {
    app.token("admin-0002", &["vs_admin"])
}

fn vso(app: &TestApp) -> String {
    app.token("vso-0001", &["vso"])
}

fn vso2(app: &TestApp) -> String {
    app.token("vso-0002", &["vso"])
}

/// Reads a JSON body after checking the status, showing the body when the status is wrong.
async fn json_with(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "status; body: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Creates a looked-after child of `vso-0001` and `sw-0001` (in care since 40 days ago) and returns its id.
async fn create_child(app: &TestApp, lcs_id: &str) -> String {
    let body = json!({
        "lcs_id": lcs_id, "first_name": "Sam", "last_name": "Sample", "date_of_birth": "2013-05-01", "sex": "U",
        "looked_after_since": ymd(today() - Duration::days(40)), "sen_status": "none",
        "vso_id": "vso-0001", "social_worker_id": "sw-0001"
    });
    let res = app.client.post(app.url("/api/v1/children")).bearer_auth(vso(app)).json(&body).send().await.unwrap();
    json_with(res, 201).await["id"].as_str().unwrap().to_owned()
}

/// Notifies `to` (a person's `sub`, or `team` for the `vs_admin` team) through the service function every event
/// uses, and returns the new notification's id.
fn seed(app: &TestApp, to: &str, kind: &str, child_id: &str, summary: &str) -> String {
    let recipient = if to == "team" { Recipient::Team(Role::VsAdmin) } else { Recipient::Person(to.to_owned()) };
    let mut conn = app.db.conn();
    let notice =
        Notice { recipient, kind: kind.to_owned(), child_id: Some(child_id.to_owned()), summary: summary.to_owned() };
    let ids = notify(&mut conn, vec![notice]).unwrap();
    assert_eq!(ids.len(), 1);
    ids[0].clone()
}

/// One stored notification, straight from the database.
fn stored(app: &TestApp, notification_id: &str) -> NotificationRow {
    use virtual_school::db::schema::notifications::dsl::*;
    let mut conn = app.db.conn();
    notifications.filter(id.eq(notification_id)).select(NotificationRow::as_select()).first(&mut conn).unwrap()
}

/// `GET /api/v1/notifications` with `query`, answered 200.
async fn page(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let res = app.get("/api/v1/notifications", token).query(query).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    json_with(res, 200).await
}

/// The ids a one-page inbox answers, in order.
async fn ids(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<String> {
    let mut query = query.to_vec();
    query.push(("limit", "200"));
    let p = page(app, token, &query).await;
    assert!(p["next_cursor"].is_null());
    item_ids(&p)
}

fn item_ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
}

/// `ids` newest first (they were created oldest first).
fn newest_first(ids: &[&String]) -> Vec<String> {
    ids.iter().rev().map(|s| (*s).clone()).collect()
}

async fn acknowledge(app: &TestApp, token: &str, notification_id: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/notifications/{notification_id}/acknowledge")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// `(actor_id, action, outcome, child_id, request_id)`, as `TestApp::audit_rows` gives them.
type AuditRow = (String, String, String, Option<String>, String);

fn audit_of(app: &TestApp, request_id: &str) -> Vec<AuditRow> {
    app.audit_rows().into_iter().filter(|r| r.4 == request_id).collect()
}

fn change(lcs_id: &str, change_type: &str, date: NaiveDate) -> Value {
    json!({
        "lcs_id": lcs_id, "first_name": "Sam", "last_name": "Sample", "date_of_birth": "2013-05-01", "sex": "U",
        "change_type": change_type, "effective_date": ymd(date),
        "reason_code": if change_type == "ceased_looked_after" { json!("E13") } else { json!("S") },
    })
}

async fn submit_batch(app: &TestApp, batch_ref: &str, changes: Vec<Value>) {
    let body = json!({"batch_ref": batch_ref, "period_ending": ymd(today()), "changes": changes});
    let res = app
        .client
        .post(app.url("/api/v1/lac-status-batches"))
        .bearer_auth(app.token("lcs-system", &["lcs"]))
        .json(&body)
        .send()
        .await
        .unwrap();
    json_with(res, 201).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Whose inbox
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn each_caller_sees_their_own_notifications_and_nobody_elses() {
    let app = spawn_app().await;
    let c1 = create_child(&app, "LCS-N01").await;
    let c2 = create_child(&app, "LCS-N02").await;
    let v1a = seed(&app, "vso-0001", "placement_change", &c1, "New placement from Monday");
    let v2 = seed(&app, "vso-0002", "meeting", &c2, "Review on Thursday");
    let team = seed(&app, "team", "became_looked_after", &c2, "LCS LCS-N02 became looked after");
    let v1b = seed(&app, "vso-0001", "meeting", &c2, "Strategy meeting");
    let sw = seed(&app, "sw-0001", "case_transfer", &c1, "You are now the social worker");
    let sen = seed(&app, "sen-0001", "school_change", &c1, "Moves school");
    assert_eq!(app.count("notifications"), 6);

    assert_eq!(ids(&app, &vso(&app), &[]).await, newest_first(&[&v1a, &v1b]));
    assert_eq!(ids(&app, &vso2(&app), &[]).await, vec![v2.clone()], "a VSO never sees another VSO's");
    assert_eq!(ids(&app, &app.token("sw-0001", &["social_worker"]), &[]).await, vec![sw.clone()]);
    assert_eq!(ids(&app, &app.token("sen-0001", &["sen_caseworker"]), &[]).await, vec![sen.clone()]);
    assert!(ids(&app, &app.token("sw-0002", &["social_worker"]), &[]).await.is_empty());
    // Every vs_admin sees the team's, and only those (nobody wrote to them personally).
    assert_eq!(ids(&app, &admin(&app), &[]).await, vec![team.clone()]);
    assert_eq!(ids(&app, &admin2(&app), &[]).await, vec![team.clone()]);
    // A VSO is not on the vs_admin team, even with the same sub as an administrator.
    assert_eq!(ids(&app, &app.token("admin-0001", &["vso"]), &[]).await, Vec::<String>::new());

    // The fields API.md names, as stored.
    let p = page(&app, &vso(&app), &[]).await;
    let item = &p["items"][1];
    assert_eq!(item["id"], v1a.as_str());
    assert_eq!(item["recipient_id"], "vso-0001");
    assert!(item["recipient_team"].is_null());
    assert_eq!(item["kind"], "placement_change");
    assert_eq!(item["child_id"], c1.as_str());
    assert_eq!(item["summary"], "New placement from Monday");
    assert!(item["created_at"].as_str().unwrap().ends_with('Z'), "{item}");
    assert!(item["acknowledged_at"].is_null());
    assert!(item["acknowledged_by"].is_null());
    let row = stored(&app, &v1a);
    assert_eq!(row.created_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), item["created_at"]);
    let team_item = &page(&app, &admin(&app), &[]).await["items"][0];
    assert_eq!(team_item["recipient_team"], "vs_admin");
    assert!(team_item["recipient_id"].is_null());
}

#[actix_web::test]
async fn roles_without_notifications_are_refused_and_tokens_are_required() {
    let app = spawn_app().await;
    let c = create_child(&app, "LCS-N03").await;
    let n = seed(&app, "team", "became_looked_after", &c, "LCS LCS-N03 became looked after");
    for (sub, role) in [("lcs-system", "lcs"), ("epep-system", "epep"), ("dash-0001", "dashboard")] {
        let token = app.token(sub, &[role]);
        let rid = format!("inbox-403-{role}");
        let res = app.get("/api/v1/notifications", &token).header("X-Request-Id", rid.as_str()).send().await.unwrap();
        problem(res, 403).await;
        let audit = audit_of(&app, &rid);
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!((audit[0].0.as_str(), audit[0].2.as_str()), (sub, "denied"));
        problem(acknowledge(&app, &token, &n).await, 403).await;
    }
    for res in [
        app.client.get(app.url("/api/v1/notifications")).send().await.unwrap(),
        app.client.get(app.url("/api/v1/notifications")).bearer_auth("not.a.token").send().await.unwrap(),
        app.client.post(app.url(&format!("/api/v1/notifications/{n}/acknowledge"))).send().await.unwrap(),
    ] {
        assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        problem(res, 401).await;
    }
    assert!(stored(&app, &n).acknowledged_at.is_none());
}

#[actix_web::test]
async fn vs_admin_may_read_a_persons_inbox_and_nobody_else_may() {
    let app = spawn_app().await;
    let c = create_child(&app, "LCS-N04").await;
    let v1a = seed(&app, "vso-0001", "health_change", &c, "New diagnosis");
    let v1b = seed(&app, "vso-0001", "meeting", &c, "Review");
    let v2 = seed(&app, "vso-0002", "meeting", &c, "Review");
    let team = seed(&app, "team", "ceased_looked_after", &c, "Ceased");
    let mine = seed(&app, "admin-0001", "document_shared", &c, "Care plan shared");

    // A person's inbox is theirs only: not the team's, even though a vs_admin is reading it.
    assert_eq!(ids(&app, &admin(&app), &[("recipient_id", "vso-0001")]).await, newest_first(&[&v1a, &v1b]));
    assert_eq!(ids(&app, &admin2(&app), &[("recipient_id", "vso-0002")]).await, vec![v2.clone()]);
    assert!(ids(&app, &admin(&app), &[("recipient_id", "nobody-0001")]).await.is_empty());
    // Their own recipient_id is just their own inbox, with the team's.
    assert_eq!(ids(&app, &admin(&app), &[("recipient_id", "admin-0001")]).await, newest_first(&[&team, &mine]));
    assert_eq!(ids(&app, &admin(&app), &[]).await, newest_first(&[&team, &mine]));
    // Another vs_admin reads admin-0001's personal inbox without the team's.
    assert_eq!(ids(&app, &admin2(&app), &[("recipient_id", "admin-0001")]).await, vec![mine.clone()]);
    // Filters apply to the inbox read.
    assert_eq!(ids(&app, &admin(&app), &[("recipient_id", "vso-0001"), ("kind", "meeting")]).await, vec![v1b.clone()]);

    // Anyone else asking for another person's inbox: 403 and a denied event; their own sub is fine.
    for (token, sub) in [
        (vso2(&app), "vso-0002"),
        (app.token("sw-0001", &["social_worker"]), "sw-0001"),
        (app.token("sen-0001", &["sen_caseworker"]), "sen-0001"),
    ] {
        let rid = format!("other-inbox-{sub}");
        let res = app
            .get("/api/v1/notifications", &token)
            .query(&[("recipient_id", "vso-0001")])
            .header("X-Request-Id", rid.as_str())
            .send()
            .await
            .unwrap();
        let p = problem(res, 403).await;
        assert!(!p.to_string().contains("Review"), "nothing of the inbox leaks: {p}");
        let audit = audit_of(&app, &rid);
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(
            (audit[0].0.as_str(), audit[0].1.as_str(), audit[0].2.as_str()),
            (sub, "notification.list", "denied")
        );
        ids(&app, &token, &[("recipient_id", sub)]).await;
    }
    assert_eq!(ids(&app, &vso2(&app), &[("recipient_id", "vso-0002")]).await, vec![v2]);
}

// ---------------------------------------------------------------------------------------------------------------
// Filters, order, cursors
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn unread_kind_and_child_id_narrow_the_inbox() {
    let app = spawn_app().await;
    let c1 = create_child(&app, "LCS-N05").await;
    let c2 = create_child(&app, "LCS-N06").await;
    let a = seed(&app, "vso-0001", "meeting", &c1, "a");
    let b = seed(&app, "vso-0001", "health_change", &c1, "b");
    let c = seed(&app, "vso-0001", "meeting", &c2, "c");
    let d = seed(&app, "vso-0001", "school_change", &c2, "d");
    seed(&app, "vso-0002", "meeting", &c1, "not theirs");
    json_with(acknowledge(&app, &vso(&app), &b).await, 200).await;
    json_with(acknowledge(&app, &vso(&app), &c).await, 200).await;

    let token = vso(&app);
    assert_eq!(ids(&app, &token, &[]).await, newest_first(&[&a, &b, &c, &d]));
    assert_eq!(ids(&app, &token, &[("unread", "true")]).await, newest_first(&[&a, &d]));
    assert_eq!(ids(&app, &token, &[("unread", "false")]).await, newest_first(&[&a, &b, &c, &d]));
    assert_eq!(ids(&app, &token, &[("kind", "meeting")]).await, newest_first(&[&a, &c]));
    assert_eq!(ids(&app, &token, &[("child_id", c1.as_str())]).await, newest_first(&[&a, &b]));
    assert_eq!(ids(&app, &token, &[("child_id", c2.as_str()), ("unread", "true")]).await, vec![d.clone()]);
    assert_eq!(
        ids(&app, &token, &[("kind", "meeting"), ("unread", "true"), ("child_id", c1.as_str())]).await,
        vec![a.clone()]
    );
    assert_eq!(ids(&app, &token, &[("kind", "meeting"), ("unread", "true")]).await, vec![a.clone()]);
    assert!(ids(&app, &token, &[("kind", "case_transfer")]).await.is_empty());
    let unknown_child = uuid::Uuid::now_v7().to_string();
    assert!(ids(&app, &token, &[("child_id", unknown_child.as_str())]).await.is_empty());

    // Bad filters and paging: 400 problems.
    let long_kind = "k".repeat(41);
    for query in [
        vec![("unread", "yes")],
        vec![("child_id", "not-a-uuid")],
        vec![("kind", long_kind.as_str())],
        vec![("limit", "0")],
        vec![("limit", "201")],
        vec![("limit", "ten")],
        vec![("cursor", "garbage")],
        vec![("colour", "red")],
    ] {
        let res = app.get("/api/v1/notifications", &token).query(&query).send().await.unwrap();
        problem(res, 400).await;
    }
}

#[actix_web::test]
async fn the_inbox_is_newest_first_in_cursor_pages_that_belong_to_their_caller_and_filters() {
    let app = spawn_app().await;
    let c = create_child(&app, "LCS-N07").await;
    let seeded: Vec<String> =
        (0..5).map(|i| seed(&app, "vso-0001", "meeting", &c, &format!("Meeting number {i}"))).collect();
    seed(&app, "vso-0002", "meeting", &c, "not theirs");
    let expected: Vec<String> = seeded.iter().rev().cloned().collect();

    let token = vso(&app);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(cur) = &cursor {
            query.push(("cursor", cur.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let p = page(&app, &token, &query).await;
        assert!(p["items"].as_array().unwrap().len() <= 2);
        let created: Vec<&str> =
            p["items"].as_array().unwrap().iter().map(|n| n["created_at"].as_str().unwrap()).collect();
        assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first: {created:?}");
        seen.extend(item_ids(&p));
        pages.push(p.clone());
        if pages.len() == 1 {
            // A notification arriving mid-walk neither repeats nor shifts the older pages.
            seed(&app, "vso-0001", "meeting", &c, "Arrived during the walk");
        }
        match p["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(seen, expected, "every notification once, newest first");

    // A cursor is the caller's and its filters' only.
    let cur = pages[0]["next_cursor"].as_str().unwrap().to_owned();
    for (tok, query) in [
        (vso2(&app), vec![("cursor", cur.as_str())]),
        (token.clone(), vec![("cursor", cur.as_str()), ("kind", "meeting")]),
        (token.clone(), vec![("cursor", cur.as_str()), ("unread", "true")]),
        (admin(&app), vec![("cursor", cur.as_str()), ("recipient_id", "vso-0001")]),
    ] {
        let res = app.get("/api/v1/notifications", &tok).query(&query).send().await.unwrap();
        problem(res, 400).await;
    }
    // The same cursor with the same caller and filters still works.
    let again = page(&app, &token, &[("limit", "2"), ("cursor", cur.as_str())]).await;
    assert_eq!(item_ids(&again), expected[2..4].to_vec());

    // A filtered walk pages through the filtered inbox.
    let p1 = page(&app, &token, &[("limit", "2"), ("unread", "true")]).await;
    let cur = p1["next_cursor"].as_str().unwrap();
    let p2 = page(&app, &token, &[("limit", "2"), ("unread", "true"), ("cursor", cur)]).await;
    assert_eq!(item_ids(&p2), expected[1..3].to_vec());

    // The default page holds up to 50.
    let all = page(&app, &token, &[]).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    assert!(all["next_cursor"].is_null());
}

// ---------------------------------------------------------------------------------------------------------------
// Acknowledging
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn acknowledging_is_idempotent_and_only_for_the_recipient() {
    let app = spawn_app().await;
    let c = create_child(&app, "LCS-N08").await;
    let mine = seed(&app, "vso-0001", "placement_breakdown_risk", &c, "Placement at risk");
    let also_mine = seed(&app, "vso-0001", "meeting", &c, "Review");

    let res = app
        .client
        .post(app.url(&format!("/api/v1/notifications/{mine}/acknowledge")))
        .bearer_auth(vso(&app))
        .header("X-Request-Id", "ack-1")
        .send()
        .await
        .unwrap();
    let first = json_with(res, 200).await;
    assert_eq!(first["id"], mine.as_str());
    assert_eq!(first["acknowledged_by"], "vso-0001");
    let at = first["acknowledged_at"].as_str().unwrap().to_owned();
    assert!(at.ends_with('Z'), "{at}");
    let row = stored(&app, &mine);
    assert_eq!(row.acknowledged_by.as_deref(), Some("vso-0001"));
    assert_eq!(row.acknowledged_at.unwrap().and_utc().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), at);
    assert_eq!(
        audit_of(&app, "ack-1"),
        vec![(
            "vso-0001".to_owned(),
            "notification.acknowledge".to_owned(),
            "allowed".to_owned(),
            Some(c.clone()),
            "ack-1".to_owned()
        )]
    );

    // Again: 200 with the same acknowledged_at; the stored row is untouched.
    let second = json_with(acknowledge(&app, &vso(&app), &mine).await, 200).await;
    assert_eq!(second, first);
    assert_eq!(stored(&app, &mine), row);

    // The inbox shows it acknowledged, and unread leaves it out.
    let p = page(&app, &vso(&app), &[]).await;
    let listed = p["items"].as_array().unwrap().iter().find(|n| n["id"] == mine.as_str()).unwrap().clone();
    assert_eq!(listed, first);
    assert_eq!(ids(&app, &vso(&app), &[("unread", "true")]).await, vec![also_mine.clone()]);

    // Somebody else's: 404 (another VSO, a vs_admin, the child's social worker), a denied event, and it stays
    // unacknowledged.
    let before = stored(&app, &also_mine);
    for (sub, role) in [("vso-0002", "vso"), ("admin-0001", "vs_admin"), ("sw-0001", "social_worker")] {
        let rid = format!("ack-404-{sub}");
        let res = app
            .client
            .post(app.url(&format!("/api/v1/notifications/{also_mine}/acknowledge")))
            .bearer_auth(app.token(sub, &[role]))
            .header("X-Request-Id", rid.as_str())
            .send()
            .await
            .unwrap();
        let p = problem(res, 404).await;
        assert!(!p.to_string().contains("Review"), "{p}");
        let audit = audit_of(&app, &rid);
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!((audit[0].1.as_str(), audit[0].2.as_str()), ("notification.acknowledge", "denied"));
    }
    assert_eq!(stored(&app, &also_mine), before);
    assert!(before.acknowledged_at.is_none() && before.acknowledged_by.is_none());
    // Including one already acknowledged by its recipient: the answer does not tell.
    problem(acknowledge(&app, &vso2(&app), &mine).await, 404).await;
    assert_eq!(stored(&app, &mine), row);

    // No such notification, or not an id.
    problem(acknowledge(&app, &vso(&app), &uuid::Uuid::now_v7().to_string()).await, 404).await;
    problem(acknowledge(&app, &vso(&app), "not-a-uuid").await, 400).await;
    // Only POST.
    let res = app.get(&format!("/api/v1/notifications/{mine}/acknowledge"), &vso(&app)).send().await.unwrap();
    problem(res, 405).await;
    assert_eq!(app.count("notifications"), 2);
}

#[actix_web::test]
async fn a_team_notification_is_acknowledged_once_for_every_vs_admin() {
    let app = spawn_app().await;
    // A child new to the roll has no VSO: the vs_admin team is told.
    submit_batch(&app, "TEAM-1", vec![change("LCS-N09", "became_looked_after", today())]).await;
    assert_eq!(app.count("notifications"), 1);
    let items = page(&app, &admin(&app), &[]).await["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["recipient_team"], "vs_admin");
    assert_eq!(items[0]["kind"], "became_looked_after");
    let id = items[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(page(&app, &admin2(&app), &[]).await["items"], json!(items));
    // Not a VSO's to see or acknowledge.
    assert!(ids(&app, &vso(&app), &[]).await.is_empty());
    problem(acknowledge(&app, &vso(&app), &id).await, 404).await;
    assert!(stored(&app, &id).acknowledged_at.is_none());

    let first = json_with(acknowledge(&app, &admin(&app), &id).await, 200).await;
    assert_eq!(first["acknowledged_by"], "admin-0001");
    let at = first["acknowledged_at"].as_str().unwrap().to_owned();
    let row = stored(&app, &id);
    assert_eq!(row.acknowledged_by.as_deref(), Some("admin-0001"));

    // Every vs_admin sees it acknowledged, by whom and when; unread leaves it out for all of them.
    for token in [admin(&app), admin2(&app), app.token("admin-0003", &["vs_admin", "vso"])] {
        let items = page(&app, &token, &[]).await["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["acknowledged_at"], at.as_str());
        assert_eq!(items[0]["acknowledged_by"], "admin-0001");
        assert!(ids(&app, &token, &[("unread", "true")]).await.is_empty());
    }
    // A second vs_admin acknowledging keeps the first acknowledgement.
    let second = json_with(acknowledge(&app, &admin2(&app), &id).await, 200).await;
    assert_eq!(second["acknowledged_at"], at.as_str());
    assert_eq!(second["acknowledged_by"], "admin-0001");
    assert_eq!(second, first);
    assert_eq!(stored(&app, &id), row);
}

#[actix_web::test]
async fn concurrent_acknowledgements_of_a_team_notification_agree_on_the_first() {
    let app = spawn_app().await;
    let c = create_child(&app, "LCS-N10").await;
    let id = seed(&app, "team", "ceased_looked_after", &c, "Ceased");
    let tokens: Vec<String> = (1..=4).map(|i| app.token(&format!("admin-000{i}"), &["vs_admin"])).collect();
    let acks = tokens.iter().map(|t| acknowledge(&app, t, &id));
    let mut bodies = Vec::new();
    for res in futures_util::future::join_all(acks).await {
        bodies.push(json_with(res, 200).await);
    }
    let row = stored(&app, &id);
    let by = row.acknowledged_by.clone().unwrap();
    let at = row.acknowledged_at.unwrap().and_utc().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    for body in &bodies {
        assert_eq!(body["acknowledged_by"], by.as_str(), "{bodies:?}");
        assert_eq!(body["acknowledged_at"], at.as_str(), "{bodies:?}");
    }
    let acks = app.audit_rows().into_iter().filter(|r| r.1 == "notification.acknowledge" && r.2 == "allowed").count();
    assert_eq!(acks, 1, "one acknowledgement took effect");
}

// ---------------------------------------------------------------------------------------------------------------
// End to end: an LCS batch notifies the allocated VSO
// ---------------------------------------------------------------------------------------------------------------

/// The child with `lcs_id`, read as `vs_admin`, with its ETag.
async fn child_by_lcs(app: &TestApp, lcs_id: &str) -> (Value, String) {
    let p = json_with(app.get("/api/v1/children", &admin(app)).query(&[("lcs_id", lcs_id)]).send().await.unwrap(), 200)
        .await;
    let id = p["items"][0]["id"].as_str().unwrap().to_owned();
    let res = app.get(&format!("/api/v1/children/{id}"), &admin(app)).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    (json_with(res, 200).await, etag)
}

#[actix_web::test]
async fn a_child_ceasing_to_be_looked_after_notifies_their_vso_who_acknowledges_it() {
    let app = spawn_app().await;
    // LCS reports the child; nobody is allocated yet, so the team hears of it.
    submit_batch(&app, "VSO-1", vec![change("LCS-N11", "became_looked_after", today() - Duration::days(10))]).await;
    let (child, etag) = child_by_lcs(&app, "LCS-N11").await;
    let c = child["id"].as_str().unwrap().to_owned();
    assert_eq!(ids(&app, &admin(&app), &[("child_id", c.as_str())]).await.len(), 1);
    // A VSO is allocated.
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/children/{c}")))
        .bearer_auth(vso(&app))
        .header("content-type", "application/merge-patch+json")
        .header("if-match", etag)
        .body(json!({"vso_id": "vso-0001"}).to_string())
        .send()
        .await
        .unwrap();
    json_with(res, 200).await;
    assert!(ids(&app, &vso(&app), &[]).await.is_empty());

    submit_batch(
        &app,
        "VSO-2",
        vec![
            change("LCS-N11", "ceased_looked_after", today() - Duration::days(1)),
            change("LCS-N12", "became_looked_after", today()),
        ],
    )
    .await;
    assert_eq!(app.count("notifications"), 3);

    let mine = page(&app, &vso(&app), &[]).await["items"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["kind"], "ceased_looked_after");
    assert_eq!(mine[0]["child_id"], c.as_str());
    assert_eq!(mine[0]["recipient_id"], "vso-0001");
    assert!(mine[0]["recipient_team"].is_null());
    assert!(!mine[0]["summary"].as_str().unwrap().contains("Sam"), "no names in a notification: {}", mine[0]);
    // The other child has no VSO: the team's, not this VSO's nor another's.
    let team = page(&app, &admin(&app), &[]).await["items"].as_array().unwrap().clone();
    assert_eq!(team.len(), 2);
    assert!(team.iter().all(|n| n["kind"] == "became_looked_after" && n["recipient_team"] == "vs_admin"));
    assert!(ids(&app, &vso2(&app), &[]).await.is_empty());
    assert!(ids(&app, &vso(&app), &[("kind", "became_looked_after")]).await.is_empty());

    let id = mine[0]["id"].as_str().unwrap();
    let acked = json_with(acknowledge(&app, &vso(&app), id).await, 200).await;
    assert_eq!(acked["acknowledged_by"], "vso-0001");
    assert!(ids(&app, &vso(&app), &[("unread", "true")]).await.is_empty());
    // The team's notifications are untouched by the VSO's acknowledgement.
    assert_eq!(ids(&app, &admin(&app), &[("unread", "true")]).await.len(), 2);
}

/// A child put on the roll through the API as looked after (with `looked_after_since`) has no LCS timeline yet;
/// LCS then reporting that the child ceased to be looked after is refused, and with it the whole weekly batch, so the
/// VSO is never told.
#[actix_web::test]
async fn lcs_ceasing_a_child_added_through_the_api_notifies_their_vso() {
    let app = spawn_app().await;
    let c = create_child(&app, "LCS-N13").await;
    let body = json!({"batch_ref": "VSO-3", "period_ending": ymd(today()),
        "changes": [change("LCS-N13", "ceased_looked_after", today() - Duration::days(1))]});
    let res = app
        .client
        .post(app.url("/api/v1/lac-status-batches"))
        .bearer_auth(app.token("lcs-system", &["lcs"]))
        .json(&body)
        .send()
        .await
        .unwrap();
    json_with(res, 201).await;
    let mine = page(&app, &vso(&app), &[]).await["items"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["kind"], "ceased_looked_after");
    assert_eq!(mine[0]["child_id"], c.as_str());
}
