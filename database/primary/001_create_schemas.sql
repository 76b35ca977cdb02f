-- Purpose: create the schemas the PRIMARY set owns.
-- Rollback: a later migration dropping them (refused while they hold data).
CREATE SCHEMA IF NOT EXISTS config;
CREATE SCHEMA IF NOT EXISTS customer;
