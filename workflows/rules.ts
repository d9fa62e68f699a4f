// Who may act on a task, and which task a decision acts on: pure functions shared by the
// transfer workflow (the authority, in its Update validators) and the API's
// GET /api/transfers/:id/actions (what the inbox offers), so the two cannot drift apart.
// Deterministic and free of I/O: safe in the workflow sandbox.
import type { Actor } from './types';

/** The fields of a task the rules look at (a workflow TaskView or a database Task row). */
export interface TaskRuleView {
  status: string;
  level: number;
  escalationLevel: number;
  delegatedToId: string | null;
  assigneeId?: string | null;
  candidateEntityId?: string | null;
  candidateRole?: string | null;
  candidateGroupRole?: string | null;
}

/** May this actor act on this task: its assignee or delegate, or a member of its candidate group. */
export function canAct(actor: Pick<Actor, 'userId' | 'memberships' | 'groupRole'>, t: TaskRuleView): boolean {
  if (t.status !== 'OPEN') return false;
  if (t.delegatedToId === actor.userId || t.assigneeId === actor.userId) return true;
  if (!t.assigneeId && t.candidateEntityId) {
    return actor.memberships.some((m) => m.entityId === t.candidateEntityId && m.role === t.candidateRole);
  }
  if (!t.assigneeId && t.candidateGroupRole) return actor.groupRole === t.candidateGroupRole;
  return false;
}

/**
 * The task a confirm / reject / dispute of this actor acts on, among the tasks it may act
 * on: the current routing level first (not one only delegated to it for an opinion), then
 * an escalation task.
 */
export function decisionTask<T extends TaskRuleView>(open: T[], level: number, actorId: string): T | undefined {
  return open.find((t) => t.escalationLevel === 0 && t.level === level && t.delegatedToId !== actorId) ?? open.find((t) => t.escalationLevel > 0);
}
