/*
 * Four migration histories in the shapes that public projects' generators
 * and hands write, written for these tests (no other project's files: the
 * tables, columns and data are our own). Each is one set, `app`, in a
 * project of its own; what a history makes, what a test drops by hand and
 * which migration must be named for it are listed with it.
 *
 * - prisma: what `prisma migrate dev` writes for PostgreSQL: quoted CamelCase
 *   names, `-- CreateTable` headers, unique indexes named `<Model>_<field>_key`,
 *   foreign keys added after the tables, an implicit many-to-many table
 *   (`_AToB`), a table redefined through `new_<Model>`, the enum change
 *   Prisma wraps in its own `BEGIN; ... COMMIT;` with statements after it, a
 *   foreign key dropped and added again with another ON DELETE.
 * - drizzle: what drizzle-kit writes: `--> statement-breakpoint` between
 *   statements, `CREATE TABLE IF NOT EXISTS`, enums and foreign keys in
 *   `DO $$ ... EXCEPTION WHEN duplicate_object THEN null; END $$;`, later ADD
 *   COLUMN, DROP COLUMN, RENAME COLUMN, ADD VALUE.
 * - golang-migrate: hand-written `.up.sql` files (imported as
 *   `<version>_<title>.sql`) in `BEGIN; ... COMMIT;` blocks, one with `SET
 *   TRANSACTION ISOLATION LEVEL REPEATABLE READ` and one `BEGIN ISOLATION LEVEL
 *   SERIALIZABLE`, one file of three blocks, a table partitioned by range with
 *   its partitions, a trigger on it, a CREATE INDEX CONCURRENTLY.
 * - citext: the extension in `public`, tables of the set's own schema with
 *   citext columns, a SQL and PL/pgSQL functions taking citext (and citext[])
 *   arguments, a trigger that calls one, a domain over citext.
 */
import { loadModule, parseSync } from 'libpg-query';
import pg from 'pg';

export interface HandDrop {
  /** What the test drops, in words. */
  what: string;
  /** The SQL a DBA runs. */
  sql: string;
  /** Each object validate must name, as `<object> (<file>)`. */
  named: string[];
  /** Tables that lose their rows with the drop (the others must keep theirs). */
  emptied?: string[];
  /** A query returning one row `{ ok: true }` once the object is back as the history left it. */
  check?: string;
}

export interface History {
  name: string;
  /** The set's expected schemas. */
  schemas: string[];
  /** File name in the set's folder → SQL. */
  files: Record<string, string>;
  /** Rows a test puts in, after the history is applied. */
  seed: string;
  /** Every table whose rows are counted, qualified and quoted as SQL takes them. */
  tables: string[];
  drops: HandDrop[];
}

/** The project's schemata.json for a history: one set `app` in `database/app`. */
export const configOf = (history: History): string =>
  JSON.stringify({
    sets: [{ name: 'app', dir: 'app', database: 'primary', schemas: history.schemas }],
  });

