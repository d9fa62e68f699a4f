// Types shared by the transfer workflow, its activities and the API. No runtime code
// beyond constants: this file is loaded inside the workflow sandbox too.

export type EntityRole = 'ACCOUNTANT' | 'SUPERVISOR';
export type GroupRole = 'HQ_FINANCE' | 'ADMIN';
export type TransferStatus = 'PENDING' | 'CONFIRMED' | 'DISPUTED' | 'REJECTED' | 'WITHDRAWN' | 'RESOLVED';
export type RoutingMode = 'SINGLE' | 'COUNTERSIGN' | 'EITHER_SIGN' | 'SEQUENTIAL';
export type TaskKind = 'CONFIRM' | 'APPROVE' | 'ARBITRATE';
export type TaskStatus = 'OPEN' | 'DONE' | 'WITHDRAWN' | 'EXPIRED';
export type DisputeReason = 'QUANTITY' | 'PRICE' | 'NOT_RECEIVED' | 'DUPLICATE' | 'WRONG_PERIOD' | 'OTHER';
export const DISPUTE_REASONS: readonly DisputeReason[] = ['QUANTITY', 'PRICE', 'NOT_RECEIVED', 'DUPLICATE', 'WRONG_PERIOD', 'OTHER'];

/** Who is acting, as established by the API from the JWT and the database. */
export interface Actor {
  userId: string;
  name: string;
  groupRole: GroupRole | null;
  memberships: Array<{ entityId: string; role: EntityRole }>;
  ip?: string;
  requestId?: string;
}

/** One side's document figures. Decimals are strings; dates are YYYY-MM-DD. */
export interface DocumentFigures {
  quantity: string | null;
  unitPrice: string | null;
  amount: string;
  date: string;
}

export interface ReceiptDocument extends DocumentFigures {
  receiptRef: string;
}

export interface Difference {
  field: 'quantity' | 'unitPrice' | 'amount' | 'date' | 'period';
  senderValue: string | null;
  receiverValue: string | null;
  /** receiver minus sender (days for dates); null when not numeric. */
  delta: string | null;
}

export interface Tolerance {
  /** Absolute tolerance on quantity. */
  quantity: string;
  /** Absolute tolerance on amount. */
  amount: string;
  /** Percentage tolerance on unit price (e.g. "0.5" = 0.5 %). */
  unitPricePct: string;
  /** Document dates may differ by this many days (and must stay in the period). */
  dateWindowDays: number;
}

/** Who may act on a task: a named assignee, a candidate group, or both. */
export interface TaskCandidates {
  assigneeId?: string | null;
  candidateEntityId?: string | null;
  candidateRole?: EntityRole | null;
  candidateGroupRole?: GroupRole | null;
}

/** One routing level: either a candidate group, or a list of named approvers. */
export interface RoutingLevel {
  candidateEntityId?: string;
  candidateRole?: EntityRole;
  /** Named approvers (COUNTERSIGN / EITHER_SIGN), after out-of-office rerouting. */
  approvers?: Array<{ userId: string; onBehalfOf?: string }>;
}

/** Everything the workflow needs, resolved once by an activity when it starts. */
export interface TransferPlan {
  transferId: string;
  workflowId: string;
  senderEntityId: string;
  receiverEntityId: string;
  hqEntityId: string | null;
  createdById: string;
  period: string;
  sender: DocumentFigures;
  /** How long the receiver has to confirm, from the workflow's start. */
  confirmWithinMs: number;
  remindBeforeMs: number;
  escalationWithinMs: number;
  tolerance: Tolerance;
  policy: { id: string | null; name: string; mode: RoutingMode; levels: RoutingLevel[] };
  /** HQ's time to arbitrate a dispute (absent in plans recorded before arbitration existed). */
  arbitrationWithinMs?: number;
}

export interface TaskView extends TaskCandidates {
  id: string;
  kind: TaskKind;
  status: TaskStatus;
  level: number;
  escalationLevel: number;
  delegatedToId: string | null;
  dueAt: number;
  outcome: string | null;
  actedById: string | null;
}

export interface TransferState {
  status: TransferStatus;
  mode: RoutingMode;
  level: number;
  escalationLevel: number;
  dueAt: number;
  reminded: boolean;
  tasks: TaskView[];
  differences: Difference[];
  /** Accounting period (moves when a frozen period rolls it forward). */
  period?: string;
  /** True while the dispute waits for HQ finance. */
  arbitrationOpen?: boolean;
}

export type Decision =
  | { type: 'confirm'; receipt: ReceiptDocument; comment?: string }
  | { type: 'approve'; comment?: string }
  | { type: 'reject'; reason: string }
  | { type: 'dispute'; reason: DisputeReason; text: string; proposal?: Partial<DocumentFigures> };

/** Result of a user action, returned by the workflow's Update. */
export interface ActionResult {
  status: TransferStatus;
  taskId: string | null;
  differences: Difference[];
}

/** Error types thrown by validators; the API maps them to HTTP statuses. */
export const ErrorType = {
  Forbidden: 'Forbidden', // 403
  Conflict: 'Conflict', // 409
  Invalid: 'Invalid', // 422
  NotFound: 'NotFound', // 404
} as const;

/** A colleague a task is delegated or transferred to (resolved by the API). */
export type Colleague = Pick<Actor, 'userId' | 'name' | 'memberships' | 'groupRole'>;
