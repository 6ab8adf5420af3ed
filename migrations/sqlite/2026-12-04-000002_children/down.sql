DROP TABLE children;
