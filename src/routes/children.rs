//! The virtual school roll over HTTP: `/api/v1/children`.

use crate::auth::AuthUser;
use crate::db::children_repo::ChildFilter;
use crate::db::Pool;
use crate::domain::child::{self as rules, ChildDraft, LacStatus, Placement, School, Violation};
use crate::domain::codes;
use crate::domain::{KeyStage, Upn, YearGroup};
use crate::error::{ApiError, FieldError, Problem};
use crate::pagination::{self, Cursors};
use crate::services::children::{self, ChildRecord, ListView};
use crate::services::idempotency::{self, IdempotencyKey};
use crate::services::policy::Policy;
use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A placement, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacementInput {
    /// SSDA903 placement type (PLACE), e.g. `U1`.
    #[serde(rename = "type")]
    #[schema(max_length = 3, example = "U1")]
    pub placement_type: Option<String>,
    /// SSDA903 provider, `PR0`–`PR5`.
    #[schema(max_length = 3, example = "PR1")]
    pub provider: Option<String>,
    /// Placed outside the council's area.
    pub out_of_authority: Option<bool>,
    /// When the placement began (`YYYY-MM-DD`).
    #[schema(format = Date, max_length = 10)]
    pub started_on: Option<String>,
}

/// A school, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolInput {
    /// Unique Reference Number: 6 or 7 digits.
    #[schema(max_length = 7, pattern = "^[0-9]{6,7}$", example = "100001")]
    pub urn: Option<String>,
    /// The school's name.
    #[schema(max_length = 200, example = "Example Primary School")]
    pub name: Option<String>,
}

/// The writable fields of a child. On create, `lcs_id`, `first_name`, `last_name`, `date_of_birth` and `sex` are
/// required; `lac_status` defaults to `looked_after` (which needs `looked_after_since`) and `sen_status` to `none`.
/// Every invalid field is reported at once (422).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildInput {
    /// The child's id in LCS (unique).
    #[schema(max_length = 64, example = "LCS-000123")]
    pub lcs_id: Option<String>,
    /// Unique Pupil Number with a valid check letter, or `UN1`–`UN5` when unknown.
    #[schema(max_length = 13, example = "B801200005001")]
    pub upn: Option<String>,
    /// First name.
    #[schema(max_length = 100, example = "Alex")]
    pub first_name: Option<String>,
    /// Last name.
    #[schema(max_length = 100, example = "Example")]
    pub last_name: Option<String>,
    /// Date of birth (`YYYY-MM-DD`); not in the future, and under 25 years ago.
    #[schema(format = Date, max_length = 10, example = "2015-03-01")]
    pub date_of_birth: Option<String>,
    /// SSDA903 sex: `M`, `F`, `U`.
    #[schema(max_length = 1, example = "U")]
    pub sex: Option<String>,
    /// SSDA903 ethnicity code, e.g. `WBRI`.
    #[schema(max_length = 4, example = "NOBT")]
    pub ethnicity: Option<String>,
    /// `looked_after` (default) or `ceased`.
    #[schema(max_length = 12, pattern = "^(looked_after|ceased)$")]
    pub lac_status: Option<String>,
    /// Start of the current care period.
    #[schema(format = Date, max_length = 10)]
    pub looked_after_since: Option<String>,
    /// End of the last care period (required when `ceased`).
    #[schema(format = Date, max_length = 10)]
    pub ceased_on: Option<String>,
    /// SSDA903 legal status, e.g. `C2`.
    #[schema(max_length = 2, example = "C2")]
    pub legal_status: Option<String>,
    /// Placement.
    pub placement: Option<PlacementInput>,
    /// School.
    pub school: Option<SchoolInput>,
    /// National curriculum year: `N1`, `N2`, `R`, `1`–`14`.
    #[schema(max_length = 2, example = "6")]
    pub year_group: Option<String>,
    /// `none` (default), `sen_support` or `ehcp`.
    #[schema(max_length = 11, pattern = "^(none|sen_support|ehcp)$")]
    pub sen_status: Option<String>,
    /// Allocated Virtual School Officer (their token `sub`).
    #[schema(max_length = 255)]
    pub vso_id: Option<String>,
    /// Allocated social worker (their token `sub`).
    #[schema(max_length = 255)]
    pub social_worker_id: Option<String>,
    /// Allocated SEN caseworker (their token `sub`); only for a child with an EHCP.
    #[schema(max_length = 255)]
    pub sen_caseworker_id: Option<String>,
    /// When the next PEP is due.
    #[schema(format = Date, max_length = 10)]
    pub next_pep_due_on: Option<String>,
}

