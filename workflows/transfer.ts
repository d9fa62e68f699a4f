// One durable workflow per intercompany transfer: routes the receiver's confirmation,
// keeps the deadline (reminder, escalation to the supervisor, then to HQ finance) and
// ends in CONFIRMED / DISPUTED / REJECTED / WITHDRAWN. Deterministic sandbox code only:
// every database write goes through the `persist` activity.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, NewTask, PersistResult, PersistStep, TaskPatch } from '../activities';
import {
  approveTaskUpdate,
  arbitrateUpdate,
  confirmUpdate,
  correctUpdate,
  periodFrozenSignal,
  delegateTaskUpdate,
  disputeUpdate,
  rejectTaskUpdate,
  rejectUpdate,
  stateQuery,
  transferTaskUpdate,
  withdrawUpdate,
} from './messages';
import { amountConsistent, matchDocuments } from './matching';
import { canAct, decisionTask } from './rules';
import {
  ErrorType,
  type ActionResult,
  type Actor,
  type Colleague,
  type Decision,
  type Difference,
  type DocumentFigures,
  type TaskView,
  type TransferPlan,
  type TransferState,
  type TransferStatus,
} from './types';

const { loadPlan, persist, checkPeriodOpen } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
/**
 * Local activities run inside the workflow task that needs them, on the worker, instead of
 * an activity task plus one more workflow task through the server. Used only for the first
 * two steps (read the plan, write the first tasks; patch local-first-steps): nothing can
 * come before them (the actions wait until the transfer is routed) and a retry writes the
 * same rows. Under an import of 10,000 transfers they were most of the server's work.
 * Everything an action or a deadline does stays an ordinary activity; two attempts to run
 * those locally failed the tests (docs/benchmarks.md, session 3):
 * - each decision's persist: a local activity's write commits before the workflow task
 *   that decided it is recorded, so a lost task's retry may take another Update first
 *   while the first decision's rows stay (tests/faults/concurrency.test.ts: three
 *   decisions for one task);
 * - the period guard, read-only: under 20 concurrent actions the server rejected some
 *   Updates as "not processed by worker" (tests/e2e/transfers.test.ts, one run in three).
 */
const localActivities = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export interface TransferWorkflowInput {
  transferId: string;
}

const FINAL: readonly TransferStatus[] = ['CONFIRMED', 'DISPUTED', 'REJECTED', 'WITHDRAWN', 'RESOLVED'];
const ESCALATION_NAMES = ['receiver', 'supervisor', 'HQ finance'];

