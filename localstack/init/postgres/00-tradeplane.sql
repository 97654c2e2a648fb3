-- Runs once when the compose Postgres volume is created.
-- Schemas and tables belong to the migrations (run by the migration tool); this
-- only prepares what AWS has and a plain Postgres lacks.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- The AWS read replica is a separate host; locally TP_DB_READ_DSN is the same
-- server, reached with a role that can only read.
CREATE ROLE tradeplane_ro LOGIN PASSWORD 'tradeplane_ro';
GRANT pg_read_all_data TO tradeplane_ro;
