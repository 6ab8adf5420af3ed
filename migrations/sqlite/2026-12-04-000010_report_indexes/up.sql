-- Dashboard reports read one term's PEPs (the one per child that reports count) and their attainment rows, and one
-- year's PP+ allocations. Each index holds every column its report reads, so a report is one covering range scan
-- in group order, at national scale (100,000 children, 1.2 million PEPs) as on a small roll.
CREATE INDEX peps_report ON peps (term_ordinal, latest_in_term, year_group, attendance_percentage,
    sessions_possible, sessions_attended, suspensions, suspension_days, permanent_exclusion, signed_off_late);
CREATE INDEX pep_attainment_report ON pep_attainment (term_ordinal, latest_in_term, year_group, subject,
    current_value, target, past);
-- PEP compliance of a past term: whether each child had a PEP of that term signed off by its end.
CREATE INDEX peps_term_child ON peps (term_ordinal, child_id, signed_off_at);
CREATE INDEX pp_allocations_report ON pp_allocations (academic_year, school_urn, status, amount_pence);
