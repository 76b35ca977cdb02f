-- Purpose: workspaces and the items they hold.
-- Rollback: drop the tables in a new migration.
CREATE TABLE IF NOT EXISTS workspace.workspaces (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id  bigint NOT NULL, -- customer.accounts.id, in the PRIMARY database when split
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS workspace.items (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  bigint NOT NULL REFERENCES workspace.workspaces (id) ON DELETE CASCADE,
  title         text NOT NULL,
  payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS items_workspace_id_idx ON workspace.items (workspace_id);

-- A column added after the fact, guarded so the file can run twice.
ALTER TABLE workspace.items ADD COLUMN IF NOT EXISTS archived_at timestamptz;
