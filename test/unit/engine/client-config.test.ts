import { describe, expect, it } from 'vitest';
import { certificateRefused, clientConfig } from '../../../src/engine/connect.js';

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

describe('a certificate TLS refused', () => {
  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', "the server's certificate is not trusted", 'sslrootcert='],
    ['SELF_SIGNED_CERT_IN_CHAIN', "the server's certificate is not trusted", 'sslmode=require'],
    [
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      "the server's certificate is not trusted",
      'sslrootcert=',
    ],
    [
      'ERR_TLS_CERT_ALTNAME_INVALID',
      "the server's certificate is for another host name",
      'sslmode=verify-ca',
    ],
    ['CERT_HAS_EXPIRED', "the server's certificate is outside its dates", 'Renew'],
  ])('%s: %s', (code, what, hint) => {
    const refused = certificateRefused(code);
    expect(refused?.what).toBe(what);
    expect(refused?.hint).toContain(hint);
  });

  it.each([['ECONNREFUSED'], ['28P01'], [undefined]])('%s is not a certificate', (code) => {
    expect(certificateRefused(code)).toBeUndefined();
  });
});