/// Collects every violation while turning strings into domain values.
#[derive(Default)]
struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn fail(&mut self, field: &str, reason: impl Into<String>) {
        self.errors.push(FieldError::new(field, reason));
    }

    fn required<T>(&mut self, field: &str, v: Option<T>) -> Option<T> {
        if v.is_none() {
            self.fail(field, "is required");
        }
        v
    }

    fn date(&mut self, field: &str, v: Option<&str>) -> Option<NaiveDate> {
        let v = v?;
        match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) if v.len() == 10 => Some(d),
            _ => {
                self.fail(field, "must be a date written YYYY-MM-DD");
                None
            }
        }
    }

    fn with<T>(&mut self, field: &str, v: Option<String>, rule: impl Fn(&str) -> Result<(), &'static str>) -> Option<T>
    where
        T: From<String>,
    {
        let v = v?;
        match rule(&v) {
            Ok(()) => Some(T::from(v)),
            Err(reason) => {
                self.fail(field, reason);
                None
            }
        }
    }

    fn code(&mut self, field: &str, v: Option<String>, list: codes::CodeList) -> Option<String> {
        let v = v?;
        match list.check(&v) {
            Ok(()) => Some(v),
            Err(reason) => {
                self.fail(field, reason);
                None
            }
        }
    }
}

/// Turns a child as sent into a valid draft, or a 422 naming every bad field.
pub fn to_draft(input: ChildInput, today: NaiveDate) -> Result<ChildDraft, ApiError> {
    let mut c = Check::default();
    let lcs_id = c.required("lcs_id", input.lcs_id);
    let lcs_id: Option<String> = c.with("lcs_id", lcs_id, rules::check_identifier);
    let upn = input.upn.and_then(|u| match Upn::parse(&u) {
        Ok(u) => Some(u),
        Err(reason) => {
            c.fail("upn", reason);
            None
        }
    });
    let first_name = c.required("first_name", input.first_name);
    let first_name: Option<String> = c.with("first_name", first_name, rules::check_name);
    let last_name = c.required("last_name", input.last_name);
    let last_name: Option<String> = c.with("last_name", last_name, rules::check_name);
    let dob = c.required("date_of_birth", input.date_of_birth);
    let date_of_birth = c.date("date_of_birth", dob.as_deref());
    let sex = c.required("sex", input.sex);
    let sex = c.code("sex", sex, codes::SEX);
    let ethnicity = c.code("ethnicity", input.ethnicity, codes::ETHNICITY);
    let lac_status = match input.lac_status.as_deref() {
        None => Some(LacStatus::LookedAfter),
        Some(s) => LacStatus::parse(s).or_else(|| {
            c.fail("lac_status", codes::LAC_STATUS.reason());
            None
        }),
    };
    let looked_after_since = c.date("looked_after_since", input.looked_after_since.as_deref());
    let ceased_on = c.date("ceased_on", input.ceased_on.as_deref());
    let legal_status = c.code("legal_status", input.legal_status, codes::LEGAL_STATUS);
    let p = input.placement.unwrap_or_default();
    let placement = Placement {
        placement_type: c.code("placement.type", p.placement_type, codes::PLACEMENT_TYPE),
        provider: c.code("placement.provider", p.provider, codes::PLACEMENT_PROVIDER),
        out_of_authority: p.out_of_authority,
        started_on: c.date("placement.started_on", p.started_on.as_deref()),
    };
    let s = input.school.unwrap_or_default();
    let school = School {
        urn: c.with("school.urn", s.urn, rules::check_urn),
        name: c.with("school.name", s.name, |n: &str| {
            if n.trim().is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
                Err("must be 1 to 200 characters without control characters")
            } else {
                Ok(())
            }
        }),
    };
    let year_group = input.year_group.and_then(|y| match YearGroup::parse(&y) {
        Ok(y) => Some(y),
        Err(reason) => {
            c.fail("year_group", reason);
            None
        }
    });
    let sen_status = c.code("sen_status", Some(input.sen_status.unwrap_or_else(|| "none".into())), codes::SEN_STATUS);
    let vso_id: Option<String> = c.with("vso_id", input.vso_id, rules::check_staff_id);
    let social_worker_id: Option<String> = c.with("social_worker_id", input.social_worker_id, rules::check_staff_id);
    let sen_caseworker_id: Option<String> = c.with("sen_caseworker_id", input.sen_caseworker_id, rules::check_staff_id);
    let next_pep_due_on = c.date("next_pep_due_on", input.next_pep_due_on.as_deref());
    if sen_caseworker_id.is_some() && sen_status.as_deref() != Some("ehcp") {
        c.fail("sen_caseworker_id", "is only allocated to a child with an EHCP");
    }
    // The date rules run whenever the dates themselves parsed, so one answer names every bad field.
    if let (Some(date_of_birth), Some(lac_status)) = (date_of_birth, lac_status) {
        let dates = rules::CareDates {
            date_of_birth,
            lac_status,
            looked_after_since,
            ceased_on,
            placement_started_on: placement.started_on,
        };
        for Violation { field, reason } in rules::date_rules(&dates, today) {
            c.fail(&field, reason);
        }
    }

    let (
        Some(lcs_id),
        Some(first_name),
        Some(last_name),
        Some(date_of_birth),
        Some(sex),
        Some(lac_status),
        Some(sen_status),
        true,
    ) = (lcs_id, first_name, last_name, date_of_birth, sex, lac_status, sen_status, c.errors.is_empty())
    else {
        return Err(ApiError::validation(c.errors));
    };
    let draft = ChildDraft {
        lcs_id,
        upn,
        first_name,
        last_name,
        date_of_birth,
        sex,
        ethnicity,
        lac_status,
        looked_after_since,
        ceased_on,
        legal_status,
        placement,
        school,
        year_group,
        sen_status,
        vso_id,
        social_worker_id,
        sen_caseworker_id,
        next_pep_due_on,
    };
    Ok(draft)
}

