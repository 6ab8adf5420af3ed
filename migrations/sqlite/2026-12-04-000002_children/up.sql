-- The virtual school roll. Codes are checked by the service against the SSDA903 lists; the CHECKs here guard the
-- small closed sets the queries depend on.
CREATE TABLE children (
    id TEXT PRIMARY KEY NOT NULL,
    lcs_id TEXT NOT NULL UNIQUE,
    upn TEXT,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    date_of_birth DATE NOT NULL,
    sex TEXT NOT NULL,
    ethnicity TEXT,
    lac_status TEXT NOT NULL CHECK (lac_status IN ('looked_after', 'ceased')),
    looked_after_since DATE,
    ceased_on DATE,
    legal_status TEXT,
    placement_type TEXT,
    placement_provider TEXT,
    placement_out_of_authority BOOLEAN,
    placement_started_on DATE,
    school_urn TEXT,
    school_name TEXT,
    year_group TEXT,
    sen_status TEXT NOT NULL CHECK (sen_status IN ('none', 'sen_support', 'ehcp')),
    vso_id TEXT,
    social_worker_id TEXT,
    sen_caseworker_id TEXT,
    next_pep_due_on DATE,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX children_upn ON children (upn);
CREATE INDEX children_social_worker_id ON children (social_worker_id, id);
CREATE INDEX children_sen_caseworker_id ON children (sen_caseworker_id, id);
CREATE INDEX children_vso_id ON children (vso_id, id);
CREATE INDEX children_school_urn ON children (school_urn, id);
