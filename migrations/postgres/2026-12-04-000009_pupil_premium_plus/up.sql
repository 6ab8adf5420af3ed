-- Pupil Premium Plus: one budget per academic year, and allocations (requests) against it. Money is integer pence.
-- Bounds mirror the API's: a grant up to £1bn, a rate up to £10,000 a child, up to 100,000 eligible children, an
-- allocation of 1p to £10,000.
CREATE TABLE pp_budgets (
    academic_year TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    grant_pence BIGINT NOT NULL CHECK (grant_pence BETWEEN 0 AND 100000000000),
    rate_pence BIGINT NOT NULL CHECK (rate_pence BETWEEN 1 AND 1000000),
    eligible_children BIGINT NOT NULL CHECK (eligible_children BETWEEN 0 AND 100000),
    central_retention_pence BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (central_retention_pence BETWEEN 0 AND grant_pence)
);

-- requested -> approved | rejected; approved -> paid. Impact is recorded on a paid allocation.
CREATE TABLE pp_allocations (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    child_id TEXT COLLATE "C" NOT NULL REFERENCES children (id),
    academic_year TEXT COLLATE "C" NOT NULL,
    term TEXT NOT NULL CHECK (term IN ('autumn', 'spring', 'summer')),
    amount_pence BIGINT NOT NULL CHECK (amount_pence BETWEEN 1 AND 1000000),
    school_urn TEXT COLLATE "C" NOT NULL,
    purpose TEXT NOT NULL,
    pep_id TEXT COLLATE "C" REFERENCES peps (id),
    status TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'paid')),
    requested_by TEXT NOT NULL,
    decided_by TEXT,
    decided_at TIMESTAMP,
    decision_reason TEXT,
    paid_on DATE,
    payment_reference TEXT,
    paid_by TEXT,
    impact_rating TEXT CHECK (impact_rating IN ('exceeded', 'met', 'partly_met', 'not_met')),
    impact_notes TEXT,
    impact_by TEXT,
    impact_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX pp_allocations_child ON pp_allocations (child_id, id);
CREATE INDEX pp_allocations_year ON pp_allocations (academic_year, id);
CREATE INDEX pp_allocations_school ON pp_allocations (school_urn, id);
CREATE INDEX pp_allocations_status ON pp_allocations (status, id);
