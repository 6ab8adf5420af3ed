-- Personal Education Plans pushed by the ePEP provider on sign-off, keyed by its external_id. `peps` holds the
-- latest revision (with the columns reports read); `pep_revisions` keeps each revision a later one replaced, as
-- received (the current revision is not stored twice).
CREATE TABLE peps (
    id TEXT PRIMARY KEY NOT NULL,
    external_id TEXT NOT NULL UNIQUE,
    child_id TEXT NOT NULL REFERENCES children (id),
    revision BIGINT NOT NULL,
    academic_year TEXT NOT NULL,
    term TEXT NOT NULL CHECK (term IN ('autumn', 'spring', 'summer')),
    -- The term as one comparable number: the academic year's first calendar year * 3 + (0 autumn, 1 spring, 2 summer).
    term_ordinal BIGINT NOT NULL,
    meeting_date DATE NOT NULL,
    signed_off_at TIMESTAMP NOT NULL,
    signed_off_by TEXT NOT NULL,
    deadline DATE,
    signed_off_late BOOLEAN NOT NULL,
    -- Whether this is the child's latest-signed PEP for its term (the one reports count).
    latest_in_term BOOLEAN NOT NULL,
    year_group TEXT,
    attendance_percentage REAL,
    sessions_possible BIGINT,
    sessions_attended BIGINT,
    suspensions BIGINT,
    suspension_days REAL,
    permanent_exclusion BOOLEAN,
    content_hash TEXT NOT NULL,
    content TEXT NOT NULL,
    quality_rating TEXT CHECK (quality_rating IN ('red', 'amber', 'green')),
    lcs_upload_confirmed_at TIMESTAMP,
    lcs_upload_confirmed_by TEXT,
    pushed_by TEXT NOT NULL,
    -- Who first pushed it: the ePEP client that reads it back and may revise it.
    created_by TEXT NOT NULL,
    -- When the current revision arrived.
    received_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX peps_child ON peps (child_id, id);
CREATE INDEX peps_term ON peps (academic_year, term, id);
CREATE INDEX peps_created_by ON peps (created_by, id);

CREATE TABLE pep_revisions (
    pep_id TEXT NOT NULL REFERENCES peps (id),
    revision BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    content TEXT NOT NULL,
    pushed_by TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (pep_id, revision)
);

-- The latest revision's attainment rows, for the attainment report, with the PEP's term, the child's year group
-- when it was signed off and whether the PEP is the one reports count (kept in step with peps.latest_in_term).
CREATE TABLE pep_attainment (
    pep_id TEXT NOT NULL REFERENCES peps (id),
    position BIGINT NOT NULL,
    subject TEXT NOT NULL,
    past REAL,
    current_value REAL NOT NULL,
    predicted REAL,
    target REAL,
    term_ordinal BIGINT NOT NULL,
    year_group TEXT,
    latest_in_term BOOLEAN NOT NULL,
    PRIMARY KEY (pep_id, position)
);

-- Every quality review of a PEP; the latest shows on the PEP.
CREATE TABLE pep_quality_reviews (
    id TEXT PRIMARY KEY NOT NULL,
    pep_id TEXT NOT NULL REFERENCES peps (id),
    revision BIGINT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('red', 'amber', 'green')),
    comments TEXT,
    reviewed_by TEXT NOT NULL,
    reviewed_at TIMESTAMP NOT NULL
);
CREATE INDEX pep_quality_reviews_pep ON pep_quality_reviews (pep_id, id);

-- What a child owes: an event-driven PEP (initial, or after a change of school) by pep_required_on for the event of
-- pep_required_since, and the term of the latest signed-off PEP (same numbering as peps.term_ordinal).
ALTER TABLE children RENAME COLUMN next_pep_due_on TO pep_required_on;
ALTER TABLE children ADD COLUMN pep_required_since DATE;
ALTER TABLE children ADD COLUMN last_pep_term BIGINT;
UPDATE children SET pep_required_since = looked_after_since WHERE pep_required_on IS NOT NULL;