const prisma: History = {
  name: 'Prisma-generated',
  schemas: ['public'],
  files: {
    '001_init.sql': `-- CreateEnum
CREATE TYPE "MemberRole" AS ENUM ('READER', 'LIBRARIAN');

-- CreateTable
CREATE TABLE "Member" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "displayName" TEXT,
    "role" "MemberRole" NOT NULL DEFAULT 'READER',
    "joinedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Member_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Book" (
    "id" SERIAL NOT NULL,
    "title" TEXT NOT NULL,
    "isbn" TEXT NOT NULL,
    "publishedYear" INTEGER,
    "addedById" INTEGER NOT NULL,

    CONSTRAINT "Book_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Member_email_key" ON "Member"("email");

-- CreateIndex
CREATE UNIQUE INDEX "Book_isbn_key" ON "Book"("isbn");

-- AddForeignKey
ALTER TABLE "Book" ADD CONSTRAINT "Book_addedById_fkey" FOREIGN KEY ("addedById") REFERENCES "Member"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
`,
    '002_loans.sql': `-- CreateEnum
CREATE TYPE "LoanStatus" AS ENUM ('OPEN', 'RETURNED', 'OVERDUE');

-- CreateTable
CREATE TABLE "Loan" (
    "id" SERIAL NOT NULL,
    "memberId" INTEGER NOT NULL,
    "bookId" INTEGER NOT NULL,
    "status" "LoanStatus" NOT NULL DEFAULT 'OPEN',
    "dueAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Loan_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Loan_memberId_idx" ON "Loan"("memberId");

-- AddForeignKey
ALTER TABLE "Loan" ADD CONSTRAINT "Loan_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Loan" ADD CONSTRAINT "Loan_bookId_fkey" FOREIGN KEY ("bookId") REFERENCES "Book"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
`,
    '003_tags.sql': `-- CreateTable
CREATE TABLE "Tag" (
    "id" SERIAL NOT NULL,
    "label" TEXT NOT NULL,

    CONSTRAINT "Tag_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "_BookToTag" (
    "A" INTEGER NOT NULL,
    "B" INTEGER NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "Tag_label_key" ON "Tag"("label");

-- CreateIndex
CREATE UNIQUE INDEX "_BookToTag_AB_unique" ON "_BookToTag"("A", "B");

-- CreateIndex
CREATE INDEX "_BookToTag_B_index" ON "_BookToTag"("B");

-- AddForeignKey
ALTER TABLE "_BookToTag" ADD CONSTRAINT "_BookToTag_A_fkey" FOREIGN KEY ("A") REFERENCES "Book"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_BookToTag" ADD CONSTRAINT "_BookToTag_B_fkey" FOREIGN KEY ("B") REFERENCES "Tag"("id") ON DELETE CASCADE ON UPDATE CASCADE;
`,
    '004_member_bio.sql': `-- AlterTable
ALTER TABLE "Member" ADD COLUMN     "bio" TEXT;
`,
    '005_reviews_and_shelves.sql': `-- CreateTable
CREATE TABLE "Review" (
    "id" SERIAL NOT NULL,
    "bookId" INTEGER NOT NULL,
    "authorId" INTEGER NOT NULL,
    "rating" INTEGER NOT NULL,
    "body" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Review_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Shelf" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,

    CONSTRAINT "Shelf_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Review_bookId_authorId_key" ON "Review"("bookId", "authorId");

-- AddForeignKey
ALTER TABLE "Review" ADD CONSTRAINT "Review_bookId_fkey" FOREIGN KEY ("bookId") REFERENCES "Book"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Review" ADD CONSTRAINT "Review_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "Member"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
`,
    '006_redefine_shelf.sql': `-- RedefineTables
CREATE TABLE "new_Shelf" (
    "id" SERIAL NOT NULL,
    "label" TEXT NOT NULL,
    "floor" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "new_Shelf_pkey" PRIMARY KEY ("id")
);
INSERT INTO "new_Shelf" ("id", "label") SELECT "id", "name" FROM "Shelf";
DROP TABLE "Shelf";
ALTER TABLE "new_Shelf" RENAME TO "Shelf";

-- AlterTable
ALTER TABLE "Shelf" RENAME CONSTRAINT "new_Shelf_pkey" TO "Shelf_pkey";
`,
    '007_loan_status.sql': `/*
  Warnings:

  - The values [OVERDUE] on the enum \`LoanStatus\` will be removed. If these variants are still used in the database, this will fail.

*/
-- AlterEnum
BEGIN;
CREATE TYPE "LoanStatus_new" AS ENUM ('OPEN', 'RETURNED', 'LOST');
ALTER TABLE "Loan" ALTER COLUMN "status" DROP DEFAULT;
ALTER TABLE "Loan" ALTER COLUMN "status" TYPE "LoanStatus_new" USING ("status"::text::"LoanStatus_new");
ALTER TYPE "LoanStatus" RENAME TO "LoanStatus_old";
ALTER TYPE "LoanStatus_new" RENAME TO "LoanStatus";
DROP TYPE "LoanStatus_old";
ALTER TABLE "Loan" ALTER COLUMN "status" SET DEFAULT 'OPEN';
COMMIT;

-- AlterTable
ALTER TABLE "Book" ADD COLUMN     "subtitle" TEXT;

-- CreateIndex
CREATE INDEX "Loan_status_idx" ON "Loan"("status");
`,
    '008_role_moderator.sql': `-- AlterEnum
ALTER TYPE "MemberRole" ADD VALUE 'MODERATOR';
`,
    '009_member_about.sql': `/*
  Warnings:

  - You are about to drop the column \`bio\` on the \`Member\` table. All the data in the column will be lost.

*/
-- AlterTable
ALTER TABLE "Member" DROP COLUMN "bio",
ADD COLUMN     "about" TEXT;
`,
    '010_review_cascade.sql': `-- DropForeignKey
ALTER TABLE "Review" DROP CONSTRAINT "Review_authorId_fkey";

-- AddForeignKey
ALTER TABLE "Review" ADD CONSTRAINT "Review_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "Member"("id") ON DELETE CASCADE ON UPDATE CASCADE;
`,
    '011_loan_index.sql': `-- DropIndex
DROP INDEX "Loan_memberId_idx";

-- CreateIndex
CREATE INDEX "Loan_memberId_status_idx" ON "Loan"("memberId", "status");
`,
    '012_shelf_books.sql': `-- AlterTable
ALTER TABLE "Book" ADD COLUMN     "shelfId" INTEGER;

-- AddForeignKey
ALTER TABLE "Book" ADD CONSTRAINT "Book_shelfId_fkey" FOREIGN KEY ("shelfId") REFERENCES "Shelf"("id") ON DELETE SET NULL ON UPDATE CASCADE;
`,
  },
  seed: `INSERT INTO "Member" ("email", "displayName", "role") VALUES ('ada@example.org', 'Ada', 'LIBRARIAN'), ('bo@example.org', NULL, 'MODERATOR'), ('cy@example.org', 'Cy', 'READER');
INSERT INTO "Shelf" ("id", "label", "floor") VALUES (1, 'Fiction', 0), (2, 'Maps', 1);
INSERT INTO "Book" ("title", "isbn", "addedById", "shelfId") VALUES ('Tides', '978-0-00-000001-1', 1, 1), ('Atlas', '978-0-00-000002-8', 1, 2);
INSERT INTO "Tag" ("label") VALUES ('sea'), ('travel');
INSERT INTO "_BookToTag" ("A", "B") VALUES (1, 1), (2, 2), (2, 1);
INSERT INTO "Loan" ("memberId", "bookId", "status", "dueAt") VALUES (2, 1, 'OPEN', '2030-01-01'), (3, 2, 'LOST', '2030-02-01');
INSERT INTO "Review" ("bookId", "authorId", "rating", "body") VALUES (1, 2, 5, 'Salty'), (2, 3, 4, NULL);
`,
  tables: [
    'public."Member"',
    'public."Book"',
    'public."Tag"',
    'public."_BookToTag"',
    'public."Loan"',
    'public."Review"',
    'public."Shelf"',
  ],
  drops: [
    {
      what: 'a unique index',
      sql: 'DROP INDEX "Member_email_key"',
      named: ['index public."Member_email_key" (001_init.sql)'],
    },
    {
      what: 'a foreign key',
      sql: 'ALTER TABLE "Loan" DROP CONSTRAINT "Loan_bookId_fkey"',
      named: ['constraint "Loan_bookId_fkey" on public."Loan" (002_loans.sql)'],
    },
    {
      what: 'a table whose foreign key a later migration redefined',
      sql: 'DROP TABLE "Review"',
      named: ['table public."Review" (005_reviews_and_shelves.sql)'],
      emptied: ['public."Review"'],
    },
    {
      what: 'the implicit many-to-many table',
      sql: 'DROP TABLE "_BookToTag"',
      named: ['table public."_BookToTag" (003_tags.sql)'],
      emptied: ['public."_BookToTag"'],
    },
    {
      what: 'an index made after the enum block, with one that a later migration replaced',
      sql: 'DROP INDEX "Loan_status_idx"; DROP INDEX "Loan_memberId_status_idx"',
      named: [
        'index public."Loan_status_idx" (007_loan_status.sql)',
        'index public."Loan_memberId_status_idx" (011_loan_index.sql)',
      ],
    },
  ],
};

