DROP INDEX pp_allocations_report;
DROP INDEX peps_child_term;
DROP INDEX pep_attainment_report;
DROP INDEX peps_report;
