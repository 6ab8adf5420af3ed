//! Table definitions, in the column types both SQLite and PostgreSQL share.

diesel::table! {
    /// The append-only audit trail.
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Text,
        actor_roles -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        child_id -> Nullable<Text>,
        outcome -> Text,
        request_id -> Text,
        changed_fields -> Nullable<Text>,
    }
}

diesel::table! {
    /// The virtual school roll.
    children (id) {
        id -> Text,
        lcs_id -> Text,
        upn -> Nullable<Text>,
        first_name -> Text,
        last_name -> Text,
        date_of_birth -> Date,
        sex -> Text,
        ethnicity -> Nullable<Text>,
        lac_status -> Text,
        looked_after_since -> Nullable<Date>,
        ceased_on -> Nullable<Date>,
        legal_status -> Nullable<Text>,
        placement_type -> Nullable<Text>,
        placement_provider -> Nullable<Text>,
        placement_out_of_authority -> Nullable<Bool>,
        placement_started_on -> Nullable<Date>,
        school_urn -> Nullable<Text>,
        school_name -> Nullable<Text>,
        year_group -> Nullable<Text>,
        sen_status -> Text,
        vso_id -> Nullable<Text>,
        social_worker_id -> Nullable<Text>,
        sen_caseworker_id -> Nullable<Text>,
        pep_required_on -> Nullable<Date>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        pep_required_since -> Nullable<Date>,
        last_pep_term -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// LCS weekly lists, one row per batch_ref.
    lac_status_batches (id) {
        id -> Text,
        batch_ref -> Text,
        period_ending -> Date,
        content_hash -> Text,
        submitted_by -> Text,
        changes_count -> BigInt,
        children_created -> BigInt,
        children_updated -> BigInt,
        notifications_count -> BigInt,
        outcomes -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Each child's LAC timeline.
    lac_status_changes (id) {
        id -> Text,
        batch_id -> Text,
        row_index -> BigInt,
        child_id -> Text,
        change_type -> Text,
        effective_date -> Date,
        reason_code -> Nullable<Text>,
        legal_status -> Nullable<Text>,
        placement_type -> Nullable<Text>,
        out_of_authority -> Nullable<Bool>,
        social_worker_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Notifications to a person or a team.
    notifications (id) {
        id -> Text,
        recipient_id -> Nullable<Text>,
        recipient_team -> Nullable<Text>,
        kind -> Text,
        child_id -> Nullable<Text>,
        summary -> Text,
        created_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
    }
}

diesel::joinable!(lac_status_changes -> children (child_id));
diesel::joinable!(lac_status_changes -> lac_status_batches (batch_id));
diesel::allow_tables_to_appear_in_same_query!(
    children,
    lac_status_changes,
    lac_status_batches,
    notifications,
    audit_events,
    peps,
    pep_revisions,
    pep_attainment,
    pep_quality_reviews
);

diesel::table! {
    /// Stored responses to creates sent with an Idempotency-Key.
    idempotency_keys (actor_id, idempotency_key) {
        actor_id -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        status -> Integer,
        body -> Text,
        location -> Nullable<Text>,
        etag -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Notices about a child, sent to the Virtual School.
    notices (id) {
        id -> Text,
        child_id -> Text,
        kind -> Text,
        summary -> Text,
        details -> Nullable<Text>,
        effective_on -> Date,
        new_social_worker_id -> Nullable<Text>,
        new_school_urn -> Nullable<Text>,
        new_school_name -> Nullable<Text>,
        sent_by -> Text,
        notification_ids -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// PEPs: the latest revision of each, keyed by the provider's external_id.
    peps (id) {
        id -> Text,
        external_id -> Text,
        child_id -> Text,
        revision -> BigInt,
        academic_year -> Text,
        term -> Text,
        term_ordinal -> BigInt,
        meeting_date -> Date,
        signed_off_at -> Timestamp,
        signed_off_by -> Text,
        deadline -> Nullable<Date>,
        signed_off_late -> Bool,
        latest_in_term -> Bool,
        year_group -> Nullable<Text>,
        attendance_percentage -> Nullable<Double>,
        sessions_possible -> Nullable<BigInt>,
        sessions_attended -> Nullable<BigInt>,
        suspensions -> Nullable<BigInt>,
        suspension_days -> Nullable<Double>,
        permanent_exclusion -> Nullable<Bool>,
        content_hash -> Text,
        content -> Text,
        quality_rating -> Nullable<Text>,
        lcs_upload_confirmed_at -> Nullable<Timestamp>,
        lcs_upload_confirmed_by -> Nullable<Text>,
        pushed_by -> Text,
        created_by -> Text,
        received_at -> Timestamp,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Each revision of a PEP that a later one replaced, as received.
    pep_revisions (pep_id, revision) {
        pep_id -> Text,
        revision -> BigInt,
        content_hash -> Text,
        content -> Text,
        pushed_by -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    /// The latest revision's attainment rows.
    pep_attainment (pep_id, position) {
        pep_id -> Text,
        position -> BigInt,
        subject -> Text,
        past -> Nullable<Double>,
        current_value -> Double,
        predicted -> Nullable<Double>,
        target -> Nullable<Double>,
        term_ordinal -> BigInt,
        year_group -> Nullable<Text>,
        latest_in_term -> Bool,
    }
}

diesel::table! {
    /// Quality reviews of PEPs.
    pep_quality_reviews (id) {
        id -> Text,
        pep_id -> Text,
        revision -> BigInt,
        rating -> Text,
        comments -> Nullable<Text>,
        reviewed_by -> Text,
        reviewed_at -> Timestamp,
    }
}

diesel::joinable!(peps -> children (child_id));
diesel::joinable!(pep_revisions -> peps (pep_id));
diesel::joinable!(pep_attainment -> peps (pep_id));
diesel::joinable!(pep_quality_reviews -> peps (pep_id));

diesel::table! {
    /// Pupil Premium Plus budgets, one per academic year.
    pp_budgets (academic_year) {
        academic_year -> Text,
        grant_pence -> BigInt,
        rate_pence -> BigInt,
        eligible_children -> BigInt,
        central_retention_pence -> BigInt,
        updated_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Pupil Premium Plus allocations: requested, then approved or rejected, then paid.
    pp_allocations (id) {
        id -> Text,
        child_id -> Text,
        academic_year -> Text,
        term -> Text,
        amount_pence -> BigInt,
        school_urn -> Text,
        purpose -> Text,
        pep_id -> Nullable<Text>,
        status -> Text,
        requested_by -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decision_reason -> Nullable<Text>,
        paid_on -> Nullable<Date>,
        payment_reference -> Nullable<Text>,
        paid_by -> Nullable<Text>,
        impact_rating -> Nullable<Text>,
        impact_notes -> Nullable<Text>,
        impact_by -> Nullable<Text>,
        impact_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(pp_allocations -> children (child_id));
diesel::joinable!(pp_allocations -> peps (pep_id));
diesel::allow_tables_to_appear_in_same_query!(pp_allocations, children);
diesel::allow_tables_to_appear_in_same_query!(pp_allocations, peps);
diesel::allow_tables_to_appear_in_same_query!(pp_allocations, pp_budgets);
diesel::allow_tables_to_appear_in_same_query!(pp_budgets, children);
