-- SQLite compares text byte by byte already (BINARY collation); this migration is PostgreSQL's.
SELECT 1;
