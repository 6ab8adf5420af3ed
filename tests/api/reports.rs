//! Dashboard reports (`/api/v1/reports/*`) against one hand-counted roll, built entirely through the API with the
//! service's date pinned: every figure of every report is asserted, with how it was counted by hand next to it; the
//! CSV form carries the same figures; no report names a child; only `dashboard`, `vso` and `vs_admin` read them,
//! and every read (and refusal) is audited.
//!
//! The roll (synthetic people), as created, on the pinned day 2026-12-04 (autumn 2026-27, after its PEP deadline
//! of 30 November). "due" is the `next_pep_due_on` sent on creation (absent: looked_after_since + 10 working days).
//!
//! | key | year | KS     | lac          | since      | ooa     | SEN         | legal | due        | PEPs                                   |
//! |-----|------|--------|--------------|------------|---------|-------------|-------|------------|----------------------------------------|
//! | C1  | R    | EYFS   | looked after | 2025-01-15 | false   | none        | C2    | 2026-11-30 | autumn                                 |
//! | C2  | 2    | KS1    | looked after | 2024-03-01 | true    | sen_support | C2    | 2026-06-30 | summer; two in autumn (later counts)   |
//! | C3  | 5    | KS2    | looked after | 2023-06-01 | false   | ehcp        | C1    | 2026-06-30 | summer; autumn revised (rev 2 counts)  |
//! | C4  | 8    | KS3    | looked after | 2022-09-10 | unknown | none        | E1    | 2026-11-30 | autumn signed 2 Dec (late)             |
//! | C5  | 10   | KS4    | looked after | 2020-04-04 | true    | sen_support | V2    | 2026-06-30 | summer signed 3 Sep (after term); autumn |
//! | C6  | 12   | post16 | looked after | 2025-11-01 | false   | none        | C2    | 2026-11-30 | autumn, no attendance/exclusions       |
//! | C7  | —    | unknown| looked after | 2026-10-20 | false   | ehcp        | —     | (2026-11-03) | none                                 |
//! | C8  | 9    | KS3    | ceased 2026-10-01 | 2020-01-01 | true | ehcp      | C2    | —          | none                                   |
//! | C9  | —    | unknown| looked after | 2025-02-01 | false   | none        | C2    | (computed) | none; born 2024-06-01 (under 3)       |
//! | C10 | 13   | post16 | looked after | 2019-01-01 | true    | none        | V2    | (computed) | none; born 2008-06-01 (18)            |
//! | C11 | 6→7  | KS2→KS3| looked after | 2023-01-10 | unknown | sen_support | J1    | 2026-06-30 | summer (in Year 6) signed 2 Jul (late) |
//! | C12 | 2    | KS1    | looked after | 2026-11-30 | false   | none        | C1    | (2026-12-14) | none                                 |
//! | C13 | 10   | KS4    | looked after | 2024-09-01 | false   | ehcp        | C2    | (2024-09-13) | none                                 |
//! | C14 | 11   | KS4    | ceased 2026-05-01 | 2021-01-01 | false | sen_support | E1 | —          | none                                   |
//! | C15 | 6    | KS2    | looked after | 2022-02-02 | false   | none        | C2    | 2026-11-30 | autumn                                 |

use crate::helpers::*;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const CHECK_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";
const REPORTS: [&str; 5] = ["cohort", "pep-compliance", "attendance", "attainment", "pupil-premium-plus"];
const COMPLIANCE_HEADER: &str = "key_stage,required,in_date,due,overdue,compliance_percentage";
const ATTENDANCE_HEADER: &str = "key_stage,peps,with_attendance,mean_attendance_percentage,\
overall_attendance_percentage,persistently_absent,persistently_absent_percentage,severely_absent,\
severely_absent_percentage,with_exclusions,children_suspended,suspensions,suspension_days,permanent_exclusions";
const ATTAINMENT_HEADER: &str = "key_stage,subject,pupils,with_target,at_or_above_target,below_target,\
at_or_above_target_percentage,with_past,below_past_attainment,below_past_attainment_percentage";
const PP_HEADER: &str = "school_urn,status,allocations,amount_pence";
const COHORT_HEADER: &str = "dimension,value,count";

/// A valid UPN for `serial` (LA 312), its check letter computed with the DfE rule.
fn upn(serial: u32) -> String {
    let rest = format!("31200003{serial:04}");
    let sum: u32 = rest.bytes().enumerate().map(|(i, b)| u32::from(b - b'0') * (i as u32 + 2)).sum();
    format!("{}{rest}", CHECK_LETTERS[(sum % 23) as usize] as char)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn app_on(day: &str) -> TestApp {
    let day = d(day);
    spawn_app_with(move |c| c.pinned_today = Some(day)).await
}

fn admin(app: &TestApp) -> String {
    app.token("admin-0001", &["vs_admin"])
}

fn dashboard(app: &TestApp) -> String {
    app.token("dash-0001", &["dashboard"])
}

/// `base` with `changes` merged in (RFC 7396: `null` removes a key, arrays are replaced).
fn with(mut base: Value, changes: Value) -> Value {
    json_patch::merge(&mut base, &changes);
    base
}

async fn json_with(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "status; body: {text}");
    serde_json::from_str(&text).unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// The fixture
// ---------------------------------------------------------------------------------------------------------------

/// One child of the fixture, with everything a report must never show.
struct Kid {
    key: &'static str,
    lcs_id: String,
    first_name: String,
    last_name: String,
    date_of_birth: String,
    upn: Option<String>,
    id: String,
}

struct Fixture {
    app: TestApp,
    kids: Vec<Kid>,
}

impl Fixture {
    fn id(&self, key: &str) -> String {
        self.kids.iter().find(|k| k.key == key).unwrap().id.clone()
    }
}

/// A looked-after child in care since `since` (in authority, legal status C2, no SEN, school 100001).
fn child(lcs_id: &str, first: &str, last: &str, dob: &str, upn: Option<&str>, since: &str) -> Value {
    json!({
        "lcs_id": lcs_id,
        "upn": upn,
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "sex": "U",
        "ethnicity": "NOBT",
        "lac_status": "looked_after",
        "looked_after_since": since,
        "legal_status": "C2",
        "placement": {"type": "U1", "provider": "PR1", "out_of_authority": false, "started_on": since},
        "school": {"urn": "100001", "name": "Example School"},
        "sen_status": "none",
        "vso_id": "vso-0001",
        "social_worker_id": "sw-0001"
    })
}

/// A child to create: key, first name, last name, date of birth, UPN serial, looked after since, changes.
type Spec<'a> = (&'static str, &'a str, &'a str, &'a str, Option<u32>, &'a str, Value);

/// Creates the children described by `specs` (key, first name, last name, date of birth, UPN serial, looked after
/// since, changes to the default body) as `vs_admin`.
async fn create_kids(app: &TestApp, prefix: &str, specs: Vec<Spec<'_>>) -> Vec<Kid> {
    let mut kids = Vec::new();
    for (key, first, last, dob, serial, since, changes) in specs {
        let upn = serial.map(upn);
        let lcs_id = format!("LCS-{prefix}-{key}");
        let body = with(child(&lcs_id, first, last, dob, upn.as_deref(), since), changes);
        let res =
            app.client.post(app.url("/api/v1/children")).bearer_auth(admin(app)).json(&body).send().await.unwrap();
        let id = json_with(res, 201).await["id"].as_str().unwrap().to_owned();
        kids.push(Kid {
            key,
            lcs_id,
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            date_of_birth: dob.to_owned(),
            upn,
            id,
        });
    }
    kids
}

