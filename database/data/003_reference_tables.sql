-- Purpose: reference data shared by every workspace, and its first rows.
-- Rollback: drop the tables in a new migration.
CREATE TABLE IF NOT EXISTS reference.countries (
  code  char(2) PRIMARY KEY,
  name  text NOT NULL
);

CREATE TABLE IF NOT EXISTS reference.currencies (
  code      char(3) PRIMARY KEY,
  name      text NOT NULL,
  decimals  smallint NOT NULL DEFAULT 2
);

-- A constraint has no IF NOT EXISTS in PostgreSQL: guard it with the catalog.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'currencies_decimals_check'
                 AND conrelid = 'reference.currencies'::regclass) THEN
    ALTER TABLE reference.currencies
      ADD CONSTRAINT currencies_decimals_check CHECK (decimals BETWEEN 0 AND 4);
  END IF;
END
$$;

INSERT INTO reference.countries (code, name) VALUES
  ('DE', 'Germany'), ('FR', 'France'), ('GB', 'United Kingdom'), ('NL', 'Netherlands'), ('US', 'United States')
ON CONFLICT (code) DO NOTHING;

INSERT INTO reference.currencies (code, name, decimals) VALUES
  ('EUR', 'Euro', 2), ('GBP', 'Pound sterling', 2), ('JPY', 'Yen', 0), ('USD', 'US dollar', 2)
ON CONFLICT (code) DO NOTHING;