/// A child's placement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlacementView {
    /// SSDA903 placement type.
    #[serde(rename = "type")]
    #[schema(max_length = 3)]
    pub placement_type: Option<String>,
    /// SSDA903 provider.
    #[schema(max_length = 3)]
    pub provider: Option<String>,
    /// Placed outside the council's area.
    pub out_of_authority: Option<bool>,
    /// When the placement began.
    pub started_on: Option<NaiveDate>,
}

/// A child's school.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SchoolView {
    /// URN.
    #[schema(max_length = 7)]
    pub urn: Option<String>,
    /// Name.
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

/// A child on the virtual school roll.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Child {
    /// The child's id (UUID v7).
    pub id: uuid::Uuid,
    /// The child's id in LCS.
    #[schema(max_length = 64)]
    pub lcs_id: String,
    /// Unique Pupil Number, or `UN1`–`UN5`.
    #[schema(max_length = 13)]
    pub upn: Option<String>,
    /// First name.
    #[schema(max_length = 100)]
    pub first_name: String,
    /// Last name.
    #[schema(max_length = 100)]
    pub last_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// SSDA903 sex.
    #[schema(max_length = 1)]
    pub sex: String,
    /// SSDA903 ethnicity.
    #[schema(max_length = 4)]
    pub ethnicity: Option<String>,
    /// `looked_after` or `ceased`.
    #[schema(max_length = 12, pattern = "^(looked_after|ceased)$")]
    pub lac_status: String,
    /// Start of the current care period.
    pub looked_after_since: Option<NaiveDate>,
    /// End of the last care period.
    pub ceased_on: Option<NaiveDate>,
    /// SSDA903 legal status.
    #[schema(max_length = 2)]
    pub legal_status: Option<String>,
    /// Placement.
    pub placement: PlacementView,
    /// School.
    pub school: SchoolView,
    /// National curriculum year.
    #[schema(max_length = 2)]
    pub year_group: Option<String>,
    /// Derived from `year_group`.
    pub key_stage: Option<KeyStage>,
    /// `none`, `sen_support` or `ehcp`.
    #[schema(max_length = 11, pattern = "^(none|sen_support|ehcp)$")]
    pub sen_status: String,
    /// Allocated Virtual School Officer.
    #[schema(max_length = 255)]
    pub vso_id: Option<String>,
    /// Allocated social worker.
    #[schema(max_length = 255)]
    pub social_worker_id: Option<String>,
    /// Allocated SEN caseworker.
    #[schema(max_length = 255)]
    pub sen_caseworker_id: Option<String>,
    /// Derived: `in_date`, `due`, `overdue` or `not_required`.
    #[schema(max_length = 12, pattern = "^(in_date|due|overdue|not_required)$")]
    pub pep_status: String,
    /// When the next PEP is due.
    pub next_pep_due_on: Option<NaiveDate>,
    /// When the child was added.
    pub created_at: DateTime<Utc>,
    /// When the child last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&ChildRecord> for Child {
    fn from(r: &ChildRecord) -> Self {
        let c = r.row.clone();
        Self {
            id: uuid::Uuid::parse_str(&c.id).unwrap_or_default(),
            lcs_id: c.lcs_id,
            upn: c.upn,
            first_name: c.first_name,
            last_name: c.last_name,
            date_of_birth: c.date_of_birth,
            sex: c.sex,
            ethnicity: c.ethnicity,
            lac_status: c.lac_status,
            looked_after_since: c.looked_after_since,
            ceased_on: c.ceased_on,
            legal_status: c.legal_status,
            placement: PlacementView {
                placement_type: c.placement_type,
                provider: c.placement_provider,
                out_of_authority: c.placement_out_of_authority,
                started_on: c.placement_started_on,
            },
            school: SchoolView { urn: c.school_urn, name: c.school_name },
            year_group: c.year_group,
            key_stage: r.key_stage,
            sen_status: c.sen_status,
            vso_id: c.vso_id,
            social_worker_id: c.social_worker_id,
            sen_caseworker_id: c.sen_caseworker_id,
            pep_status: r.pep_status.as_str().to_owned(),
            next_pep_due_on: r.next_pep_due_on,
            created_at: c.created_at.and_utc(),
            updated_at: c.updated_at.and_utc(),
        }
    }
}