const drizzle: History = {
  name: 'drizzle-kit-generated',
  schemas: ['public'],
  files: {
    '0000_quiet_heron.sql': `DO $$ BEGIN
 CREATE TYPE "public"."fixture_state" AS ENUM('scheduled', 'live', 'finished');
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "clubs" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" varchar(120) NOT NULL,
	"founded" integer,
	"created_at" timestamp DEFAULT now() NOT NULL,
	CONSTRAINT "clubs_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "athletes" (
	"id" serial PRIMARY KEY NOT NULL,
	"club_id" integer NOT NULL,
	"nickname" text NOT NULL,
	"rating" integer DEFAULT 1000 NOT NULL
);
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "athletes" ADD CONSTRAINT "athletes_club_id_clubs_id_fk" FOREIGN KEY ("club_id") REFERENCES "public"."clubs"("id") ON DELETE cascade ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "athletes_club_idx" ON "athletes" USING btree ("club_id");`,
    '0001_brisk_lantern.sql': `CREATE TABLE IF NOT EXISTS "fixtures" (
	"id" serial PRIMARY KEY NOT NULL,
	"home_club_id" integer NOT NULL,
	"away_club_id" integer NOT NULL,
	"state" "fixture_state" DEFAULT 'scheduled' NOT NULL,
	"kicks_off_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "fixtures" ADD CONSTRAINT "fixtures_home_club_id_clubs_id_fk" FOREIGN KEY ("home_club_id") REFERENCES "public"."clubs"("id") ON DELETE no action ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "fixtures" ADD CONSTRAINT "fixtures_away_club_id_clubs_id_fk" FOREIGN KEY ("away_club_id") REFERENCES "public"."clubs"("id") ON DELETE no action ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "fixtures_kick_off_idx" ON "fixtures" USING btree ("kicks_off_at");`,
    '0002_amber_falcon.sql': `ALTER TABLE "athletes" ADD COLUMN "country" varchar(2);`,
    '0003_calm_meadow.sql': `CREATE TABLE IF NOT EXISTS "grounds" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"capacity" integer
);
--> statement-breakpoint
ALTER TABLE "fixtures" ADD COLUMN "ground_id" integer;--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "fixtures" ADD CONSTRAINT "fixtures_ground_id_grounds_id_fk" FOREIGN KEY ("ground_id") REFERENCES "public"."grounds"("id") ON DELETE no action ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
`,
    '0004_dusty_orchid.sql': `ALTER TABLE "athletes" DROP COLUMN IF EXISTS "rating";`,
    '0005_eager_otter.sql': `ALTER TABLE "clubs" ALTER COLUMN "name" SET DATA TYPE varchar(200);--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "athletes_nickname_idx" ON "athletes" USING btree ("nickname");`,
    '0006_fancy_walrus.sql': `ALTER TABLE "fixtures" DROP CONSTRAINT "fixtures_ground_id_grounds_id_fk";
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "fixtures" ADD CONSTRAINT "fixtures_ground_id_grounds_id_fk" FOREIGN KEY ("ground_id") REFERENCES "public"."grounds"("id") ON DELETE set null ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
`,
    '0007_gentle_badger.sql': `ALTER TYPE "public"."fixture_state" ADD VALUE 'abandoned';`,
    '0008_hollow_pine.sql': `CREATE TABLE IF NOT EXISTS "goals" (
	"fixture_id" integer NOT NULL,
	"athlete_id" integer NOT NULL,
	"minute" integer NOT NULL,
	"own_goal" boolean DEFAULT false NOT NULL,
	CONSTRAINT "goals_fixture_id_athlete_id_minute_pk" PRIMARY KEY("fixture_id","athlete_id","minute")
);
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "goals" ADD CONSTRAINT "goals_fixture_id_fixtures_id_fk" FOREIGN KEY ("fixture_id") REFERENCES "public"."fixtures"("id") ON DELETE cascade ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "goals" ADD CONSTRAINT "goals_athlete_id_athletes_id_fk" FOREIGN KEY ("athlete_id") REFERENCES "public"."athletes"("id") ON DELETE cascade ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "goals_athlete_idx" ON "goals" USING btree ("athlete_id");`,
    '0009_icy_quokka.sql': `ALTER TABLE "clubs" RENAME COLUMN "founded" TO "founded_year";--> statement-breakpoint
ALTER TABLE "athletes" ADD COLUMN "joined_on" date DEFAULT now();`,
    '0010_jolly_raven.sql': `ALTER TABLE "grounds" DROP COLUMN "capacity";--> statement-breakpoint
ALTER TABLE "grounds" ADD COLUMN "surface" text DEFAULT 'grass' NOT NULL;`,
  },
  seed: `INSERT INTO "clubs" ("name", "founded_year") VALUES ('Harbour Rovers', 1901), ('Hill United', 1923);
INSERT INTO "grounds" ("name") VALUES ('Quay Park');
INSERT INTO "athletes" ("club_id", "nickname", "country") VALUES (1, 'Gull', 'IE'), (1, 'Anchor', NULL), (2, 'Goat', 'PT');
INSERT INTO "fixtures" ("home_club_id", "away_club_id", "state", "kicks_off_at", "ground_id") VALUES (1, 2, 'finished', '2024-05-01 15:00+00', 1), (2, 1, 'abandoned', '2024-06-01 15:00+00', NULL);
INSERT INTO "goals" ("fixture_id", "athlete_id", "minute") VALUES (1, 1, 12), (1, 3, 80);
`,
  tables: [
    'public."clubs"',
    'public."athletes"',
    'public."grounds"',
    'public."fixtures"',
    'public."goals"',
  ],
  drops: [
    {
      what: 'a foreign key made in a DO block',
      sql: 'ALTER TABLE "athletes" DROP CONSTRAINT "athletes_club_id_clubs_id_fk"',
      named: ['constraint athletes_club_id_clubs_id_fk on public.athletes (0000_quiet_heron.sql)'],
    },
    {
      what: 'an index',
      sql: 'DROP INDEX "fixtures_kick_off_idx"',
      named: ['index public.fixtures_kick_off_idx (0001_brisk_lantern.sql)'],
    },
    {
      what: 'a foreign key a later file dropped and added again in a DO block',
      sql: 'ALTER TABLE "fixtures" DROP CONSTRAINT "fixtures_ground_id_grounds_id_fk"',
      named: [
        'constraint fixtures_ground_id_grounds_id_fk on public.fixtures (0006_fancy_walrus.sql)',
      ],
    },
    {
      what: 'a table with a composite primary key',
      sql: 'DROP TABLE "goals"',
      named: ['table public.goals (0008_hollow_pine.sql)'],
      emptied: ['public."goals"'],
    },
    {
      what: 'a unique index',
      sql: 'DROP INDEX "athletes_nickname_idx"',
      named: ['index public.athletes_nickname_idx (0005_eager_otter.sql)'],
    },
  ],
};

