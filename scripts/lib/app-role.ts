// The database role the API and the worker run as, for the embedded PostgreSQL.
//
// The migration 20261122040000_audit_append_only creates ic_confirm_app (NOLOGIN): it may
// read and write every table but only SELECT and INSERT audit rows. Here the stack,
// holding the embedded cluster's superuser credentials, makes a LOGIN role that is a
// member of it and hands the worker and the API a DATABASE_URL for that login.
//
// The password is random and new on every start (ALTER ROLE … PASSWORD): the superuser
// can always reset it, so nothing needs to be kept on disk, and a URL from an earlier run
// stops working. Only the processes of this stack (and the STACK_READY_FILE) know it.
//
// With an external DATABASE_URL the stack does none of this: the operator runs the
// migrations as the schema owner and gives the application a role that is a member of
// ic_confirm_app, by hand or with `npm run db:app-login` (DATABASE_URL = the owner,
// APP_DATABASE_PASSWORD = the login's password; docker-compose.yml does this).
import crypto from 'node:crypto';
import { Client } from 'pg';

/** The NOLOGIN role created by the migrations. */
export const APP_ROLE = 'ic_confirm_app';
/** The LOGIN role the embedded stack's worker and API connect as. */
export const APP_LOGIN = 'ic_confirm_app_login';

/**
 * Creates (or updates) APP_LOGIN as a member of APP_ROLE with a fresh password, using the
 * owner/superuser connection `ownerUrl`, and returns `ownerUrl` with APP_LOGIN's
 * credentials. Requires the migrations to have been applied (APP_ROLE must exist).
 */
export async function ensureAppLogin(ownerUrl: string, password = crypto.randomBytes(24).toString('base64url')): Promise<string> {
  const client = new Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    if (role.rowCount === 0) throw new Error(`role ${APP_ROLE} does not exist: apply the migrations first`);
    const login = client.escapeIdentifier(APP_LOGIN);
    const attrs = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD ${client.escapeLiteral(password)}`;
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_LOGIN]);
    if (exists.rowCount === 0) {
      try {
        await client.query(`CREATE ROLE ${login} ${attrs}`);
      } catch (err) {
        // Roles are cluster-wide: someone else may just have created it.
        if ((err as { code?: string }).code !== '42710') throw err;
        await client.query(`ALTER ROLE ${login} ${attrs}`);
      }
    } else {
      await client.query(`ALTER ROLE ${login} ${attrs}`);
    }
    await client.query(`GRANT ${client.escapeIdentifier(APP_ROLE)} TO ${login}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  const url = new URL(ownerUrl);
  url.username = APP_LOGIN;
  url.password = password;
  return url.toString();
}
