import { describe, expect, it } from 'vitest';
import { openPostgres } from './client.ts';

// postgres.js connects lazily: building a client opens no connection, so its options can be read.
describe('openPostgres', () => {
  it('reaches a TCP host as given', () => {
    const sql = openPostgres('postgres://app@db.internal:6432/hub');
    expect(sql.options.host).toEqual(['db.internal']);
    expect(sql.options.port).toEqual([6432]);
    expect(sql.options.path).toBeFalsy();
  });

  it("takes libpq's ?host=/dir as the Unix socket of that port, not as a server setting", () => {
    const sql = openPostgres('postgres://postgres@localhost:5433/hub?host=/var/run/postgresql/&application_name=x');
    expect(sql.options.path).toBe('/var/run/postgresql/.s.PGSQL.5433');
    expect(sql.options.database).toBe('hub');
    expect(sql.options.connection).toEqual({ application_name: 'x' });
  });

  it('uses port 5432 when the socket URL names none', () => {
    expect(openPostgres('postgres://postgres@localhost/hub?host=/tmp').options.path).toBe('/tmp/.s.PGSQL.5432');
  });

  it('refuses a host parameter that is not a directory', () => {
    expect(() => openPostgres('postgres://postgres@localhost/hub?host=db.internal')).toThrow(/socket directory/);
  });
});
