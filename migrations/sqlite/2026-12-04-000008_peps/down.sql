ALTER TABLE children DROP COLUMN last_pep_term;
ALTER TABLE children DROP COLUMN pep_required_since;
ALTER TABLE children RENAME COLUMN pep_required_on TO next_pep_due_on;
DROP TABLE pep_quality_reviews;
DROP TABLE pep_attainment;
DROP TABLE pep_revisions;
DROP TABLE peps;