function fail(type: keyof typeof ErrorType, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** Every user action; see registerEarlyHandlers. */
const ACTION_UPDATES = [
  confirmUpdate,
  rejectUpdate,
  disputeUpdate,
  approveTaskUpdate,
  rejectTaskUpdate,
  delegateTaskUpdate,
  transferTaskUpdate,
  withdrawUpdate,
  arbitrateUpdate,
  correctUpdate,
] as const;
type AnyUpdate = (typeof ACTION_UPDATES)[number];
type RealHandler = { handler: (...args: never[]) => unknown; validator?: (...args: never[]) => void };

/**
 * An action can reach a workflow before its handlers exist: the first workflow task is
 * retried after a worker died, while the first task (written by the local activity before
 * the crash) is already in someone's inbox. Without a handler the SDK rejects the Update
 * at the end of that activation ("no registered handler"). So every action has a stand-in
 * handler from the first line on, which waits until the transfer is routed and then runs
 * the real validator and handler. No commands are involved: histories replay unchanged.
 */
function registerEarlyHandlers(real: Map<AnyUpdate, RealHandler>, routed: () => boolean): void {
  for (const u of ACTION_UPDATES) {
    setHandler(u as never, (async (...args: never[]) => {
      await condition(() => routed() && real.has(u));
      const r = real.get(u)!;
      r.validator?.(...args);
      return r.handler(...args);
    }) as never);
  }
}

export async function transferWorkflow({ transferId }: TransferWorkflowInput): Promise<TransferStatus> {
  const realHandlers = new Map<AnyUpdate, RealHandler>();
  let routed = false;
  registerEarlyHandlers(realHandlers, () => routed);
  /** Registers an action's real handler (replacing its stand-in). */
  const onAction = ((u: AnyUpdate, handler: RealHandler['handler'], opts?: { validator?: RealHandler['validator'] }) => {
    realHandlers.set(u, { handler, validator: opts?.validator });
    setHandler(u as never, handler as never, opts as never);
  }) as typeof setHandler;

  // Histories recorded before this change ran the first steps as ordinary activities.
  const localFirstSteps = patched('local-first-steps');
  const plan: TransferPlan = await (localFirstSteps ? localActivities.loadPlan : loadPlan)(transferId);
  // The period guard inside the decision's own persist transaction instead of an activity of
  // its own before it: one activity and one workflow task fewer per action, and no gap in
  // which a freeze can slip between the check and the write. Histories recorded before ran
  // checkPeriodOpen first (patch period-guard).
  const guardInPersist = patched('period-guard-in-persist');
  const wf = workflowInfo().workflowId;
  let seq = 0;
  /** True while an action is being decided and persisted; concurrent actions get 409. */
  let busy = false;
  /** Anyone acted (decided, delegated, transferred): the sender can no longer withdraw. */
  let acted = false;
  /** Receiver figures submitted by an earlier routing level. */
  let receiptSubmitted = false;

  const state: TransferState = {
    status: 'PENDING',
    mode: plan.policy.mode,
    level: 0,
    escalationLevel: 0,
    // Workflow time decides deadlines (the API's clock only gave a provisional dueAt).
    dueAt: Date.now() + plan.confirmWithinMs,
    reminded: false,
    tasks: [],
    differences: [],
    period: plan.period,
    arbitrationOpen: false,
  };
  /** Figures each side stands by; the sender's change when it corrects them. */
  let sender: DocumentFigures = plan.sender;
  let receiverFigures: DocumentFigures | null = null;
  /** Period freezes sent by the freeze workflow, handled by the main loop. */
  const freezes: Array<{ period: string; choice: 'ESCALATE' | 'ROLL_FORWARD'; toPeriod: string | null; reason: string | null }> = [];
  const handledFreezes = new Set<string>();

  const finished = () => FINAL.includes(state.status);
  const stepKey = (name: string) => `${wf}:${++seq}:${name}`;
  const parties = [plan.senderEntityId, plan.receiverEntityId];

  function persistStep(step: Omit<PersistStep, 'transferId' | 'workflowId' | 'entityIds'>, local = false): Promise<PersistResult | undefined> {
    // `undefined` in histories recorded before persist returned its result.
    return (local ? localActivities.persist : persist)({ ...step, transferId: plan.transferId, workflowId: wf, entityIds: parties });
  }

  type ActionStep = Omit<PersistStep, 'transferId' | 'workflowId' | 'entityIds' | 'openPeriod'>;

  /**
   * Starts an action: its period guard (guardPeriod), then a checkpoint of the state. Returns
   * how to persist its step: if the period froze meanwhile nothing was written, the workflow's
   * state goes back to the checkpoint and the action fails with Conflict.
   */
  async function startAction(actor: Actor): Promise<(step: ActionStep) => Promise<void>> {
    const openPeriod = await guardPeriod(actor);
    const restore = checkpoint();
    return async (step) => {
      const r = await persistStep(openPeriod === undefined ? step : { ...step, openPeriod });
      if (r && !r.applied) {
        restore();
        fail('Conflict', frozenMessage(r.frozenPeriod));
      }
    };
  }

  /** Everything an action may change in memory, to undo it when its step is refused. */
  function checkpoint(): () => void {
    const saved = { ...state };
    const tasks = state.tasks.map((t) => ({ ...t }));
    const locals = { acted, receiptSubmitted, receiverFigures, sender };
    return () => {
      state.tasks.length = tasks.length;
      tasks.forEach((t, i) => Object.assign(state.tasks[i], t));
      Object.assign(state, { ...saved, tasks: state.tasks });
      ({ acted, receiptSubmitted, receiverFigures, sender } = locals);
    };
  }

  // ---- tasks ---------------------------------------------------------------------

  function newTask(t: Omit<NewTask, 'id' | 'key' | 'transferId'>): TaskView & NewTask {
    const id = uuid4();
    const view: TaskView & NewTask = {
      id,
      key: `${wf}:task:${id}`,
      transferId: plan.transferId,
      status: 'OPEN',
      delegatedToId: null,
      outcome: null,
      actedById: null,
      assigneeId: null,
      candidateEntityId: null,
      candidateRole: null,
      candidateGroupRole: null,
      ...t,
    };
    state.tasks.push(view);
    return view;
  }

  function levelTasks(level: number): Array<TaskView & NewTask> {
    const def = plan.policy.levels[level];
    const kind = level === 0 ? 'CONFIRM' : 'APPROVE';
    if (def.approvers && def.approvers.length > 0) {
      return def.approvers.map((a) =>
        newTask({ kind, level, escalationLevel: 0, dueAt: state.dueAt, assigneeId: a.userId, onBehalfOf: a.onBehalfOf ?? null }),
      );
    }
    return [
      newTask({
        kind,
        level,
        escalationLevel: 0,
        dueAt: state.dueAt,
        candidateEntityId: def.candidateEntityId ?? plan.receiverEntityId,
        candidateRole: def.candidateRole ?? 'ACCOUNTANT',
      }),
    ];
  }

  function isParty(actor: Actor): boolean {
    return actor.groupRole !== null || actor.memberships.some((m) => parties.includes(m.entityId));
  }

  /** Common checks for every action; returns the actor's task. */
  function checkAction(actor: Actor, taskId?: string): TaskView {
    if (finished()) fail('Conflict', `transfer is already ${state.status}`);
    if (busy) fail('Conflict', 'another action on this transfer is being processed; reload and try again');
    if (taskId !== undefined) {
      const t = state.tasks.find((x) => x.id === taskId);
      if (!t) fail('NotFound', `task ${taskId} does not belong to this transfer`);
      if (t.status !== 'OPEN') fail('Conflict', `task is already ${t.status}`);
      if (!canAct(actor, t)) fail('Forbidden', 'you are not an assignee of this task');
      if (actor.userId === plan.createdById) fail('Forbidden', 'nobody approves a transfer they created');
      return t;
    }
    const open = state.tasks.filter((t) => canAct(actor, t));
    // Prefer the current routing level, then escalation tasks.
    const mine = decisionTask(open, state.level, actor.userId);
    if (!mine) {
      if (!isParty(actor)) fail('NotFound', 'transfer not found');
      fail('Forbidden', 'you have no open task on this transfer');
    }
    if (actor.userId === plan.createdById) fail('Forbidden', 'nobody approves a transfer they created');
    return mine;
  }

  function validateDecision(d: Decision): void {
    if (d.type === 'confirm') {
      const r = d.receipt;
      if (!amountConsistent(r.quantity, r.unitPrice, r.amount)) {
        fail('Invalid', 'receipt amount must equal quantity × unit price (to the cent)');
      }
    }
    if ((d.type === 'reject' && !d.reason.trim()) || (d.type === 'dispute' && !d.text.trim())) {
      fail('Invalid', 'a reason is required');
    }
  }

  // ---- decisions ------------------------------------------------------------------

  function frozenMessage(period: string): string {
    return `period ${period} is frozen: no confirmation or change can be booked in it until HQ reopens it`;
  }

  /**
   * Second guard behind the API: nothing changes in a frozen period (HQ finance excepted).
   * Returns the period the action's persist must find open (patch period-guard-in-persist);
   * before that patch it checked the period with an activity of its own.
   */
  async function guardPeriod(actor: Actor): Promise<string | undefined> {
    if (guardInPersist) return actor.groupRole === 'HQ_FINANCE' ? undefined : (state.period ?? plan.period);
    if (!patched('period-guard')) return undefined;
    const p = await checkPeriodOpen({ transferId: plan.transferId, period: state.period ?? plan.period });
    if (p.frozen && actor.groupRole !== 'HQ_FINANCE') fail('Conflict', frozenMessage(p.period));
    return undefined;
  }

  async function decide(actor: Actor, task: TaskView, d: Decision): Promise<ActionResult> {
    busy = true;
    let persistAction: (step: ActionStep) => Promise<void>;
    try {
      persistAction = await startAction(actor);
    } catch (err) {
      busy = false;
      throw err;
    }
    acted = true;
    try {
      const before = { status: state.status, level: state.level };
      const patches: TaskPatch[] = [];
      const created: NewTask[] = [];
      const now = Date.now();
      const close = (t: TaskView, status: TaskView['status'], outcome: string | null, by: string | null) => {
        t.status = status;
        t.outcome = outcome;
        t.actedById = by;
        patches.push({ id: t.id, status, outcome, actedById: by, actedAt: by ? now : null });
      };
      let transfer: PersistStep['transfer'] = {};
      let action: string = d.type.toUpperCase();
      const notifications: PersistStep['notifications'] = [];

      // 委派: a delegate's decision is an opinion; the task returns to its owner.
      if (task.delegatedToId === actor.userId && task.assigneeId !== actor.userId) {
        if (d.type !== 'approve' && d.type !== 'reject') fail('Invalid', 'a delegate gives an opinion (approve / reject); the owner decides');
        task.delegatedToId = null;
        patches.push({ id: task.id, delegatedToId: null, comment: `${actor.name}: ${d.type === 'approve' ? 'approve' : `reject: ${d.reason}`}` });
        await persistAction({
          key: stepKey('delegate-returned'),
          updateTasks: patches,
          audit: { action: 'TASK_DELEGATE_RETURNED', actor, objectType: 'task', objectId: task.id, after: { opinion: d.type } },
          notifications: task.assigneeId ? [{ kind: 'TASK_RETURNED', entityId: plan.receiverEntityId, recipients: [task.assigneeId], payload: { taskId: task.id, opinion: d.type } }] : [],
        });
        return result(task.id);
      }

      if (d.type === 'confirm' || (d.type === 'approve' && !receiptSubmitted)) {
        const receipt =
          d.type === 'confirm'
            ? d.receipt
            : { receiptRef: null, ...sender };
        receiptSubmitted = true;
        const differences = matchDocuments(sender, receipt, state.period ?? plan.period, plan.tolerance);
        receiverFigures = { quantity: receipt.quantity, unitPrice: receipt.unitPrice, amount: receipt.amount, date: receipt.date };
        state.differences = differences;
        transfer = { receipt, differences };
        if (differences.length > 0) {
          state.status = 'DISPUTED';
          action = 'MISMATCH';
          transfer.disputeReason = 'OTHER';
          transfer.disputeText = `figures differ: ${differences.map((x) => x.field).join(', ')}`;
          close(task, 'DONE', 'MISMATCH', actor.userId);
        }
      }
      if (d.type === 'dispute') {
        if (!receiverFigures && d.proposal && d.proposal.amount) {
          receiverFigures = { quantity: d.proposal.quantity ?? sender.quantity, unitPrice: d.proposal.unitPrice ?? sender.unitPrice, amount: d.proposal.amount, date: d.proposal.date ?? sender.date };
        }
        state.status = 'DISPUTED';
        transfer = { disputeReason: d.reason, disputeText: d.text, proposal: d.proposal ?? null };
        close(task, 'DONE', 'DISPUTED', actor.userId);
      } else if (d.type === 'reject') {
        state.status = 'REJECTED';
        transfer = { ...transfer, rejectReason: d.reason };
        close(task, 'DONE', 'REJECTED', actor.userId);
      } else if (state.status === 'PENDING') {
        // confirm / approve with matching figures
        close(task, 'DONE', 'APPROVED', actor.userId);
        const levelOpen = state.tasks.filter((t) => t.escalationLevel === 0 && t.level === state.level && t.status === 'OPEN');
        const levelDone = task.escalationLevel > 0 || state.mode !== 'COUNTERSIGN' || levelOpen.length === 0;
        if (levelDone) {
          for (const t of levelOpen) close(t, 'WITHDRAWN', null, null);
          if (state.level + 1 < plan.policy.levels.length) {
            state.level += 1;
            const next = levelTasks(state.level);
            created.push(...next);
            notifications.push(taskNotification('TASK_ASSIGNED', next));
          } else {
            state.status = 'CONFIRMED';
          }
        }
      }
      if (finished()) {
        for (const t of state.tasks) if (t.status === 'OPEN') close(t, 'WITHDRAWN', null, null);
        transfer = { ...transfer, closed: true };
        notifications.push({
          kind: `TRANSFER_${state.status}`,
          entityId: plan.senderEntityId,
          recipients: [plan.createdById],
          payload: { status: state.status, differences: state.differences },
        });
      }
      transfer.status = state.status;
      transfer.level = state.level;
      await persistAction({
        key: stepKey(d.type),
        transfer,
        createTasks: created,
        updateTasks: patches,
        audit: {
          action: `TRANSFER_${action}`,
          actor,
          objectType: 'transfer',
          objectId: plan.transferId,
          before,
          after: { status: state.status, level: state.level, taskId: task.id, ...(state.differences.length ? { differences: state.differences } : {}) },
          reason: d.type === 'reject' ? d.reason : d.type === 'dispute' ? `${d.reason}: ${d.text}` : d.comment ?? null,
        },
        notifications,
      });
      return result(task.id);
    } finally {
      busy = false;
    }
  }

  function result(taskId: string | null): ActionResult {
    return { status: state.status, taskId, differences: state.differences };
  }

  function taskNotification(kind: string, tasks: TaskView[]): NonNullable<PersistStep['notifications']>[number] {
    return {
      kind,
      entityId: tasks[0]?.candidateGroupRole ? plan.hqEntityId : plan.receiverEntityId,
      recipients: tasks.flatMap((t) => (t.assigneeId ? [t.assigneeId] : [])),
      payload: {
        taskIds: tasks.map((t) => t.id),
        dueAt: new Date(state.dueAt).toISOString(),
        escalationLevel: state.escalationLevel,
        candidates: tasks.map((t) => ({ entityId: t.candidateEntityId, role: t.candidateRole ?? t.candidateGroupRole })),
      },
    };
  }

  async function reassign(kind: 'delegate' | 'transfer', actor: Actor, task: TaskView, to: Colleague, comment?: string): Promise<ActionResult> {
    busy = true;
    acted = true;
    try {
      const patch: TaskPatch = { id: task.id };
      if (kind === 'delegate') {
        if (!task.assigneeId) {
          task.assigneeId = actor.userId; // claim a group task before delegating it
          patch.assigneeId = actor.userId;
        }
        task.delegatedToId = to.userId;
        patch.delegatedToId = to.userId;
      } else {
        task.assigneeId = to.userId;
        task.delegatedToId = null;
        task.candidateEntityId = null;
        task.candidateRole = null;
        task.candidateGroupRole = null;
        Object.assign(patch, { assigneeId: to.userId, delegatedToId: null, candidateEntityId: null, candidateRole: null, candidateGroupRole: null });
      }
      if (comment) patch.comment = comment;
      await persistStep({
        key: stepKey(kind),
        updateTasks: [patch],
        audit: {
          action: kind === 'delegate' ? 'TASK_DELEGATED' : 'TASK_TRANSFERRED',
          actor,
          objectType: 'task',
          objectId: task.id,
          after: { to: to.userId, toName: to.name },
          reason: comment ?? null,
        },
        notifications: [{ kind: kind === 'delegate' ? 'TASK_DELEGATED' : 'TASK_TRANSFERRED', entityId: plan.receiverEntityId, recipients: [to.userId], payload: { taskId: task.id, from: actor.name } }],
      });
      return result(task.id);
    } finally {
      busy = false;
    }
  }

  function checkColleague(actor: Actor, task: TaskView, to: Colleague): void {
    if (to.userId === actor.userId) fail('Invalid', 'cannot hand a task to yourself');
    if (to.userId === plan.createdById) fail('Invalid', 'the creator of a transfer cannot act on it');
    const entity = task.candidateEntityId ?? plan.receiverEntityId;
    const colleague = task.candidateGroupRole ? to.groupRole === task.candidateGroupRole : to.memberships.some((m) => m.entityId === entity);
    if (!colleague) fail('Invalid', 'tasks can only be handed to a colleague of the same entity');
  }

  // ---- handlers -------------------------------------------------------------------

  onAction(confirmUpdate, ({ actor, receipt, comment }) => decide(actor, checkAction(actor), { type: 'confirm', receipt, comment }), {
    validator: ({ actor, receipt }) => {
      checkAction(actor);
      validateDecision({ type: 'confirm', receipt });
    },
  });
  onAction(rejectUpdate, ({ actor, reason }) => decide(actor, checkAction(actor), { type: 'reject', reason }), {
    validator: ({ actor, reason }) => {
      checkAction(actor);
      validateDecision({ type: 'reject', reason });
    },
  });
  onAction(disputeUpdate, ({ actor, reason, text, proposal }) => decide(actor, checkAction(actor), { type: 'dispute', reason, text, proposal }), {
    validator: ({ actor, reason, text }) => {
      checkAction(actor);
      validateDecision({ type: 'dispute', reason, text });
    },
  });
  onAction(approveTaskUpdate, ({ actor, taskId, comment }) => decide(actor, checkAction(actor, taskId), { type: 'approve', comment }), {
    validator: ({ actor, taskId }) => void checkAction(actor, taskId),
  });
  onAction(rejectTaskUpdate, ({ actor, taskId, reason }) => decide(actor, checkAction(actor, taskId), { type: 'reject', reason }), {
    validator: ({ actor, taskId, reason }) => {
      checkAction(actor, taskId);
      validateDecision({ type: 'reject', reason });
    },
  });
  onAction(
    delegateTaskUpdate,
    ({ actor, taskId, to, comment }) => reassign('delegate', actor, checkAction(actor, taskId), to, comment),
    {
      validator: ({ actor, taskId, to }) => {
        const t = checkAction(actor, taskId);
        if (t.delegatedToId === actor.userId) fail('Invalid', 'a delegate cannot delegate the task further');
        checkColleague(actor, t, to);
      },
    },
  );
  onAction(
    transferTaskUpdate,
    ({ actor, taskId, to, comment }) => reassign('transfer', actor, checkAction(actor, taskId), to, comment),
    {
      validator: ({ actor, taskId, to }) => {
        const t = checkAction(actor, taskId);
        if (t.delegatedToId === actor.userId) fail('Invalid', 'a delegate cannot transfer the task');
        checkColleague(actor, t, to);
      },
    },
  );
  onAction(
    withdrawUpdate,
    async ({ actor, reason }) => {
      busy = true;
      try {
        const persistAction = await startAction(actor);
        state.status = 'WITHDRAWN';
        const patches: TaskPatch[] = [];
        for (const t of state.tasks) {
          if (t.status === 'OPEN') {
            t.status = 'WITHDRAWN';
            patches.push({ id: t.id, status: 'WITHDRAWN' });
          }
        }
        await persistAction({
          key: stepKey('withdraw'),
          transfer: { status: 'WITHDRAWN', closed: true },
          updateTasks: patches,
          audit: { action: 'TRANSFER_WITHDRAWN', actor, objectType: 'transfer', objectId: plan.transferId, before: { status: 'PENDING' }, after: { status: 'WITHDRAWN' }, reason: reason ?? null },
          notifications: [{ kind: 'TRANSFER_WITHDRAWN', entityId: plan.receiverEntityId, recipients: [], payload: { reason: reason ?? null } }],
        });
        return result(null);
      } finally {
        busy = false;
      }
    },
    {
      validator: ({ actor }: { actor: Actor }) => {
        if (finished()) fail('Conflict', `transfer is already ${state.status}`);
        if (busy) fail('Conflict', 'another action on this transfer is being processed; reload and try again');
        const senderSide = actor.userId === plan.createdById || actor.memberships.some((m) => m.entityId === plan.senderEntityId && m.role === 'ACCOUNTANT');
        if (!senderSide) fail(isParty(actor) ? 'Forbidden' : 'NotFound', isParty(actor) ? 'only the sending entity can withdraw a transfer' : 'transfer not found');
        if (acted) fail('Conflict', 'somebody has already acted on this transfer; it can no longer be withdrawn');
      },
    },
  );

  // ---- disputes: HQ arbitration and the sender's correction ------------------------

  function checkDisputeOpen(): void {
    if (state.status !== 'DISPUTED' || !state.arbitrationOpen) fail('Conflict', `transfer is ${state.status}, not waiting for arbitration`);
    if (busy) fail('Conflict', 'another action on this transfer is being processed; reload and try again');
  }

  onAction(
    arbitrateUpdate,
    async ({ actor, decision, rationale, figures }) => {
      busy = true;
      try {
        const persistAction = await startAction(actor);
        const binding: DocumentFigures =
          decision === 'UPHOLD_SENDER' ? sender : decision === 'UPHOLD_RECEIVER' ? (receiverFigures as DocumentFigures) : (figures as DocumentFigures);
        const before = { status: state.status, sender, receiver: receiverFigures };
        state.status = 'RESOLVED';
        state.arbitrationOpen = false;
        const now = Date.now();
        const patches: TaskPatch[] = [];
        for (const t of state.tasks) {
          if (t.status !== 'OPEN') continue;
          const mine = t.kind === 'ARBITRATE';
          t.status = mine ? 'DONE' : 'WITHDRAWN';
          t.outcome = mine ? decision : null;
          t.actedById = mine ? actor.userId : null;
          patches.push({ id: t.id, status: t.status, outcome: t.outcome, actedById: t.actedById, actedAt: mine ? now : null });
        }
        await persistAction({
          key: stepKey('arbitrate'),
          transfer: { status: 'RESOLVED', resolution: { decision, rationale, figures: binding, byId: actor.userId }, closed: true },
          updateTasks: patches,
          audit: { action: 'TRANSFER_ARBITRATED', actor, objectType: 'transfer', objectId: plan.transferId, before, after: { status: 'RESOLVED', decision, binding }, reason: rationale },
          notifications: [plan.senderEntityId, plan.receiverEntityId].map((entityId) => ({
            kind: 'TRANSFER_RESOLVED',
            entityId,
            recipients: entityId === plan.senderEntityId ? [plan.createdById] : [],
            payload: { decision, rationale, binding },
          })),
        });
        return result(null);
      } finally {
        busy = false;
      }
    },
    {
      validator: ({ actor, decision, rationale, figures }) => {
        checkDisputeOpen();
        if (actor.groupRole !== 'HQ_FINANCE') fail(isParty(actor) ? 'Forbidden' : 'NotFound', isParty(actor) ? 'only HQ finance arbitrates disputes' : 'transfer not found');
        if (actor.userId === plan.createdById) fail('Forbidden', 'nobody arbitrates a transfer they created');
        if (!rationale.trim()) fail('Invalid', 'rationale: a written rationale is required');
        if (decision === 'UPHOLD_RECEIVER' && !receiverFigures) fail('Invalid', 'decision: the receiver gave no figures to uphold; use ADJUST');
        if (decision === 'ADJUST') {
          if (!figures) fail('Invalid', 'figures: ADJUST needs the agreed quantity / unit price / amount / date');
          if (!amountConsistent(figures.quantity, figures.unitPrice, figures.amount)) fail('Invalid', 'figures.amount: must equal quantity × unit price (to the cent)');
        }
      },
    },
  );

  onAction(
    correctUpdate,
    async ({ actor, figures, reason }) => {
      busy = true;
      try {
        const persistAction = await startAction(actor);
        const before = { sender, differences: state.differences };
        sender = figures;
        const differences = receiverFigures ? matchDocuments(sender, receiverFigures, state.period ?? plan.period, plan.tolerance) : state.differences;
        state.differences = differences;
        const matched = receiverFigures !== null && differences.length === 0;
        const patches: TaskPatch[] = [];
        if (matched) {
          state.status = 'CONFIRMED';
          state.arbitrationOpen = false;
          for (const t of state.tasks) {
            if (t.status === 'OPEN') {
              t.status = 'WITHDRAWN';
              patches.push({ id: t.id, status: 'WITHDRAWN' });
            }
          }
        }
        await persistAction({
          key: stepKey('correct'),
          transfer: { sender: figures, differences, ...(matched ? { status: 'CONFIRMED' as const, closed: true } : {}) },
          updateTasks: patches,
          audit: { action: 'TRANSFER_CORRECTED', actor, objectType: 'transfer', objectId: plan.transferId, before, after: { sender: figures, differences, status: state.status }, reason },
          notifications: [
            { kind: matched ? 'TRANSFER_CONFIRMED' : 'TRANSFER_CORRECTED', entityId: plan.receiverEntityId, recipients: [], payload: { differences, status: state.status } },
            ...(matched && plan.hqEntityId ? [{ kind: 'DISPUTE_SETTLED', entityId: plan.hqEntityId, recipients: [], payload: { by: 'sender correction' } }] : []),
          ],
        });
        return result(null);
      } finally {
        busy = false;
      }
    },
    {
      validator: ({ actor, figures, reason }: { actor: Actor; figures: DocumentFigures; reason: string }) => {
        if (state.status !== 'DISPUTED') fail('Conflict', `transfer is ${state.status}; the sender corrects its figures only while it is disputed`);
        if (busy) fail('Conflict', 'another action on this transfer is being processed; reload and try again');
        const senderSide = actor.userId === plan.createdById || actor.memberships.some((m) => m.entityId === plan.senderEntityId && m.role === 'ACCOUNTANT');
        if (!senderSide) fail(isParty(actor) ? 'Forbidden' : 'NotFound', isParty(actor) ? 'only the sending entity corrects its figures' : 'transfer not found');
        if (!reason.trim()) fail('Invalid', 'reason: say why the figures change');
        if (!amountConsistent(figures.quantity, figures.unitPrice, figures.amount)) fail('Invalid', 'figures.amount: must equal quantity × unit price (to the cent)');
      },
    },
  );

  setHandler(periodFrozenSignal, (f) => {
    const key = `${f.period}:${f.choice}:${f.toPeriod ?? ''}`;
    if (handledFreezes.has(key)) return; // the freeze workflow may resend after a restart
    handledFreezes.add(key);
    freezes.push(f);
  });

  /** Applies period freezes: ESCALATE hands the transfer to HQ now; ROLL_FORWARD moves it to the next open period. */
  async function applyFreezes(): Promise<void> {
    // An action in flight may yet be refused (because of this very freeze): decide after it.
    if (guardInPersist) await condition(() => !busy);
    while (freezes.length > 0) {
      const f = freezes.shift()!;
      if (finished() && !state.arbitrationOpen) continue;
      if (f.choice === 'ROLL_FORWARD' && f.toPeriod && f.period === state.period) {
        const from = state.period;
        state.period = f.toPeriod;
        await persistStep({
          key: stepKey('roll-forward'),
          transfer: { period: f.toPeriod },
          audit: { action: 'TRANSFER_ROLLED_FORWARD', actor: null, objectType: 'transfer', objectId: plan.transferId, before: { period: from }, after: { period: f.toPeriod }, reason: f.reason ?? `period ${from} frozen` },
          notifications: [plan.senderEntityId, plan.receiverEntityId].map((entityId) => ({ kind: 'TRANSFER_ROLLED_FORWARD', entityId, recipients: [], payload: { from, to: f.toPeriod } })),
        });
      } else if (f.choice === 'ESCALATE' && state.status === 'PENDING' && state.escalationLevel < 2) {
        await escalate(2, `period ${f.period} frozen`);
      }
    }
  }

  setHandler(stateQuery, () => state);

  // ---- the run --------------------------------------------------------------------

  const first = levelTasks(0);
  await persistStep({
    key: stepKey('created'),
    transfer: { status: 'PENDING', dueAt: state.dueAt, level: 0, escalationLevel: 0 },
    createTasks: first,
    audit: {
      action: 'TRANSFER_ROUTED',
      actor: null,
      objectType: 'transfer',
      objectId: plan.transferId,
      after: { policy: plan.policy.name, mode: plan.policy.mode, dueAt: new Date(state.dueAt).toISOString() },
    },
    notifications: [taskNotification('TASK_ASSIGNED', first)],
  }, localFirstSteps);
  routed = true;

  let levelStart = Date.now();
  /** Waits until the transfer leaves `stillWaiting`, a freeze arrives, or `at` passes. */
  async function waitFor(stillWaiting: () => boolean, at: number | null): Promise<'changed' | 'freeze' | 'timeout'> {
    const wake = () => !stillWaiting() || freezes.length > 0;
    const woke = at === null ? (await condition(wake), true) : await condition(wake, Math.max(at - Date.now(), 1));
    if (!woke) return 'timeout';
    return freezes.length > 0 && stillWaiting() ? 'freeze' : 'changed';
  }

  async function escalate(to: 1 | 2, why: string | null): Promise<void> {
    const from = state.escalationLevel;
    state.escalationLevel = to;
    levelStart = Date.now();
    state.dueAt = levelStart + plan.escalationWithinMs;
    state.reminded = false;
    const task =
      to === 1
        ? newTask({ kind: 'CONFIRM', level: state.level, escalationLevel: 1, dueAt: state.dueAt, candidateEntityId: plan.receiverEntityId, candidateRole: 'SUPERVISOR' })
        : newTask({ kind: 'CONFIRM', level: state.level, escalationLevel: 2, dueAt: state.dueAt, candidateGroupRole: 'HQ_FINANCE' });
    await persistStep({
      key: stepKey(`escalate-${to}`),
      transfer: { escalationLevel: to, dueAt: state.dueAt },
      createTasks: [task],
      audit: {
        action: 'TRANSFER_ESCALATED',
        actor: null,
        objectType: 'transfer',
        objectId: plan.transferId,
        before: { escalationLevel: from },
        after: { escalationLevel: to, to: ESCALATION_NAMES[to], dueAt: new Date(state.dueAt).toISOString() },
        ...(why ? { reason: why } : {}),
      },
      notifications: [taskNotification('ESCALATED', [task])],
    });
  }

  // An action whose step may still be refused (period frozen) is not an outcome yet: wait for
  // its persist before leaving the loop (patch period-guard-in-persist).
  const pending = () => !finished() || (guardInPersist && busy);
  /**
   * A timer fired while an action is in flight, or in the same activation as its step was
   * written: let it land (or be refused), then look again, instead of acting on the timer.
   */
  const actionLanded = () => guardInPersist && (busy || finished());
  // Not `!finished()`: the loop may come round (after a reminder's or an escalation's step)
  // while an action's step is still being written, and that step may yet be refused.
  while (pending()) {
    const remindAt = state.dueAt - plan.remindBeforeMs;
    if (!state.reminded && remindAt > levelStart) {
      const w = await waitFor(pending, remindAt);
      if (w === 'changed') break;
      if (w === 'freeze') {
        await applyFreezes();
        continue;
      }
      if (actionLanded()) {
        await condition(() => !busy);
        continue;
      }
      state.reminded = true;
      await persistStep({
        key: stepKey('reminder'),
        audit: { action: 'TRANSFER_REMINDER', actor: null, objectType: 'transfer', objectId: plan.transferId, after: { dueAt: new Date(state.dueAt).toISOString(), escalationLevel: state.escalationLevel } },
        notifications: [taskNotification('REMINDER', state.tasks.filter((t) => t.status === 'OPEN'))],
      });
      continue;
    }
    // At HQ finance there is nobody above: wait for an outcome without a deadline.
    const w = await waitFor(pending, state.escalationLevel >= 2 ? null : state.dueAt);
    if (w === 'changed') break;
    if (w === 'freeze') {
      await applyFreezes();
      continue;
    }
    if (busy || actionLanded()) {
      // An action is being persisted right at the deadline: let it land first.
      await condition(() => !busy);
      continue;
    }
    // Deadline lapsed: escalate one level (receiver → supervisor → HQ finance).
    await escalate(state.escalationLevel === 0 ? 1 : 2, null);
  }

  if (state.status === 'DISPUTED' && patched('arbitration')) {
    // The decision that disputed the transfer is still being persisted by its handler:
    // write it first, then the opening of arbitration, so the audit trail reads in the
    // order things happened. Histories recorded before this ran both writes at once.
    if (patched('arbitration-after-decision')) await condition(() => !busy);
    // HQ finance arbitrates, with its own deadline and reminders; the sender may settle
    // it first by correcting its figures.
    const within = plan.arbitrationWithinMs ?? 72 * 3600_000;
    state.arbitrationOpen = true;
    state.dueAt = Date.now() + within;
    const task = newTask({ kind: 'ARBITRATE', level: state.level, escalationLevel: 2, dueAt: state.dueAt, candidateGroupRole: 'HQ_FINANCE' });
    await persistStep({
      key: stepKey('arbitration'),
      transfer: { dueAt: state.dueAt },
      createTasks: [task],
      audit: { action: 'ARBITRATION_OPENED', actor: null, objectType: 'transfer', objectId: plan.transferId, after: { dueAt: new Date(state.dueAt).toISOString(), differences: state.differences } },
      notifications: [
        taskNotification('ARBITRATION_REQUIRED', [task]),
        ...[plan.senderEntityId, plan.receiverEntityId].map((entityId) => ({ kind: 'DISPUTE_OPENED', entityId, recipients: [], payload: { differences: state.differences } })),
      ],
    });
    const disputed = () => state.status === 'DISPUTED' || (guardInPersist && busy);
    let reminded = false;
    let overdue = false;
    while (disputed()) {
      const remindAt = state.dueAt - Math.min(plan.remindBeforeMs, within / 2);
      const at = !reminded ? remindAt : !overdue ? state.dueAt : null;
      const w = await waitFor(disputed, at);
      if (w === 'changed') break;
      if (w === 'freeze') {
        await applyFreezes();
        continue;
      }
      if (guardInPersist && (busy || state.status !== 'DISPUTED')) {
        await condition(() => !busy);
        continue;
      }
      const kind = !reminded ? 'ARBITRATION_REMINDER' : 'ARBITRATION_OVERDUE';
      if (!reminded) reminded = true;
      else overdue = true;
      await persistStep({
        key: stepKey(kind.toLowerCase()),
        audit: { action: kind, actor: null, objectType: 'transfer', objectId: plan.transferId, after: { dueAt: new Date(state.dueAt).toISOString() } },
        notifications: [taskNotification(kind, [task])],
      });
    }
  }
  await condition(allHandlersFinished);
  return state.status;
}
