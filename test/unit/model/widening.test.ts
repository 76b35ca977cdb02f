import { describe, expect, it } from 'vitest';
import { isWidening } from '../../../src/model/protect.js';
import type { ColumnType } from '../../../src/sql/operations.js';

// `from` as the catalog names types (pg_type.typname), `to` as the parser does.
const t = (name: string, ...modifiers: number[]): ColumnType => ({ name, modifiers, array: false });

describe('isWidening (SPEC §5: a widening type change destroys nothing)', () => {
  it.each([
    ['varchar(255) to varchar(1024)', t('varchar', 255), t('varchar', 1024)],
    ['varchar(255) to text', t('varchar', 255), t('text')],
    ['varchar(255) to varchar', t('varchar', 255), t('varchar')],
    ['int to bigint', t('int4'), t('int8')],
    ['smallint to int', t('int2'), t('int4')],
    ['int to numeric', t('int4'), t('numeric')],
    ['int to numeric(12,2)', t('int4'), t('numeric', 12, 2)],
    ['numeric(10,2) to numeric(12,2)', t('numeric', 10, 2), t('numeric', 12, 2)],
    ['numeric(10,2) to numeric(12,4)', t('numeric', 10, 2), t('numeric', 12, 4)],
    ['numeric(10,2) to numeric', t('numeric', 10, 2), t('numeric')],
    ['real to double precision', t('float4'), t('float8')],
    ['int to double precision (53 bits hold every int)', t('int4'), t('float8')],
    ['smallint to real (24 bits hold every smallint)', t('int2'), t('float4')],
    ['the same type', t('varchar', 40), t('varchar', 40)],
  ])('%s widens', (_name, from, to) => {
    expect(isWidening(from, to)).toBe(true);
  });

  it.each([
    ['varchar(255) to varchar(10)', t('varchar', 255), t('varchar', 10)],
    ['text to varchar(10)', t('text'), t('varchar', 10)],
    ['bigint to int', t('int8'), t('int4')],
    ['int to numeric(5,2)', t('int4'), t('numeric', 5, 2)],
    ['numeric(10,2) to numeric(10,4)', t('numeric', 10, 2), t('numeric', 10, 4)],
    ['numeric to numeric(10,2)', t('numeric'), t('numeric', 10, 2)],
    ['double precision to real', t('float8'), t('float4')],
    ['int to real (24 bits do not hold every int)', t('int4'), t('float4')],
    ['bigint to double precision (53 bits do not hold every bigint)', t('int8'), t('float8')],
    ['text to int', t('text'), t('int4')],
    ['int to text', t('int4'), t('text')],
    ['timestamp to timestamptz', t('timestamp'), t('timestamptz')],
    ['int to int[]', t('int4'), { ...t('int4'), array: true }],
  ])('%s does not', (_name, from, to) => {
    expect(isWidening(from, to)).toBe(false);
  });
});