const golangMigrate: History = {
  name: 'golang-migrate-style',
  schemas: ['ledger'],
  files: {
    '000001_create_schema.sql': 'CREATE SCHEMA IF NOT EXISTS ledger;\n',
    '000002_create_accounts.sql': `BEGIN;

CREATE TABLE ledger.accounts (
    id          BIGSERIAL PRIMARY KEY,
    owner       TEXT NOT NULL,
    currency    CHAR(3) NOT NULL,
    balance     NUMERIC(14, 2) NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX accounts_owner_idx ON ledger.accounts (owner);

COMMIT;
`,
    '000003_create_entries.sql': `BEGIN;

CREATE TABLE ledger.entries (
    id          BIGSERIAL,
    account_id  BIGINT NOT NULL REFERENCES ledger.accounts (id),
    amount      NUMERIC(14, 2) NOT NULL,
    booked_on   DATE NOT NULL,
    PRIMARY KEY (id, booked_on)
) PARTITION BY RANGE (booked_on);

CREATE TABLE ledger.entries_2024 PARTITION OF ledger.entries
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE ledger.entries_2025 PARTITION OF ledger.entries
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE ledger.entries_default PARTITION OF ledger.entries DEFAULT;

CREATE INDEX entries_account_idx ON ledger.entries (account_id);

COMMIT;
`,
    '000004_create_transfers.sql': `BEGIN;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;

CREATE TABLE ledger.transfers (
    id            BIGSERIAL PRIMARY KEY,
    from_account  BIGINT NOT NULL REFERENCES ledger.accounts (id),
    to_account    BIGINT NOT NULL REFERENCES ledger.accounts (id),
    amount        NUMERIC(14, 2) NOT NULL CHECK (amount > 0),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE ledger.transfers
    ADD CONSTRAINT transfers_distinct_accounts CHECK (from_account <> to_account);

COMMIT;
`,
    '000005_entry_kinds.sql': `-- The type first, on its own: a value added to an enum cannot be used in the
-- transaction that adds it.
BEGIN;
CREATE TYPE ledger.entry_kind AS ENUM ('debit', 'credit');
COMMIT;

BEGIN;
ALTER TYPE ledger.entry_kind ADD VALUE 'reversal';
COMMIT;

BEGIN;
ALTER TABLE ledger.entries ADD COLUMN kind ledger.entry_kind NOT NULL DEFAULT 'debit';
CREATE INDEX entries_kind_idx ON ledger.entries (kind) WHERE kind = 'reversal';
COMMIT;
`,
    '000006_apply_entries.sql': `BEGIN;

CREATE OR REPLACE FUNCTION ledger.apply_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger.accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER entries_apply
    AFTER INSERT ON ledger.entries
    FOR EACH ROW EXECUTE FUNCTION ledger.apply_entry();

COMMIT;
`,
    '000007_create_statements.sql': `BEGIN ISOLATION LEVEL SERIALIZABLE;

CREATE TABLE ledger.statements (
    account_id  BIGINT NOT NULL REFERENCES ledger.accounts (id),
    period      DATE NOT NULL,
    closing     NUMERIC(14, 2) NOT NULL,
    CONSTRAINT statements_pkey PRIMARY KEY (account_id, period)
);

COMMIT;
`,
    '000008_entries_2026.sql': `CREATE TABLE IF NOT EXISTS ledger.entries_2026 PARTITION OF ledger.entries
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
`,
    '000009_close_accounts.sql': `BEGIN;
ALTER TABLE ledger.accounts ADD COLUMN closed_at TIMESTAMPTZ;
CREATE INDEX accounts_open_idx ON ledger.accounts (id) WHERE closed_at IS NULL;
COMMIT;
`,
    '000010_transfers_created_idx.sql':
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS transfers_created_idx ON ledger.transfers (created_at);\n',
    '000011_balance_of.sql': `BEGIN;
CREATE FUNCTION ledger.balance_of(p_account BIGINT, p_on DATE) RETURNS NUMERIC
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(amount), 0) FROM ledger.entries WHERE account_id = p_account AND booked_on <= p_on
$$;
COMMIT;
`,
  },
  seed: `INSERT INTO ledger.accounts (owner, currency) VALUES ('nadia', 'EUR'), ('omar', 'EUR'), ('pia', 'USD');
INSERT INTO ledger.entries (account_id, amount, booked_on, kind) VALUES (1, 100, '2024-03-01', 'credit'), (1, -20, '2025-04-01', 'debit'), (2, 50, '2025-07-09', 'credit'), (3, 7, '2026-02-02', 'credit'), (2, 1, '2031-01-01', 'reversal');
INSERT INTO ledger.transfers (from_account, to_account, amount) VALUES (1, 2, 10), (2, 1, 5);
INSERT INTO ledger.statements (account_id, period, closing) VALUES (1, '2024-12-31', 100);
`,
  tables: [
    'ledger.accounts',
    'ledger.entries_2024',
    'ledger.entries_2025',
    'ledger.entries_2026',
    'ledger.entries_default',
    'ledger.transfers',
    'ledger.statements',
  ],
  drops: [
    {
      what: 'a partition',
      sql: 'DROP TABLE ledger.entries_2025',
      named: ['table ledger.entries_2025 (000003_create_entries.sql)'],
      emptied: ['ledger.entries_2025'],
    },
    {
      what: 'an index of the partitioned table',
      sql: 'DROP INDEX ledger.entries_account_idx',
      named: ['index ledger.entries_account_idx (000003_create_entries.sql)'],
    },
    {
      what: 'a constraint added in a REPEATABLE READ transaction',
      sql: 'ALTER TABLE ledger.transfers DROP CONSTRAINT transfers_distinct_accounts',
      named: [
        'constraint transfers_distinct_accounts on ledger.transfers (000004_create_transfers.sql)',
      ],
    },
    {
      what: 'a trigger function, with its trigger',
      sql: 'DROP FUNCTION ledger.apply_entry() CASCADE',
      named: [
        'function ledger.apply_entry() (000006_apply_entries.sql)',
        'trigger entries_apply on ledger.entries (000006_apply_entries.sql)',
      ],
    },
    {
      what: 'a partial index made in the third block of a file',
      sql: 'DROP INDEX ledger.entries_kind_idx',
      named: ['index ledger.entries_kind_idx (000005_entry_kinds.sql)'],
    },
    {
      what: 'a table made in a SERIALIZABLE transaction',
      sql: 'DROP TABLE ledger.statements',
      named: ['table ledger.statements (000007_create_statements.sql)'],
      emptied: ['ledger.statements'],
    },
    {
      what: 'an index made CONCURRENTLY, and a function',
      sql: 'DROP INDEX ledger.transfers_created_idx; DROP FUNCTION ledger.balance_of(bigint, date)',
      named: [
        'index ledger.transfers_created_idx (000010_transfers_created_idx.sql)',
        'function ledger.balance_of(bigint, date) (000011_balance_of.sql)',
      ],
    },
  ],
};

