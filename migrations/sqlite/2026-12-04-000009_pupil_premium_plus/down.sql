DROP TABLE pp_allocations;
DROP TABLE pp_budgets;