/// The writable fields of a stored child, as a merge patch applies to them.
fn as_input(r: &ChildRecord) -> ChildInput {
    let c = &r.row;
    let date = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    ChildInput {
        lcs_id: Some(c.lcs_id.clone()),
        upn: c.upn.clone(),
        first_name: Some(c.first_name.clone()),
        last_name: Some(c.last_name.clone()),
        date_of_birth: date(Some(c.date_of_birth)),
        sex: Some(c.sex.clone()),
        ethnicity: c.ethnicity.clone(),
        lac_status: Some(c.lac_status.clone()),
        looked_after_since: date(c.looked_after_since),
        ceased_on: date(c.ceased_on),
        legal_status: c.legal_status.clone(),
        placement: Some(PlacementInput {
            placement_type: c.placement_type.clone(),
            provider: c.placement_provider.clone(),
            out_of_authority: c.placement_out_of_authority,
            started_on: date(c.placement_started_on),
        }),
        school: Some(SchoolInput { urn: c.school_urn.clone(), name: c.school_name.clone() }),
        year_group: c.year_group.clone(),
        sen_status: Some(c.sen_status.clone()),
        vso_id: c.vso_id.clone(),
        social_worker_id: c.social_worker_id.clone(),
        sen_caseworker_id: c.sen_caseworker_id.clone(),
        next_pep_due_on: date(c.pep_required_on),
    }
}

/// The identity of a child, as the ePEP provider sees it when matching.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildIdentity {
    /// The child's id.
    pub id: uuid::Uuid,
    /// The child's id in LCS.
    #[schema(max_length = 64)]
    pub lcs_id: String,
    /// Unique Pupil Number.
    #[schema(max_length = 13)]
    pub upn: Option<String>,
    /// First name.
    #[schema(max_length = 100)]
    pub first_name: String,
    /// Last name.
    #[schema(max_length = 100)]
    pub last_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
}

/// A child in a list: every field, or identity fields only for `epep`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ChildListItem {
    /// Every field.
    Full(Box<Child>),
    /// Identity only (`epep`).
    Identity(ChildIdentity),
}