const citext: History = {
  name: 'citext functions',
  schemas: ['directory'],
  files: {
    '001_extensions.sql':
      'CREATE EXTENSION IF NOT EXISTS citext;\nCREATE SCHEMA IF NOT EXISTS directory;\n',
    '002_people.sql': `CREATE TABLE directory.people (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      citext NOT NULL,
    handle     citext NOT NULL,
    full_name  text
);
CREATE UNIQUE INDEX people_email_key ON directory.people (email);
`,
    '003_normalise_handle.sql': `CREATE FUNCTION directory.normalise_handle(raw citext) RETURNS citext
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT regexp_replace(raw::text, '\\s+', '', 'g')::citext
$$;
`,
    '004_people_trigger.sql': `CREATE FUNCTION directory.people_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.handle := directory.normalise_handle(NEW.handle);
    RETURN NEW;
END;
$$;

CREATE TRIGGER people_normalise
    BEFORE INSERT OR UPDATE OF handle ON directory.people
    FOR EACH ROW EXECUTE FUNCTION directory.people_before_write();
`,
    '005_find_person.sql': `CREATE FUNCTION directory.find_person(p_email citext) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    found bigint;
BEGIN
    SELECT id INTO found FROM directory.people WHERE email = p_email;
    RETURN found;
END;
$$;
`,
    '006_groups.sql': `CREATE DOMAIN directory.group_name AS citext CHECK (VALUE ~ '^[a-z0-9-]+$');

CREATE TABLE directory.groups (
    name   directory.group_name PRIMARY KEY,
    title  text NOT NULL
);

CREATE TABLE directory.memberships (
    person_id  bigint NOT NULL REFERENCES directory.people (id) ON DELETE CASCADE,
    group_name directory.group_name NOT NULL REFERENCES directory.groups (name),
    CONSTRAINT memberships_pkey PRIMARY KEY (person_id, group_name)
);
`,
    '007_is_member.sql': `CREATE FUNCTION directory.is_member(p_handle citext, p_groups citext[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM directory.memberships m JOIN directory.people p ON p.id = m.person_id
         WHERE p.handle = p_handle AND m.group_name::citext = ANY (p_groups)
    )
$$;
`,
    '008_handle_index.sql': 'CREATE UNIQUE INDEX people_handle_key ON directory.people (handle);\n',
    '009_normalise_dots.sql': `CREATE OR REPLACE FUNCTION directory.normalise_handle(raw citext) RETURNS citext
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT regexp_replace(raw::text, '[\\s.]+', '', 'g')::citext
$$;
`,
    '010_public_view.sql':
      'CREATE VIEW directory.people_public AS SELECT id, handle FROM directory.people;\n',
  },
  seed: `INSERT INTO directory.people (email, handle, full_name) VALUES ('Ana@Example.org', 'ana.b', 'Ana B'), ('kai@example.org', 'Kai K', NULL);
INSERT INTO directory.groups (name, title) VALUES ('ops', 'Operations'), ('web', 'Web');
INSERT INTO directory.memberships (person_id, group_name) VALUES (1, 'ops'), (2, 'web'), (2, 'ops');
`,
  tables: ['directory.people', 'directory.groups', 'directory.memberships'],
  drops: [
    {
      what: 'a SQL function over citext (that a PL/pgSQL trigger function calls)',
      sql: 'DROP FUNCTION directory.normalise_handle(citext)',
      named: ['function directory.normalise_handle(public.citext) (003_normalise_handle.sql)'],
      // Back with the body 009 replaced it with, not 003's first one.
      check:
        "SELECT strpos(pg_get_functiondef('directory.normalise_handle(public.citext)'::regprocedure), '.]+') > 0 AS ok",
    },
    {
      what: 'a PL/pgSQL function over citext',
      sql: 'DROP FUNCTION directory.find_person(citext)',
      named: ['function directory.find_person(public.citext) (005_find_person.sql)'],
    },
    {
      what: 'a function over citext and citext[]',
      sql: 'DROP FUNCTION directory.is_member(citext, citext[])',
      named: ['function directory.is_member(public.citext, public.citext[]) (007_is_member.sql)'],
    },
    {
      what: 'a trigger',
      sql: 'DROP TRIGGER people_normalise ON directory.people',
      named: ['trigger people_normalise on directory.people (004_people_trigger.sql)'],
    },
    {
      what: 'a unique index on a citext column',
      sql: 'DROP INDEX directory.people_handle_key',
      named: ['index directory.people_handle_key (008_handle_index.sql)'],
    },
    {
      what: 'a table with a column of a domain over citext',
      sql: 'DROP TABLE directory.memberships',
      named: ['table directory.memberships (006_groups.sql)'],
      emptied: ['directory.memberships'],
    },
  ],
};

export const HISTORIES: History[] = [prisma, drizzle, golangMigrate, citext];

/** The drizzle-kit history, for a constraint written inside CREATE TABLE IF NOT EXISTS that repair adds to its table. */
export const DRIZZLE = drizzle;

/**
 * Builds a database from the files as `psql -v ON_ERROR_STOP=1 -f <file>`
 * does, file by file, with the pg client (CI needs no psql): each file in a
 * session of its own, each statement sent alone, so that the file's own
 * BEGIN and COMMIT (and CREATE INDEX CONCURRENTLY outside them) run as psql
 * runs them. The statements are cut where PostgreSQL's parser ends them.
 */
export async function runAsPsql(url: string, files: readonly string[]): Promise<void> {
  await loadModule();
  for (const sql of files) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // Positions are UTF-8 bytes, as the parser counts them.
      const bytes = Buffer.from(sql, 'utf8');
      for (const { stmt_location: at = 0, stmt_len: length } of parseSync(sql).stmts ?? []) {
        const text = bytes.subarray(at, length ? at + length : undefined).toString('utf8');
        await client.query(text);
      }
    } finally {
      await client.end();
    }
  }
}
