// Shapes of the API's JSON (api/schemas.ts is the source of truth; keep in step).
import type { EntityRef } from './session';

export interface UserRef {
  id: string;
  name: string;
}
export type TransferStatus = 'PENDING' | 'CONFIRMED' | 'DISPUTED' | 'REJECTED' | 'WITHDRAWN' | 'RESOLVED';
export type TransferType = 'GOODS' | 'SERVICE' | 'LOAN' | 'COST_ALLOCATION';
export const TRANSFER_TYPES: TransferType[] = ['GOODS', 'SERVICE', 'LOAN', 'COST_ALLOCATION'];
export const DISPUTE_REASONS = ['QUANTITY', 'PRICE', 'NOT_RECEIVED', 'DUPLICATE', 'WRONG_PERIOD', 'OTHER'] as const;

export interface TransferSummary {
  id: string;
  workflowId: string;
  senderEntity: EntityRef;
  receiverEntity: EntityRef;
  type: TransferType;
  externalRef: string;
  quantity: string | null;
  unit: string | null;
  unitPrice: string | null;
  amount: string;
  currency: string;
  documentDate: string;
  period: string;
  memo: string | null;
  status: TransferStatus;
  dueAt: string;
  overdue: boolean;
  level: number;
  escalationLevel: number;
  createdBy: UserRef;
  createdAt: string;
  updatedAt: string;
}

export interface Task {
  id: string;
  transferId: string;
  kind: string;
  status: string;
  level: number;
  escalationLevel: number;
  assignee: UserRef | null;
  delegatedTo: UserRef | null;
  onBehalfOf: UserRef | null;
  candidateEntity: EntityRef | null;
  candidateRole: string | null;
  candidateGroupRole: string | null;
  dueAt: string;
  timeLeftMs: number;
  overdue: boolean;
  outcome: string | null;
  actedBy: UserRef | null;
  actedAt: string | null;
  comment: string | null;
  createdAt: string;
}
export interface MyTask extends Task {
  transfer: TransferSummary;
}

export interface Figures {
  quantity: string | null;
  unitPrice: string | null;
  amount: string | null;
  date: string | null;
}
export interface Difference {
  field: string;
  senderValue: string | null;
  receiverValue: string | null;
  delta: string | null;
}
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  objectType: string;
  objectId: string;
  reason: string | null;
  before: unknown;
  after: unknown;
}
export interface TransferDetail extends TransferSummary {
  sender: Figures;
  receiver: (Figures & { receiptRef: string | null }) | null;
  differences: Difference[];
  dispute: { reason: string | null; text: string | null; proposal: unknown } | null;
  rejectReason: string | null;
  resolution: (Figures & { decision: string; rationale: string | null; decidedBy: string | null }) | null;
  comments: Array<{ id: string; author: UserRef; text: string; createdAt: string }>;
  policy: unknown;
  tasks: Task[];
  timeline: AuditEntry[];
  temporalUrl: string;
}
export interface TransferActions {
  confirm: boolean;
  reject: boolean;
  dispute: boolean;
  withdraw: boolean;
  correct: boolean;
  arbitrate: boolean;
  comment: boolean;
  tasks: Array<{ taskId: string; kind: string; approve: boolean; reject: boolean; delegate: boolean; transfer: boolean }>;
  colleagues: Array<{ username: string; name: string }>;
}
export interface Page<T> {
  items: T[];
  total: number;
  /** GET /api/tasks only: more open tasks than it counts (total is the cap). */
  totalCapped?: boolean;
  page: number;
  pageSize: number;
}

export const STATUS_TONE: Record<TransferStatus, 'red' | 'amber' | 'green' | 'blue' | 'grey'> = {
  PENDING: 'blue',
  CONFIRMED: 'green',
  DISPUTED: 'amber',
  REJECTED: 'red',
  WITHDRAWN: 'grey',
  RESOLVED: 'green',
};
