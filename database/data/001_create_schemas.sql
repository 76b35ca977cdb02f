-- Purpose: create the schemas the DATA set owns.
-- Rollback: a later migration dropping them (refused while they hold data).
CREATE SCHEMA IF NOT EXISTS workspace;
CREATE SCHEMA IF NOT EXISTS reference;