/// A page of children.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChildPage {
    /// Oldest first (by when they were added).
    #[schema(max_items = 200)]
    pub items: Vec<ChildListItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(max_length = 512)]
    pub next_cursor: Option<String>,
}

/// Filters (all combinable) and paging for the roll.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChildQuery {
    /// `looked_after` or `ceased`.
    #[param(max_length = 12, pattern = "^(looked_after|ceased)$")]
    pub lac_status: Option<String>,
    /// School URN.
    #[param(max_length = 7, pattern = "^[0-9]{6,7}$")]
    pub school_urn: Option<String>,
    /// Allocated VSO.
    #[param(max_length = 255)]
    pub vso_id: Option<String>,
    /// Allocated social worker.
    #[param(max_length = 255)]
    pub social_worker_id: Option<String>,
    /// `N1`, `N2`, `R`, `1`–`14`.
    #[param(max_length = 2)]
    pub year_group: Option<String>,
    /// `EYFS`, `KS1`–`KS4`, `post16`.
    #[param(max_length = 6, pattern = "^(EYFS|KS1|KS2|KS3|KS4|post16)$")]
    pub key_stage: Option<String>,
    /// Placed out of authority.
    pub out_of_authority: Option<bool>,
    /// `none`, `sen_support` or `ehcp`.
    #[param(max_length = 11, pattern = "^(none|sen_support|ehcp)$")]
    pub sen_status: Option<String>,
    /// `in_date`, `due`, `overdue` or `not_required`.
    #[param(max_length = 12, pattern = "^(in_date|due|overdue|not_required)$")]
    pub pep_status: Option<String>,
    /// Part of a first or last name, any case.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Exact LCS id.
    #[param(max_length = 64)]
    pub lcs_id: Option<String>,
    /// Exact UPN.
    #[param(max_length = 13)]
    pub upn: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

impl ChildQuery {
    fn into_filter(self) -> Result<(ChildFilter, Option<i64>, Option<String>), ApiError> {
        let bad = |name: &str, reason: &str| ApiError::BadRequest(format!("{name} {reason}"));
        let check = |name: &str, v: &Option<String>, list: codes::CodeList| match v {
            Some(v) if !list.contains(v) => Err(bad(name, &list.reason())),
            _ => Ok(()),
        };
        check("lac_status", &self.lac_status, codes::LAC_STATUS)?;
        check("sen_status", &self.sen_status, codes::SEN_STATUS)?;
        check("pep_status", &self.pep_status, codes::PEP_STATUS)?;
        if let Some(urn) = &self.school_urn {
            rules::check_urn(urn).map_err(|r| bad("school_urn", r))?;
        }
        for (name, v) in [("vso_id", &self.vso_id), ("social_worker_id", &self.social_worker_id)] {
            if let Some(v) = v {
                rules::check_staff_id(v).map_err(|r| bad(name, r))?;
            }
        }
        let year_group =
            self.year_group.as_deref().map(YearGroup::parse).transpose().map_err(|r| bad("year_group", r))?;
        let key_stage = match self.key_stage.as_deref() {
            None => None,
            Some(k) => {
                Some(KeyStage::parse(k).ok_or_else(|| bad("key_stage", "must be EYFS, KS1, KS2, KS3, KS4 or post16"))?)
            }
        };
        if self.q.as_ref().is_some_and(|q| q.chars().count() > 100 || q.trim().is_empty()) {
            return Err(bad("q", "must be 1 to 100 characters"));
        }
        if let Some(l) = &self.lcs_id {
            rules::check_identifier(l).map_err(|r| bad("lcs_id", r))?;
        }
        let upn = self.upn.map(|u| u.trim().to_ascii_uppercase());
        if upn.as_ref().is_some_and(|u| u.len() > 13) {
            return Err(bad("upn", "must be at most 13 characters"));
        }
        let filter = ChildFilter {
            lac_status: self.lac_status,
            school_urn: self.school_urn,
            vso_id: self.vso_id,
            social_worker_id: self.social_worker_id,
            year_groups: children::year_group_filter(year_group, key_stage),
            out_of_authority: self.out_of_authority,
            sen_status: self.sen_status,
            pep_status: self.pep_status,
            q: self.q.map(|q| q.trim().to_owned()),
            lcs_id: self.lcs_id,
            upn,
        };
        Ok((filter, self.limit, self.cursor))
    }
}

