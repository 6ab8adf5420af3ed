DROP INDEX pp_allocations_report;
DROP INDEX peps_term_child;
DROP INDEX pep_attainment_report;
DROP INDEX peps_report;
