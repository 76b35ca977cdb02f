import { describe, expect, it } from 'vitest';
import { clientConfig } from '../../../src/engine/connect.js';

describe('what pg is given for a URL', () => {
  it.each([
    [
      "sslmode=no-verify (node-postgres's spelling): TLS, certificate not checked",
      'no-verify',
      { rejectUnauthorized: false },
    ],
    [
      'sslmode=require (libpq): TLS, certificate not checked',
      'require',
      { rejectUnauthorized: false },
    ],
    ['sslmode=verify-full: TLS, certificate and host checked', 'verify-full', {}],
  ])('%s', (_, mode, ssl) => {
    expect(
      clientConfig(`postgres://app:secret@db.example.com:5432/app?sslmode=${mode}`).ssl,
    ).toEqual(ssl);
  });
});
