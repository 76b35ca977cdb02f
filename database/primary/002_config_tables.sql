-- Purpose: application settings and feature flags, and the customer accounts.
-- Rollback: drop the tables in a new migration.
CREATE TABLE IF NOT EXISTS config.settings (
  key         text PRIMARY KEY,
  value       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS config.feature_flags (
  name        text PRIMARY KEY,
  enabled     boolean NOT NULL DEFAULT false,
  description text
);

CREATE TABLE IF NOT EXISTS customer.accounts (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email       text NOT NULL,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS accounts_email_key ON customer.accounts (lower(email));

INSERT INTO config.feature_flags (name, enabled, description)
VALUES ('split_billing', false, 'Bill workspaces separately')
ON CONFLICT (name) DO NOTHING;
