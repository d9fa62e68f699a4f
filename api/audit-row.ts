// The who / where of an audit row written by the API for a person's action: their user id
// and name, their IP and the request id (AuthUser carries both, see plugins/auth.ts). The
// row is written in the same transaction as the change it records.
import type { Prisma } from '../prisma/client';
import type { AuthUser } from './plugins/auth';

type Who = Pick<AuthUser, 'userId' | 'name' | 'ip' | 'requestId'>;

export function auditRow(
  actor: Who,
  row: Omit<Prisma.AuditEventUncheckedCreateInput, 'actorId' | 'actorName' | 'actorIp' | 'requestId'>,
): Prisma.AuditEventUncheckedCreateInput {
  return { actorId: actor.userId, actorName: actor.name, actorIp: actor.ip, requestId: actor.requestId, ...row };
}