/// A signed-off PEP with no attendance, exclusions or attainment.
fn pep(child_id: &str, external_id: &str, year_term: (&str, &str), meeting: &str, signed: &str) -> Value {
    json!({
        "external_id": external_id,
        "revision": 1,
        "child_id": child_id,
        "academic_year": year_term.0,
        "term": year_term.1,
        "meeting_date": meeting,
        "signed_off_at": signed,
        "signed_off_by": "Officer A (VSO)",
        "child_views": "I like drawing."
    })
}

/// Attendance of `attended` out of `possible` sessions, its percentage to one decimal.
fn attendance(attended: i64, possible: i64) -> Value {
    let pct = (1000.0 * attended as f64 / possible as f64).round() / 10.0;
    json!({"percentage": pct, "sessions_possible": possible, "sessions_attended": attended})
}

fn exclusions(suspensions: i64, days: f64, permanent: bool) -> Value {
    json!({"suspensions": suspensions, "suspension_days": days, "permanent_exclusion": permanent})
}

async fn push(app: &TestApp, body: &Value, status: u16) {
    let token = app.token("epep-provider", &["epep"]);
    let res = app.client.post(app.url("/api/v1/peps")).bearer_auth(token).json(body).send().await.unwrap();
    json_with(res, status).await;
}

const AUTUMN: (&str, &str) = ("2026-27", "autumn");
const SUMMER: (&str, &str) = ("2025-26", "summer");

/// The roll of the module comment, on 2026-12-04, with its PEPs and the 2026-27 PP+ budget and allocations.
async fn fixture() -> Fixture {
    let app = app_on("2026-12-04").await;
    let out = |v: Option<bool>| json!({"placement": {"out_of_authority": v}});
    let specs = vec![
        (
            "C1",
            "Zephyrine",
            "Quarterfield",
            "2021-10-10",
            Some(101),
            "2025-01-15",
            with(out(Some(false)), json!({"year_group": "R", "next_pep_due_on": "2026-11-30"})),
        ),
        (
            "C2",
            "Bartholomew",
            "Winterbourne",
            "2019-05-05",
            Some(102),
            "2024-03-01",
            with(
                out(Some(true)),
                json!({"year_group": "2", "sen_status": "sen_support", "next_pep_due_on": "2026-06-30",
                "school": {"urn": "100002"}}),
            ),
        ),
        (
            "C3",
            "Ottoline",
            "Featherstonehaugh",
            "2016-02-02",
            Some(103),
            "2023-06-01",
            json!({"year_group": "5", "sen_status": "ehcp", "legal_status": "C1", "next_pep_due_on": "2026-06-30",
                "school": {"urn": "100003"}}),
        ),
        (
            "C4",
            "Peregrine",
            "Ashcombe",
            "2013-01-20",
            None,
            "2022-09-10",
            with(out(None), json!({"year_group": "8", "legal_status": "E1", "next_pep_due_on": "2026-11-30"})),
        ),
        (
            "C5",
            "Marigold",
            "Trevelyan",
            "2011-03-03",
            Some(105),
            "2020-04-04",
            with(
                out(Some(true)),
                json!({"year_group": "10", "sen_status": "sen_support", "legal_status": "V2",
                "next_pep_due_on": "2026-06-30", "school": {"urn": "100005"}}),
            ),
        ),
        (
            "C6",
            "Cuthbert",
            "Pennyworth",
            "2009-07-07",
            Some(106),
            "2025-11-01",
            json!({"year_group": "12", "next_pep_due_on": "2026-11-30"}),
        ),
        (
            "C7",
            "Isolde",
            "Blackthorne",
            "2014-04-04",
            Some(107),
            "2026-10-20",
            json!({"sen_status": "ehcp", "legal_status": null}),
        ),
        (
            "C8",
            "Leopold",
            "Fairweather",
            "2012-05-05",
            Some(108),
            "2020-01-01",
            with(
                out(Some(true)),
                json!({"year_group": "9", "sen_status": "ehcp", "lac_status": "ceased",
                "ceased_on": "2026-10-01"}),
            ),
        ),
        ("C9", "Wilhelmina", "Oakenshaw", "2024-06-01", None, "2025-02-01", json!({})),
        (
            "C10",
            "Ambrose",
            "Hollingworth",
            "2008-06-01",
            Some(110),
            "2019-01-01",
            with(out(Some(true)), json!({"year_group": "13", "legal_status": "V2"})),
        ),
        (
            "C11",
            "Seraphina",
            "Gainsborough",
            "2014-08-08",
            Some(111),
            "2023-01-10",
            with(
                out(None),
                json!({"year_group": "6", "sen_status": "sen_support", "legal_status": "J1",
                "next_pep_due_on": "2026-06-30"}),
            ),
        ),
        (
            "C12",
            "Thaddeus",
            "Montgomery",
            "2019-01-12",
            Some(112),
            "2026-11-30",
            json!({"year_group": "2", "legal_status": "C1"}),
        ),
        (
            "C13",
            "Philippa",
            "Castellane",
            "2011-11-11",
            Some(113),
            "2024-09-01",
            json!({"year_group": "10", "sen_status": "ehcp"}),
        ),
        (
            "C14",
            "Rupert",
            "Drinkwater",
            "2010-10-10",
            Some(114),
            "2021-01-01",
            json!({"year_group": "11", "sen_status": "sen_support", "legal_status": "E1", "lac_status": "ceased",
                "ceased_on": "2026-05-01"}),
        ),
        (
            "C15",
            "Evangeline",
            "Harrowgate",
            "2015-01-15",
            Some(115),
            "2022-02-02",
            json!({"year_group": "6", "next_pep_due_on": "2026-11-30", "school": {"urn": "100003"}}),
        ),
    ];
    let kids = create_kids(&app, "R", specs).await;
    let f = Fixture { app, kids };
    let app = &f.app;

    // Summer 2025-26 (deadline 2026-06-30, last day 2026-08-31).
    push(app, &pep(&f.id("C2"), "S-C2", SUMMER, "2026-04-20", "2026-04-21T10:00:00Z"), 201).await;
    push(
        app,
        &with(
            pep(&f.id("C3"), "S-C3", SUMMER, "2026-05-10", "2026-05-12T10:00:00Z"),
            json!({"attendance": attendance(184, 200), "exclusions": exclusions(0, 0.0, false),
                "attainment": [{"subject": "Mathematics", "past": 3, "current": 4, "target": 4}]}),
        ),
        201,
    )
    .await;
    // C11 in Year 6 when signed off (moved to Year 7 below); signed off after the deadline, within the term.
    push(
        app,
        &with(
            pep(&f.id("C11"), "S-C11", SUMMER, "2026-06-10", "2026-07-02T10:00:00Z"),
            json!({"attendance": attendance(120, 190), "exclusions": exclusions(1, 0.5, false),
                "attainment": [{"subject": "Science", "current": 3, "target": 4}]}),
        ),
        201,
    )
    .await;
    // C5: signed off after the term ended.
    push(
        app,
        &with(
            pep(&f.id("C5"), "S-C5", SUMMER, "2026-08-20", "2026-09-03T10:00:00Z"),
            json!({"attendance": attendance(141, 200)}),
        ),
        201,
    )
    .await;

    // C11 moves up to Year 7 for 2026-27.
    let res = app.get(&format!("/api/v1/children/{}", f.id("C11")), &admin(app)).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/children/{}", f.id("C11"))))
        .bearer_auth(admin(app))
        .header("if-match", etag)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"year_group": "7"}).to_string())
        .send()
        .await
        .unwrap();
    json_with(res, 200).await;

    // Autumn 2026-27 (deadline 2026-11-30).
    push(
        app,
        &with(
            pep(&f.id("C1"), "A-C1", AUTUMN, "2026-10-05", "2026-10-06T10:00:00Z"),
            json!({"attendance": attendance(190, 200),
                "attainment": [{"subject": "Communication", "current": 3, "target": 3}]}),
        ),
        201,
    )
    .await;
    // C2: the later meeting is pushed first, the earlier second; the later meeting is the one that counts.
    push(
        app,
        &with(
            pep(&f.id("C2"), "A-C2-later", AUTUMN, "2026-10-20", "2026-10-21T10:00:00Z"),
            json!({"attendance": attendance(85, 100), "exclusions": exclusions(0, 0.0, false),
                "attainment": [{"subject": "Reading", "past": 2, "current": 2, "target": 3}]}),
        ),
        201,
    )
    .await;
    push(
        app,
        &with(
            pep(&f.id("C2"), "A-C2-earlier", AUTUMN, "2026-09-20", "2026-10-22T10:00:00Z"),
            json!({"attendance": attendance(40, 100), "exclusions": exclusions(1, 0.5, false),
                "attainment": [{"subject": "Reading", "past": 2, "current": 1, "target": 3},
                    {"subject": "Writing", "current": 1}]}),
        ),
        201,
    )
    .await;
    // C3: revision 1, then revision 2 replacing every figure.
    let c3 = pep(&f.id("C3"), "A-C3", AUTUMN, "2026-11-10", "2026-11-12T10:00:00Z");
    push(
        app,
        &with(
            c3.clone(),
            json!({"attendance": attendance(60, 200), "exclusions": exclusions(2, 3.5, false),
                "attainment": [{"subject": "Mathematics", "past": 4, "current": 2, "target": 5},
                    {"subject": "Science", "current": 1}]}),
        ),
        201,
    )
    .await;
    push(
        app,
        &with(
            c3,
            json!({"revision": 2, "signed_off_at": "2026-11-13T09:00:00Z",
                "attendance": attendance(176, 200), "exclusions": exclusions(1, 1.5, false),
                "attainment": [{"subject": "Mathematics", "past": 4, "current": 5, "target": 5},
                    {"subject": "English", "current": 3, "target": 4}]}),
        ),
        200,
    )
    .await;
    // C4: signed off after the deadline; permanently excluded; no attendance.
    push(
        app,
        &with(
            pep(&f.id("C4"), "A-C4", AUTUMN, "2026-11-25", "2026-12-02T10:00:00Z"),
            json!({"exclusions": exclusions(0, 0.0, true),
                "attainment": [{"subject": "English", "past": 5, "current": 4, "target": 6}]}),
        ),
        201,
    )
    .await;
    push(
        app,
        &with(
            pep(&f.id("C5"), "A-C5", AUTUMN, "2026-11-16", "2026-11-18T10:00:00Z"),
            json!({"attendance": attendance(92, 200), "exclusions": exclusions(3, 4.0, false),
                "attainment": [{"subject": "Mathematics", "past": 7, "current": 6, "target": 5},
                    {"subject": "English", "past": 5, "current": 5}]}),
        ),
        201,
    )
    .await;
    push(app, &pep(&f.id("C6"), "A-C6", AUTUMN, "2026-09-15", "2026-09-16T10:00:00Z"), 201).await;
    push(
        app,
        &with(
            pep(&f.id("C15"), "A-C15", AUTUMN, "2026-11-02", "2026-11-03T10:00:00Z"),
            json!({"attendance": attendance(194, 200), "exclusions": exclusions(0, 0.0, false),
                "attainment": [{"subject": "Mathematics", "past": 2, "current": 3, "target": 4},
                    {"subject": "English", "past": 5, "current": 4, "target": 4}]}),
        ),
        201,
    )
    .await;

    // PP+ 2026-27: £100,000 grant, £20,000 kept centrally.
    let budget = json!({"grant_pence": 10_000_000, "rate_pence": 263_000, "eligible_children": 40,
        "central_retention_pence": 2_000_000});
    let res = app
        .client
        .put(app.url("/api/v1/pupil-premium-plus/budgets/2026-27"))
        .bearer_auth(admin(app))
        .json(&budget)
        .send()
        .await
        .unwrap();
    json_with(res, 201).await;
    for (key, year, urn, amount, end) in [
        ("C3", "2026-27", "100003", 50_000, "paid"),
        ("C5", "2026-27", "100005", 120_000, "approved"),
        ("C15", "2026-27", "100003", 30_000, "approved"),
        ("C2", "2026-27", "100002", 40_000, "rejected"),
        ("C1", "2026-27", "100001", 25_000, "requested"),
        ("C4", "2026-27", "100005", 60_000, "paid"),
        ("C3", "2026-27", "100003", 15_000, "requested"),
        ("C2", "2025-26", "100002", 10_000, "requested"),
    ] {
        allocate(app, &f.id(key), year, urn, amount, end).await;
    }
    f
}