/// A child with its `ETag`.
fn child_response(status: actix_web::http::StatusCode, record: &ChildRecord) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::ETAG, record.etag())).json(Child::from(record))
}

/// Adds a child to the roll (`vso`, `vs_admin`).
#[utoipa::path(
    tag = "children",
    operation_id = "createChild",
    params(("Idempotency-Key" = Option<String>, Header, max_length = 255,
        description = "Makes a retry safe: the same key and body answer exactly as the first time")),
    request_body = ChildInput,
    responses(
        (status = 201, description = "Created; `Location` names it and `ETag` versions it", body = Child,
            headers(("Location" = String, description = "/api/v1/children/{child_id}"), ("ETag" = String, description = "Version tag for If-Match"))),
        (status = 400, description = "Malformed JSON or an unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A child with this lcs_id is already on the roll", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, every one listed in `errors`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/children")]
pub async fn create_child(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    req: HttpRequest,
    body: web::Json<ChildInput>,
) -> Result<HttpResponse, ApiError> {
    // Role first: a caller who may not create learns nothing about what would have been valid.
    user.require_any(children::WRITERS, "child.create", "child").await?;
    let input = body.into_inner();
    let key = IdempotencyKey::from_request(&user, req.headers().get("idempotency-key"), "POST", req.path(), &input)?;
    if let Some(key) = &key {
        if let Some(stored) = key.replay(&pool).await? {
            return replay(&user, stored).await;
        }
    }
    let draft = to_draft(input, policy.today())?;
    let store: Option<children::InTransaction> = key.clone().map(|key| {
        Box::new(move |conn: &mut crate::db::DbConnection, record: &ChildRecord| {
            key.store(conn, 201, &Child::from(record), Some(location_of(record)), Some(record.etag()))
        }) as children::InTransaction
    });
    let record = match children::create(&pool, &user, &policy, draft, store).await {
        Ok(record) => record,
        // A concurrent retry with the same key lost the race: answer with the winner's response.
        Err(ApiError::Conflict(message)) => match &key {
            Some(key) => match key.replay(&pool).await? {
                Some(stored) => return replay(&user, stored).await,
                None => return Err(ApiError::Conflict(message)),
            },
            None => return Err(ApiError::Conflict(message)),
        },
        Err(e) => return Err(e),
    };
    let mut res = child_response(actix_web::http::StatusCode::CREATED, &record);
    res.headers_mut()
        .insert(header::LOCATION, header::HeaderValue::from_str(&location_of(&record)).map_err(ApiError::internal)?);
    Ok(res)
}

/// Answers a replayed create as the first time, recording that the child's data went out again.
async fn replay(
    user: &AuthUser,
    stored: crate::db::idempotency_repo::StoredResponse,
) -> Result<HttpResponse, ApiError> {
    let child_id = stored.location.as_deref().and_then(|l| l.rsplit('/').next()).map(str::to_owned);
    let mut event = user.event("child.read", "child", crate::services::audit::Outcome::Allowed);
    if let Some(id) = child_id {
        event = event.resource(id.clone()).child(id);
    }
    user.audit().record(vec![event]).await?;
    Ok(idempotency::respond(stored))
}

fn location_of(record: &ChildRecord) -> String {
    format!("/api/v1/children/{}", record.row.id)
}

/// One child on the caller's caseload. Answers 304 to a matching `If-None-Match`.
#[utoipa::path(
    tag = "children",
    operation_id = "getChild",
    params(("child_id" = uuid::Uuid, Path, description = "The child's id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier read", max_length = 200)),
    responses(
        (status = 200, description = "The child", body = Child, headers(("ETag" = String, description = "Version tag"))),
        (status = 304, description = "Unchanged since the given ETag"),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such child on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/children/{child_id}")]
pub async fn get_child(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    path: web::Path<uuid::Uuid>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let record = children::get(&pool, &user, &policy, &path.into_inner().to_string()).await?;
    let etag = record.etag();
    if super::none_match(req.headers(), &etag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    Ok(child_response(actix_web::http::StatusCode::OK, &record))
}

/// Fields the server owns.
const READ_ONLY: &[&str] = &["id", "created_at", "updated_at", "key_stage", "pep_status"];

/// Changes a child with a JSON merge patch (`vso`, `vs_admin`): absent fields stay, `null` clears. Needs
/// `If-Match` with the child's current `ETag`.
#[utoipa::path(
    tag = "children",
    operation_id = "updateChild",
    params(("child_id" = uuid::Uuid, Path, description = "The child's id"),
        ("If-Match" = String, Header, description = "The ETag of the version being changed", max_length = 200)),
    request_body(content = ChildInput, content_type = "application/merge-patch+json",
        description = "Any writable fields; `null` clears a field. `application/json` is accepted too."),
    responses(
        (status = 200, description = "The changed child", body = Child, headers(("ETag" = String, description = "The new version tag"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a read-only field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such child", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another child has this lcs_id", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not name the current version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JSON merge patch", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The result would be invalid; every field listed", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/children/{child_id}")]
pub async fn update_child(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    path: web::Path<uuid::Uuid>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require_any(children::WRITERS, "child.update", "child").await?;
    if !matches!(super::media_type(&req).as_deref(), Some("application/merge-patch+json" | "application/json")) {
        return Err(ApiError::UnsupportedMediaType(
            "send the patch as application/merge-patch+json (or application/json)".into(),
        ));
    }
    let patch: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let Some(fields) = patch.as_object() else {
        return Err(ApiError::BadRequest("a merge patch must be a JSON object".into()));
    };
    if let Some(field) = fields.keys().find(|k| READ_ONLY.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!("{field} is read-only")));
    }
    let if_match = super::entity_tags(req.headers(), header::IF_MATCH);
    let today = policy.today();
    let record = children::update(&pool, &user, &policy, &path.into_inner().to_string(), if_match, move |current| {
        let mut doc = serde_json::to_value(as_input(current)).map_err(ApiError::internal)?;
        json_patch::merge(&mut doc, &patch);
        let input: ChildInput = serde_json::from_value(doc)
            .map_err(|e| ApiError::BadRequest(format!("the patch does not fit a child: {e}")))?;
        to_draft(input, today)
    })
    .await?;
    Ok(child_response(actix_web::http::StatusCode::OK, &record))
}

/// The roll, filtered and paged. Social workers and SEN caseworkers see their own caseload; `epep` may only look
/// a child up by exact `lcs_id` or `upn` and sees identity fields.
#[utoipa::path(
    tag = "children",
    operation_id = "listChildren",
    params(ChildQuery),
    responses(
        (status = 200, description = "A page of children", body = ChildPage),
        (status = 400, description = "A filter, `limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/children")]
pub async fn list_children(
    user: AuthUser,
    pool: web::Data<Pool>,
    policy: web::Data<Policy>,
    cursors: web::Data<Cursors>,
    query: web::Query<ChildQuery>,
) -> Result<web::Json<ChildPage>, ApiError> {
    let (filter, limit, cursor) = query.into_inner().into_filter()?;
    let limit = pagination::limit(limit)?;
    // The cursor is bound to the caller too, so a page token cannot cross caseloads.
    let binding = (&filter, &user.sub);
    let after: Option<String> = cursors.after("children", &binding, cursor.as_deref())?;
    let (records, more, view) = children::list(&pool, &user, &policy, filter.clone(), after, limit).await?;
    let next_cursor = cursors.next("children", &binding, (&records, more), |last| last.row.id.clone())?;
    let items = records
        .iter()
        .map(|r| match view {
            ListView::Full => ChildListItem::Full(Box::new(Child::from(r))),
            ListView::Identity => ChildListItem::Identity(ChildIdentity {
                id: uuid::Uuid::parse_str(&r.row.id).unwrap_or_default(),
                lcs_id: r.row.lcs_id.clone(),
                upn: r.row.upn.clone(),
                first_name: r.row.first_name.clone(),
                last_name: r.row.last_name.clone(),
                date_of_birth: r.row.date_of_birth,
            }),
        })
        .collect();
    Ok(web::Json(ChildPage { items, next_cursor }))
}