/// Requests an allocation as `vso` and takes it to `end`.
async fn allocate(app: &TestApp, child_id: &str, year: &str, urn: &str, amount: i64, end: &str) {
    const ALLOCATIONS: &str = "/api/v1/pupil-premium-plus/allocations";
    let body = json!({"child_id": child_id, "academic_year": year, "term": "autumn", "amount_pence": amount,
        "school_urn": urn, "purpose": "Tutoring agreed in the PEP"});
    let vso = app.token("vso-0001", &["vso"]);
    let res = app.client.post(app.url(ALLOCATIONS)).bearer_auth(vso).json(&body).send().await.unwrap();
    let id = json_with(res, 201).await["id"].as_str().unwrap().to_owned();
    let step = |step: &str, body: Value| {
        app.client.post(app.url(&format!("{ALLOCATIONS}/{id}/{step}"))).bearer_auth(admin(app)).json(&body).send()
    };
    match end {
        "requested" => {}
        "rejected" => {
            json_with(step("decision", json!({"decision": "reject", "reason": "Not in the PEP"})).await.unwrap(), 200)
                .await;
        }
        _ => {
            json_with(step("decision", json!({"decision": "approve"})).await.unwrap(), 200).await;
            if end == "paid" {
                json_with(
                    step("payment", json!({"paid_on": "2026-12-01", "reference": "PO-0001"})).await.unwrap(),
                    200,
                )
                .await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading reports
// ---------------------------------------------------------------------------------------------------------------

async fn report(app: &TestApp, path: &str) -> Value {
    let res = app.get(&format!("/api/v1/reports/{path}"), &dashboard(app)).send().await.unwrap();
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    let body = json_with(res, 200).await;
    assert!(ct.starts_with("application/json"), "{ct}");
    body
}

/// The CSV form of a report: the raw text, its header line and its rows.
async fn csv_report(app: &TestApp, path: &str) -> (String, String, Vec<csv::StringRecord>) {
    let res =
        app.get(&format!("/api/v1/reports/{path}"), &dashboard(app)).header("accept", "text/csv").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let text = res.text().await.unwrap();
    let header = text.lines().next().unwrap_or_default().to_owned();
    let rows = csv::Reader::from_reader(text.as_bytes()).records().map(Result::unwrap).collect();
    (text, header, rows)
}

/// Asserts that the CSV rows carry, column by column, the figures of `json_rows` (whose fields are the columns).
fn assert_csv_rows(header: &str, rows: &[csv::StringRecord], json_rows: &[Value]) {
    let cols: Vec<&str> = header.split(',').collect();
    assert_eq!(rows.len(), json_rows.len(), "one CSV row per group");
    for (rec, row) in rows.iter().zip(json_rows) {
        let obj = row.as_object().unwrap();
        assert_eq!(obj.keys().map(String::as_str).collect::<BTreeSet<_>>(), cols.iter().copied().collect(), "{row}");
        assert_eq!(rec.len(), cols.len());
        for (i, col) in cols.iter().enumerate() {
            match &obj[*col] {
                Value::Null => assert_eq!(&rec[i], "", "{col} of {row}"),
                Value::Number(n) => assert_eq!(rec[i].parse::<f64>().unwrap(), n.as_f64().unwrap(), "{col} of {row}"),
                Value::String(s) => assert_eq!(&rec[i], s, "{col} of {row}"),
                other => panic!("unexpected {other}"),
            }
        }
    }
}

/// The report rows of a PEP compliance, attendance report: `all` first, then by key stage.
fn total_then_key_stages(body: &Value) -> Vec<Value> {
    let mut rows = vec![body["totals"].clone()];
    rows.extend(body["by_key_stage"].as_array().unwrap().iter().cloned());
    rows
}

/// `lcs_id`s of the children with `pep_status`, as `vs_admin` lists them.
async fn with_pep_status(app: &TestApp, status: &str) -> BTreeSet<String> {
    let res = app.get(&format!("/api/v1/children?pep_status={status}&limit=200"), &admin(app)).send().await.unwrap();
    let body = json_with(res, 200).await;
    assert!(body["next_cursor"].is_null());
    body["items"].as_array().unwrap().iter().map(|c| c["lcs_id"].as_str().unwrap().to_owned()).collect()
}

fn lcs(prefix: &str, keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| format!("LCS-{prefix}-{k}")).collect()
}

fn comp(ks: &str, required: i64, in_date: i64, due: i64, overdue: i64, pct: Option<f64>) -> Value {
    json!({"key_stage": ks, "required": required, "in_date": in_date, "due": due, "overdue": overdue,
        "compliance_percentage": pct})
}

// ---------------------------------------------------------------------------------------------------------------
// The reports, figure by figure
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn the_cohort_report_counts_the_roll_by_hand() {
    let f = fixture().await;
    let body = report(&f.app, "cohort").await;
    // 15 children created (C1–C15).
    assert_eq!(body["total"], 15);
    // Everyone but the two ceased (C8, C14).
    assert_eq!(body["looked_after"], 13);
    assert!(body["generated_at"].is_string());
    // Everyone: 13 looked after, 2 ceased (C8, C14).
    assert_eq!(body["by_lac_status"], json!([{"value": "looked_after", "count": 13}, {"value": "ceased", "count": 2}]));
    // Looked after only: EYFS C1; KS1 C2, C12; KS2 C3, C15; KS3 C4, C11 (now Year 7); KS4 C5, C13;
    // post16 C6, C10 (Year 13); unknown C7, C9 (no year group). Ceased C8 (Year 9), C14 (Year 11) not counted.
    assert_eq!(
        body["by_key_stage"],
        json!([
            {"value": "EYFS", "count": 1}, {"value": "KS1", "count": 2}, {"value": "KS2", "count": 2},
            {"value": "KS3", "count": 2}, {"value": "KS4", "count": 2}, {"value": "post16", "count": 2},
            {"value": "unknown", "count": 2}
        ])
    );
    // In: C1, C3, C6, C7, C9, C12, C13, C15 = 8; out: C2, C5, C10 = 3; not recorded: C4, C11 = 2.
    assert_eq!(
        body["by_placement_location"],
        json!([{"value": "in_authority", "count": 8}, {"value": "out_of_authority", "count": 3},
            {"value": "unknown", "count": 2}])
    );
    // none: C1, C4, C6, C9, C10, C12, C15 = 7; sen_support: C2, C5, C11 = 3; ehcp: C3, C7, C13 = 3.
    assert_eq!(
        body["by_sen_status"],
        json!([{"value": "none", "count": 7}, {"value": "sen_support", "count": 3}, {"value": "ehcp", "count": 3}])
    );
    // C1: C3, C12; C2: C1, C2, C6, C9, C13, C15; E1: C4; J1: C11; V2: C5, C10; not recorded: C7.
    assert_eq!(
        body["by_legal_status"],
        json!([
            {"value": "C1", "count": 2}, {"value": "C2", "count": 6}, {"value": "E1", "count": 1},
            {"value": "J1", "count": 1}, {"value": "V2", "count": 2}, {"value": "unknown", "count": 1}
        ])
    );

    // CSV: one row per dimension and value, in the JSON's order, with the same counts.
    let (_, header, rows) = csv_report(&f.app, "cohort").await;
    assert_eq!(header, COHORT_HEADER);
    let mut expected = Vec::new();
    for (dim, field) in [
        ("lac_status", "by_lac_status"),
        ("key_stage", "by_key_stage"),
        ("placement_location", "by_placement_location"),
        ("sen_status", "by_sen_status"),
        ("legal_status", "by_legal_status"),
    ] {
        for c in body[field].as_array().unwrap() {
            expected.push(json!({"dimension": dim, "value": c["value"], "count": c["count"]}));
        }
    }
    assert_eq!(expected.len(), 2 + 7 + 3 + 3 + 6);
    assert_csv_rows(&header, &rows, &expected);
}

#[actix_web::test]
async fn pep_compliance_is_live_for_this_term_and_at_term_end_for_a_past_one() {
    let f = fixture().await;
    let app = &f.app;
    for path in ["pep-compliance", "pep-compliance?academic_year=2026-27&term=autumn"] {
        let body = report(app, path).await;
        assert_eq!(body["academic_year"], "2026-27");
        assert_eq!(body["term"], "autumn");
        assert_eq!(body["basis"], "live");
        assert_eq!(body["as_of"], "2026-12-04");
        // in_date (autumn PEP signed, nothing else owed): C1, C2, C3, C4, C5, C6, C15 = 7;
        // due: C12 (initial PEP due 2026-12-14) = 1;
        // overdue: C7 (initial PEP due 2026-11-03), C11 and C13 (no autumn PEP, deadline 30 Nov passed) = 3.
        // Required 11; 7 / 11 = 63.6%.
        assert_eq!(body["totals"], comp("all", 11, 7, 1, 3, Some(63.6)));
        assert_eq!(
            body["by_key_stage"],
            json!([
                comp("EYFS", 1, 1, 0, 0, Some(100.0)),   // C1
                comp("KS1", 2, 1, 1, 0, Some(50.0)),     // C2 in date, C12 due
                comp("KS2", 2, 2, 0, 0, Some(100.0)),    // C3, C15
                comp("KS3", 2, 1, 0, 1, Some(50.0)),     // C4 in date (late), C11 overdue
                comp("KS4", 2, 1, 0, 1, Some(50.0)),     // C5 in date, C13 overdue
                comp("post16", 1, 1, 0, 0, Some(100.0)), // C6 (C10 is 18: not required)
                comp("unknown", 1, 0, 0, 1, Some(0.0)),  // C7 (C9 is under 3: not required)
            ])
        );
        // C9 (under 3) and C10 (18); the ceased C8 and C14 are not looked after.
        assert_eq!(body["looked_after_not_required"], 2);
        // The counted autumn PEPs signed off after their deadline: C4 (2 Dec) only.
        assert_eq!(body["signed_off_late"], 1);
    }
    // The roll's own pep_status filter names the same children.
    assert_eq!(with_pep_status(app, "in_date").await, lcs("R", &["C1", "C2", "C3", "C4", "C5", "C6", "C15"]));
    assert_eq!(with_pep_status(app, "due").await, lcs("R", &["C12"]));
    assert_eq!(with_pep_status(app, "overdue").await, lcs("R", &["C7", "C11", "C13"]));
    assert_eq!(with_pep_status(app, "not_required").await, lcs("R", &["C8", "C9", "C10", "C14"]));

    // Summer 2025-26 at its end (2026-08-31). Owed: looked after before 2026-04-06 and still on 2026-08-31, aged
    // 3 to 17 then: C1, C2, C3, C4, C5, C6, C8 (ceased only on 2026-10-01), C11, C13, C15 = 10. Not owed: C7 and
    // C12 (in care later), C9 (2 then), C10 (18 then), C14 (ceased 2026-05-01).
    // In date (a summer PEP signed off by 2026-08-31): C2, C3, C11 = 3; C5's was signed off on 3 September.
    let body = report(app, "pep-compliance?academic_year=2025-26&term=summer").await;
    assert_eq!(body["basis"], "term_end");
    assert_eq!(body["as_of"], "2026-08-31");
    assert_eq!(body["academic_year"], "2025-26");
    assert_eq!(body["term"], "summer");
    // 3 / 10 = 30.0%; nothing is "due" at a term's end.
    assert_eq!(body["totals"], comp("all", 10, 3, 0, 7, Some(30.0)));
    assert_eq!(
        body["by_key_stage"],
        json!([
            comp("EYFS", 1, 0, 0, 1, Some(0.0)),   // C1
            comp("KS1", 1, 1, 0, 0, Some(100.0)),  // C2
            comp("KS2", 2, 1, 0, 1, Some(50.0)),   // C3 in date, C15 overdue
            comp("KS3", 3, 1, 0, 2, Some(33.3)),   // C11 in date (Year 7 now); C4, C8 overdue
            comp("KS4", 2, 0, 0, 2, Some(0.0)),    // C5 (signed after the term), C13
            comp("post16", 1, 0, 0, 1, Some(0.0)), // C6
        ])
    );
    assert!(body["looked_after_not_required"].is_null(), "live only");
    // Summer PEPs signed off after 2026-06-30: C11 (2 July) and C5 (3 September).
    assert_eq!(body["signed_off_late"], 2);

    // CSV: `all` first, then one row per key stage, with the JSON's figures.
    for path in ["pep-compliance", "pep-compliance?academic_year=2025-26&term=summer"] {
        let body = report(app, path).await;
        let (_, header, rows) = csv_report(app, path).await;
        assert_eq!(header, COMPLIANCE_HEADER);
        assert_csv_rows(&header, &rows, &total_then_key_stages(&body));
    }
}

#[actix_web::test]
async fn pep_compliance_before_the_deadline_counts_children_due() {
    let app = app_on("2026-11-20").await;
    let specs = vec![
        // Autumn 2025-26 PEP signed off in the last second of that term (GMT, so the same day in UTC and UK time):
        // in date at its end. No PEP yet this autumn: due by 30 Nov.
        (
            "D1",
            "Hyacinth",
            "Bucklebury",
            "2017-03-03",
            Some(201),
            "2023-03-03",
            json!({"year_group": "4", "next_pep_due_on": "2026-06-30"}),
        ),
        // New to care on 16 Nov: initial PEP due 30 Nov.
        ("D2", "Ignatius", "Wolverton", "2012-09-09", Some(202), "2026-11-16", json!({"year_group": "9"})),
        // New to care on 1 Oct: initial PEP due 15 Oct, overdue.
        ("D3", "Clementine", "Ravensworth", "2012-10-10", Some(203), "2026-10-01", json!({"year_group": "9"})),
        // Autumn PEP signed off: in date.
        (
            "D4",
            "Barnaby",
            "Fotheringay",
            "2018-04-04",
            Some(204),
            "2022-05-05",
            json!({"year_group": "3", "next_pep_due_on": "2026-11-30"}),
        ),
        // A PEP due on 15 Oct never came: overdue.
        (
            "D5",
            "Araminta",
            "Cholmondeley",
            "2010-12-12",
            Some(205),
            "2025-08-01",
            json!({"year_group": "11", "next_pep_due_on": "2026-10-15"}),
        ),
    ];
    let kids = create_kids(&app, "D", specs).await;
    let id = |k: &str| kids.iter().find(|x| x.key == k).unwrap().id.clone();
    let last_autumn = ("2025-26", "autumn");
    push(&app, &pep(&id("D1"), "A25-D1", last_autumn, "2025-12-15", "2025-12-31T23:59:59.500Z"), 201).await;
    push(&app, &pep(&id("D4"), "A-D4", AUTUMN, "2026-11-09", "2026-11-10T10:00:00Z"), 201).await;

    let body = report(&app, "pep-compliance").await;
    assert_eq!(body["basis"], "live");
    assert_eq!(body["as_of"], "2026-11-20");
    // in_date D4; due D1 (autumn PEP, deadline 30 Nov not passed), D2 (initial, 30 Nov); overdue D3, D5.
    // 1 / 5 = 20.0%.
    assert_eq!(body["totals"], comp("all", 5, 1, 2, 2, Some(20.0)));
    assert_eq!(
        body["by_key_stage"],
        json!([
            comp("KS2", 2, 1, 1, 0, Some(50.0)), // D4 in date, D1 due
            comp("KS3", 2, 0, 1, 1, Some(0.0)),  // D2 due, D3 overdue
            comp("KS4", 1, 0, 0, 1, Some(0.0)),  // D5 overdue
        ])
    );
    assert_eq!(body["looked_after_not_required"], 0);
    // D4's autumn PEP was signed off on 10 Nov, before 30 Nov.
    assert_eq!(body["signed_off_late"], 0);
    assert_eq!(with_pep_status(&app, "in_date").await, lcs("D", &["D4"]));
    assert_eq!(with_pep_status(&app, "due").await, lcs("D", &["D1", "D2"]));
    assert_eq!(with_pep_status(&app, "overdue").await, lcs("D", &["D3", "D5"]));

    // Autumn 2025-26 (1 Sep – 31 Dec 2025): owed by D1, D4, D5 (in care before 1 September 2025); D1's PEP was
    // signed off at 23:59:59.5 on the term's last day, so it is in date. 1 / 3 = 33.3%.
    let body = report(&app, "pep-compliance?academic_year=2025-26&term=autumn").await;
    assert_eq!((body["basis"].as_str(), body["as_of"].as_str()), (Some("term_end"), Some("2025-12-31")));
    assert_eq!(body["totals"], comp("all", 3, 1, 0, 2, Some(33.3)));
    assert_eq!(
        body["by_key_stage"],
        json!([
            comp("KS2", 2, 1, 0, 1, Some(50.0)), // D1 in date, D4 overdue
            comp("KS4", 1, 0, 0, 1, Some(0.0)),  // D5 overdue
        ])
    );
    // D1's PEP was signed off after that term's deadline, 30 November 2025.
    assert_eq!(body["signed_off_late"], 1);

    // Spring 2026-27 has not begun on 20 November.
    let p = problem(
        app.get("/api/v1/reports/pep-compliance?academic_year=2026-27&term=spring", &dashboard(&app))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("has not begun"), "{p}");
}

#[actix_web::test]
async fn attendance_counts_each_childs_latest_pep_of_the_term() {
    let f = fixture().await;
    let app = &f.app;
    for path in ["attendance", "attendance?academic_year=2026-27&term=autumn"] {
        let body = report(app, path).await;
        assert_eq!((body["academic_year"].as_str(), body["term"].as_str()), (Some("2026-27"), Some("autumn")));
        // Counted PEPs: C1, C2 (later meeting), C3 (revision 2), C4, C5, C6, C15 = 7.
        // With attendance: C1 95.0 (190/200), C2 85.0 (85/100), C3 88.0 (176/200), C5 46.0 (92/200),
        // C15 97.0 (194/200) = 5; C4, C6 none.
        // Mean (95 + 85 + 88 + 46 + 97) / 5 = 82.2; overall 737 / 900 = 81.9.
        // Below 90: C2, C3, C5 = 3 (60.0%); below 50: C5 = 1 (20.0%).
        // Exclusions recorded: C2, C3, C4, C5, C15 = 5; suspended: C3 (1, 1.5 days), C5 (3, 4.0 days) = 2 children,
        // 4 suspensions, 5.5 days; permanent: C4 = 1.
        assert_eq!(
            body["totals"],
            json!({"key_stage": "all", "peps": 7, "with_attendance": 5, "mean_attendance_percentage": 82.2,
                "overall_attendance_percentage": 81.9, "persistently_absent": 3, "persistently_absent_percentage": 60.0,
                "severely_absent": 1, "severely_absent_percentage": 20.0, "with_exclusions": 5,
                "children_suspended": 2, "suspensions": 4, "suspension_days": 5.5, "permanent_exclusions": 1})
        );
        assert_eq!(
            body["by_key_stage"],
            json!([
                // C1: 95.0, no exclusions recorded.
                {"key_stage": "EYFS", "peps": 1, "with_attendance": 1, "mean_attendance_percentage": 95.0,
                    "overall_attendance_percentage": 95.0, "persistently_absent": 0,
                    "persistently_absent_percentage": 0.0, "severely_absent": 0, "severely_absent_percentage": 0.0,
                    "with_exclusions": 0, "children_suspended": 0, "suspensions": 0, "suspension_days": 0.0,
                    "permanent_exclusions": 0},
                // C2's later PEP: 85.0 (the earlier one's 40.0 and suspension do not count).
                {"key_stage": "KS1", "peps": 1, "with_attendance": 1, "mean_attendance_percentage": 85.0,
                    "overall_attendance_percentage": 85.0, "persistently_absent": 1,
                    "persistently_absent_percentage": 100.0, "severely_absent": 0, "severely_absent_percentage": 0.0,
                    "with_exclusions": 1, "children_suspended": 0, "suspensions": 0, "suspension_days": 0.0,
                    "permanent_exclusions": 0},
                // C3 revision 2 (88.0, 1 suspension of 1.5 days; revision 1's 30.0 and 2 suspensions are gone) and
                // C15 (97.0): mean 92.5, overall 370 / 400 = 92.5; C3 below 90.
                {"key_stage": "KS2", "peps": 2, "with_attendance": 2, "mean_attendance_percentage": 92.5,
                    "overall_attendance_percentage": 92.5, "persistently_absent": 1,
                    "persistently_absent_percentage": 50.0, "severely_absent": 0, "severely_absent_percentage": 0.0,
                    "with_exclusions": 2, "children_suspended": 1, "suspensions": 1, "suspension_days": 1.5,
                    "permanent_exclusions": 0},
                // C4: no attendance; permanently excluded.
                {"key_stage": "KS3", "peps": 1, "with_attendance": 0, "mean_attendance_percentage": null,
                    "overall_attendance_percentage": null, "persistently_absent": 0,
                    "persistently_absent_percentage": null, "severely_absent": 0, "severely_absent_percentage": null,
                    "with_exclusions": 1, "children_suspended": 0, "suspensions": 0, "suspension_days": 0.0,
                    "permanent_exclusions": 1},
                // C5: 46.0, both persistently and severely absent; 3 suspensions, 4.0 days.
                {"key_stage": "KS4", "peps": 1, "with_attendance": 1, "mean_attendance_percentage": 46.0,
                    "overall_attendance_percentage": 46.0, "persistently_absent": 1,
                    "persistently_absent_percentage": 100.0, "severely_absent": 1,
                    "severely_absent_percentage": 100.0, "with_exclusions": 1, "children_suspended": 1,
                    "suspensions": 3, "suspension_days": 4.0, "permanent_exclusions": 0},
                // C6: a PEP with neither attendance nor exclusions.
                {"key_stage": "post16", "peps": 1, "with_attendance": 0, "mean_attendance_percentage": null,
                    "overall_attendance_percentage": null, "persistently_absent": 0,
                    "persistently_absent_percentage": null, "severely_absent": 0, "severely_absent_percentage": null,
                    "with_exclusions": 0, "children_suspended": 0, "suspensions": 0, "suspension_days": 0.0,
                    "permanent_exclusions": 0},
            ])
        );
    }

    // Summer 2025-26: C2 (no attendance), C3 92.0 (184/200), C11 63.2 (120/190), C5 70.5 (141/200; signed off
    // after the term, but still the term's PEP). Mean (92 + 63.2 + 70.5) / 3 = 75.2; overall 445 / 590 = 75.4.
    // Below 90: C11, C5 = 2 (66.7%); below 50: none. Exclusions recorded: C3 (none), C11 (1, 0.5 days).
    let body = report(app, "attendance?academic_year=2025-26&term=summer").await;
    assert_eq!((body["academic_year"].as_str(), body["term"].as_str()), (Some("2025-26"), Some("summer")));
    assert_eq!(
        body["totals"],
        json!({"key_stage": "all", "peps": 4, "with_attendance": 3, "mean_attendance_percentage": 75.2,
            "overall_attendance_percentage": 75.4, "persistently_absent": 2, "persistently_absent_percentage": 66.7,
            "severely_absent": 0, "severely_absent_percentage": 0.0, "with_exclusions": 2, "children_suspended": 1,
            "suspensions": 1, "suspension_days": 0.5, "permanent_exclusions": 0})
    );
    assert_eq!(
        body["by_key_stage"],
        json!([
            // C2.
            {"key_stage": "KS1", "peps": 1, "with_attendance": 0, "mean_attendance_percentage": null,
                "overall_attendance_percentage": null, "persistently_absent": 0,
                "persistently_absent_percentage": null, "severely_absent": 0, "severely_absent_percentage": null,
                "with_exclusions": 0, "children_suspended": 0, "suspensions": 0, "suspension_days": 0.0,
                "permanent_exclusions": 0},
            // C3 and C11, who was in Year 6 when the PEP was signed off (Year 7, KS3, now):
            // mean (92 + 63.2) / 2 = 77.6; overall 304 / 390 = 77.9.
            {"key_stage": "KS2", "peps": 2, "with_attendance": 2, "mean_attendance_percentage": 77.6,
                "overall_attendance_percentage": 77.9, "persistently_absent": 1,
                "persistently_absent_percentage": 50.0, "severely_absent": 0, "severely_absent_percentage": 0.0,
                "with_exclusions": 2, "children_suspended": 1, "suspensions": 1, "suspension_days": 0.5,
                "permanent_exclusions": 0},
            // C5, Year 10 now, so Year 9 (KS3) in 2025-26: a PEP counts in the key stage of its own year.
            {"key_stage": "KS3", "peps": 1, "with_attendance": 1, "mean_attendance_percentage": 70.5,
                "overall_attendance_percentage": 70.5, "persistently_absent": 1,
                "persistently_absent_percentage": 100.0, "severely_absent": 0, "severely_absent_percentage": 0.0,
                "with_exclusions": 0, "children_suspended": 0, "suspensions": 0, "suspension_days": 0.0,
                "permanent_exclusions": 0},
        ])
    );

    for path in ["attendance", "attendance?academic_year=2025-26&term=summer"] {
        let body = report(app, path).await;
        let (_, header, rows) = csv_report(app, path).await;
        assert_eq!(header, ATTENDANCE_HEADER);
        assert_csv_rows(&header, &rows, &total_then_key_stages(&body));
    }
    // A term with no PEPs: the totals row and nothing else.
    let body = report(app, "attendance?academic_year=2024-25&term=spring").await;
    assert_eq!(body["totals"]["peps"], 0);
    assert!(body["totals"]["mean_attendance_percentage"].is_null());
    assert_eq!(body["by_key_stage"], json!([]));
}

fn att(ks: &str, subject: &str, counts: [i64; 4], pct: Option<f64>, past: [i64; 2], past_pct: Option<f64>) -> Value {
    json!({"key_stage": ks, "subject": subject, "pupils": counts[0], "with_target": counts[1],
        "at_or_above_target": counts[2], "below_target": counts[3], "at_or_above_target_percentage": pct,
        "with_past": past[0], "below_past_attainment": past[1], "below_past_attainment_percentage": past_pct})
}

#[actix_web::test]
async fn attainment_counts_by_key_stage_and_subject() {
    let f = fixture().await;
    let app = &f.app;
    for path in ["attainment", "attainment?academic_year=2026-27&term=autumn"] {
        let body = report(app, path).await;
        assert_eq!((body["academic_year"].as_str(), body["term"].as_str()), (Some("2026-27"), Some("autumn")));
        // [pupils, with_target, at_or_above, below], then [with_past, below_past].
        assert_eq!(
            body["rows"],
            json!([
                // C1: current 3 = target 3 (at or above); no past.
                att("EYFS", "Communication", [1, 1, 1, 0], Some(100.0), [0, 0], None),
                // C2's later PEP: current 2 < target 3; past 2 (not below). The earlier PEP's Writing is not counted.
                att("KS1", "Reading", [1, 1, 0, 1], Some(0.0), [1, 0], Some(0.0)),
                // C3 rev 2: 3 < 4, no past; C15: 4 = 4 (at or above), 4 < past 5.
                att("KS2", "English", [2, 2, 1, 1], Some(50.0), [1, 1], Some(100.0)),
                // C3 rev 2: 5 = 5, past 4; C15: 3 < 4, past 2. Revision 1's Science is gone.
                att("KS2", "Mathematics", [2, 2, 1, 1], Some(50.0), [2, 0], Some(0.0)),
                // C4: 4 < target 6, 4 < past 5.
                att("KS3", "English", [1, 1, 0, 1], Some(0.0), [1, 1], Some(100.0)),
                // C5: no target; past 5 = current 5 (not below).
                att("KS4", "English", [1, 0, 0, 0], None, [1, 0], Some(0.0)),
                // C5: 6 ≥ target 5, 6 < past 7. The same subject as in KS2, counted apart.
                att("KS4", "Mathematics", [1, 1, 1, 0], Some(100.0), [1, 1], Some(100.0)),
            ])
        );
        let (_, header, rows) = csv_report(app, path).await;
        assert_eq!(header, ATTAINMENT_HEADER);
        assert_csv_rows(&header, &rows, body["rows"].as_array().unwrap());
    }
    let path = "attainment?academic_year=2025-26&term=summer";
    let body = report(app, path).await;
    assert_eq!(
        body["rows"],
        json!([
            // C3: current 4 = target 4, past 3.
            att("KS2", "Mathematics", [1, 1, 1, 0], Some(100.0), [1, 0], Some(0.0)),
            // C11 (Year 6 then): 3 < 4, no past.
            att("KS2", "Science", [1, 1, 0, 1], Some(0.0), [0, 0], None),
        ])
    );
    let (_, header, rows) = csv_report(app, path).await;
    assert_csv_rows(&header, &rows, body["rows"].as_array().unwrap());
    // No PEPs in spring 2024-25: no rows, and the CSV is its header alone.
    let path = "attainment?academic_year=2024-25&term=spring";
    assert_eq!(report(app, path).await["rows"], json!([]));
    let (text, header, rows) = csv_report(app, path).await;
    assert_eq!(header, ATTAINMENT_HEADER);
    assert!(rows.is_empty());
    assert_eq!(text.trim_end(), ATTAINMENT_HEADER);
}

fn alloc(urn: &str, status: &str, allocations: i64, amount: i64) -> Value {
    json!({"school_urn": urn, "status": status, "allocations": allocations, "amount_pence": amount})
}

#[actix_web::test]
async fn pupil_premium_plus_sums_allocations_against_the_budget() {
    let f = fixture().await;
    let app = &f.app;
    for path in ["pupil-premium-plus?academic_year=2026-27", "pupil-premium-plus"] {
        let body = report(app, path).await;
        assert_eq!(body["academic_year"], "2026-27");
        // Available 10,000,000 − 2,000,000 = 8,000,000. Approved incl. paid: 50,000 + 120,000 + 30,000 + 60,000 =
        // 260,000; paid 50,000 + 60,000 = 110,000; remaining 8,000,000 − 260,000 = 7,740,000.
        assert_eq!(
            body["budget"],
            json!({"grant_pence": 10_000_000, "central_retention_pence": 2_000_000, "available_pence": 8_000_000,
                "approved_pence": 260_000, "paid_pence": 110_000, "remaining_pence": 7_740_000})
        );
        assert_eq!(
            body["by_status"],
            json!([
                alloc("all", "requested", 2, 40_000), // C1 25,000 + C3 15,000
                alloc("all", "approved", 2, 150_000), // C5 120,000 + C15 30,000
                alloc("all", "rejected", 1, 40_000),  // C2
                alloc("all", "paid", 2, 110_000),     // C3 50,000 + C4 60,000
            ])
        );
        assert_eq!(
            body["by_school"],
            json!([
                alloc("100001", "requested", 1, 25_000), // C1
                alloc("100002", "rejected", 1, 40_000),  // C2 (its 2025-26 request is another year)
                alloc("100003", "approved", 1, 30_000),  // C15
                alloc("100003", "paid", 1, 50_000),      // C3
                alloc("100003", "requested", 1, 15_000), // C3
                alloc("100005", "approved", 1, 120_000), // C5
                alloc("100005", "paid", 1, 60_000),      // C4
            ])
        );
        let (_, header, rows) = csv_report(app, path).await;
        assert_eq!(header, PP_HEADER);
        assert_csv_rows(&header, &rows, body["by_school"].as_array().unwrap());
    }
    // 2025-26: one request, no budget.
    let body = report(app, "pupil-premium-plus?academic_year=2025-26").await;
    assert!(body["budget"].is_null(), "{body}");
    assert_eq!(body["by_status"], json!([alloc("all", "requested", 1, 10_000)]));
    assert_eq!(body["by_school"], json!([alloc("100002", "requested", 1, 10_000)]));
    // 2027-28: nothing at all; the CSV is its header alone.
    let body = report(app, "pupil-premium-plus?academic_year=2027-28").await;
    assert_eq!(body, json!({"academic_year": "2027-28", "budget": null, "by_status": [], "by_school": []}));
    let (text, header, rows) = csv_report(app, "pupil-premium-plus?academic_year=2027-28").await;
    assert_eq!((header.as_str(), rows.len()), (PP_HEADER, 0));
    assert_eq!(text.trim_end(), PP_HEADER);
    problem(
        app.get("/api/v1/reports/pupil-premium-plus?academic_year=2026-28", &dashboard(app)).send().await.unwrap(),
        400,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------------------------
// Representations, privacy, access
// ---------------------------------------------------------------------------------------------------------------

#[actix_web::test]
async fn reports_are_json_or_csv_by_accept_and_nothing_else() {
    let f = fixture().await;
    let app = &f.app;
    for name in REPORTS {
        let path = format!("/api/v1/reports/{name}");
        // XML is neither: 406 as problem+json.
        let res = app.get(&path, &dashboard(app)).header("accept", "application/xml").send().await.unwrap();
        problem(res, 406).await;
        // CSV preferred less than JSON: JSON.
        for accept in ["text/csv;q=0.5, application/json", "*/*", "application/json"] {
            let res = app.get(&path, &dashboard(app)).header("accept", accept).send().await.unwrap();
            assert_eq!(res.status(), 200, "{accept}");
            assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{accept}");
            assert_eq!(res.headers()["vary"], "Accept");
            res.json::<Value>().await.unwrap();
        }
        // JSON preferred less than CSV, or only `text/*` (which JSON is not): CSV.
        for accept in ["application/json;q=0.4, text/csv", "text/*", "text/csv; charset=utf-8"] {
            let res = app.get(&path, &dashboard(app)).header("accept", accept).send().await.unwrap();
            assert_eq!(res.status(), 200, "{accept}");
            assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8", "{accept}");
            assert_eq!(res.headers()["vary"], "Accept");
        }
        // Both refused with q=0: 406.
        let res = app.get(&path, &dashboard(app)).header("accept", "application/json;q=0, text/csv;q=0").send();
        problem(res.await.unwrap(), 406).await;
    }
}

#[actix_web::test]
async fn bad_terms_answer_400() {
    let f = fixture().await;
    let app = &f.app;
    for name in ["pep-compliance", "attendance", "attainment"] {
        for query in [
            "academic_year=2026-27",
            "term=autumn",
            "academic_year=2026-27&term=winter",
            "academic_year=2026-28&term=autumn",
            "academic_year=2026-27&term=autumn&school=1",
        ] {
            let res = app.get(&format!("/api/v1/reports/{name}?{query}"), &dashboard(app)).send().await.unwrap();
            problem(res, 400).await;
        }
    }
    // Terms that have not begun on 2026-12-04 (spring 2026-27 and later) cannot have compliance figures.
    for query in ["academic_year=2026-27&term=spring", "academic_year=2027-28&term=autumn"] {
        let res = app.get(&format!("/api/v1/reports/pep-compliance?{query}"), &dashboard(app)).send().await.unwrap();
        problem(res, 400).await;
    }
}

#[actix_web::test]
async fn no_report_names_a_child() {
    let f = fixture().await;
    let app = &f.app;
    let paths = [
        "cohort",
        "pep-compliance",
        "pep-compliance?academic_year=2025-26&term=summer",
        "attendance",
        "attendance?academic_year=2025-26&term=summer",
        "attainment",
        "attainment?academic_year=2025-26&term=summer",
        "pupil-premium-plus?academic_year=2026-27",
        "pupil-premium-plus?academic_year=2025-26",
    ];
    let mut bodies = Vec::new();
    for path in paths {
        bodies.push(report(app, path).await.to_string().to_lowercase());
        bodies.push(csv_report(app, path).await.0.to_lowercase());
    }
    assert_eq!(f.kids.len(), 15);
    for kid in &f.kids {
        let mut secrets = vec![&kid.first_name, &kid.last_name, &kid.date_of_birth, &kid.lcs_id, &kid.id];
        if let Some(upn) = &kid.upn {
            secrets.push(upn);
        }
        for secret in secrets {
            for body in &bodies {
                assert!(!body.contains(&secret.to_lowercase()), "{} shows {secret}", kid.key);
            }
        }
    }
}

/// Audit rows as `(actor_id, action, resource_type, resource_id, child_id, outcome, request_id)`, oldest first.
type AuditRow = (String, String, String, Option<String>, Option<String>, String, String);

fn audit_events(app: &TestApp) -> Vec<AuditRow> {
    use virtual_school::db::schema::audit_events::dsl::*;
    let mut conn = app.db.conn();
    audit_events
        .select((actor_id, action, resource_type, resource_id, child_id, outcome, request_id))
        .order(id.asc())
        .load(&mut conn)
        .unwrap()
}

#[actix_web::test]
async fn only_dashboard_vso_and_vs_admin_read_reports_and_every_read_is_audited() {
    let app = app_on("2026-12-04").await;
    let mut expected: Vec<AuditRow> = Vec::new();
    for name in REPORTS {
        let path = format!("/api/v1/reports/{name}");
        for role in ["dashboard", "vso", "vs_admin"] {
            let sub = format!("{role}-reader");
            let res = app.get(&path, &app.token(&sub, &[role])).send().await.unwrap();
            assert_eq!(res.status(), 200, "{role} {name}");
            assert_eq!(res.headers()["cache-control"], "no-store");
            let rid = res.headers()["x-request-id"].to_str().unwrap().to_owned();
            assert!(!rid.is_empty());
            res.json::<Value>().await.unwrap();
            // No child: a report names none.
            expected.push((sub, "report.read".into(), "report".into(), Some(name.into()), None, "allowed".into(), rid));
        }
        for role in ["social_worker", "sen_caseworker", "lcs", "epep"] {
            let sub = format!("{role}-reader");
            let res = app.get(&path, &app.token(&sub, &[role])).send().await.unwrap();
            assert_eq!(res.headers()["cache-control"], "no-store");
            let rid = res.headers()["x-request-id"].to_str().unwrap().to_owned();
            problem(res, 403).await;
            // A refusal names the report it refused.
            expected.push((sub, "report.read".into(), "report".into(), Some(name.into()), None, "denied".into(), rid));
        }
        // Also refused, before the representation is looked at.
        let res =
            app.get(&path, &app.token("sw-csv", &["social_worker"])).header("accept", "text/csv").send().await.unwrap();
        let rid = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        problem(res, 403).await;
        expected.push((
            "sw-csv".into(),
            "report.read".into(),
            "report".into(),
            Some(name.into()),
            None,
            "denied".into(),
            rid,
        ));
        let res = app.client.get(app.url(&path)).send().await.unwrap();
        assert!(res.headers().contains_key("www-authenticate"));
        problem(res, 401).await;
    }
    assert_eq!(audit_events(&app), expected);

    // An empty roll: every CSV still has its header row (compliance and attendance a zero `all` row).
    for (name, header, rows) in [
        ("cohort", COHORT_HEADER, 0),
        ("pep-compliance", COMPLIANCE_HEADER, 1),
        ("attendance", ATTENDANCE_HEADER, 1),
        ("attainment", ATTAINMENT_HEADER, 0),
        ("pupil-premium-plus", PP_HEADER, 0),
    ] {
        let (_, got, records) = csv_report(&app, name).await;
        assert_eq!((got.as_str(), records.len()), (header, rows), "{name}");
    }
    let body = report(&app, "cohort").await;
    assert_eq!((body["total"].as_i64(), body["looked_after"].as_i64()), (Some(0), Some(0)));
    let body = report(&app, "pep-compliance").await;
    assert_eq!(body["totals"], comp("all", 0, 0, 0, 0, None));
    assert_eq!(body["by_key_stage"], json!([]));
}
