// Shapes of the HQ endpoints' JSON (api/routes/{periods,reports,channels,notifications,policies}.ts
// are the source of truth; keep in step).
import type { EntityRef } from '../core/session';

export type FreezeChoice = 'ESCALATE' | 'ROLL_FORWARD';
export const FREEZE_CHOICES: FreezeChoice[] = ['ESCALATE', 'ROLL_FORWARD'];

/** GET /api/periods */
export interface PeriodView {
  period: string;
  status: 'OPEN' | 'FROZEN';
  choice: FreezeChoice | null;
  changedAt: string | null;
  reason: string | null;
  /** PENDING or DISPUTED transfers booked in the period: what a freeze affects */
  openTransfers: number;
}
/** POST /api/periods/:period/freeze: 200 done, 202 still running */
export type FreezeResult = (PeriodView & { toPeriod: string | null; moved: number }) | { workflowId: string; status: 'RUNNING' };

/** GET /api/entities/:code/payment-status */
export interface PaymentStatus {
  entity: EntityRef;
  paymentsFrozen: boolean;
  mayRaisePaymentRequests: boolean;
  since: string | null;
  cycle: string | null;
  reasons: Array<{ transferId: string; externalRef: string; counterparty: string; amount: string; currency: string; dueAt: string; status: string }>;
}

// ---- GET /api/reports/reconciliation ------------------------------------------------
export const REPORT_STATUSES = ['PENDING', 'CONFIRMED', 'DISPUTED', 'REJECTED', 'WITHDRAWN', 'RESOLVED'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];
export const BUCKETS = ['0-2d', '2-7d', '7-30d', '>30d'] as const;
export type Bucket = (typeof BUCKETS)[number];
export type Grade = 'RED' | 'AMBER' | 'GREEN';
export interface StatusCell {
  count: number;
  amountGroup: string;
  amounts: Array<{ currency: string; amount: string }>;
}
export interface AgeCell {
  count: number;
  amountGroup: string;
}
export interface PairReport {
  sender: EntityRef;
  receiver: EntityRef;
  byStatus: Record<ReportStatus, StatusCell>;
  overdue: number;
  ageing: Record<Bucket, AgeCell>;
  openDifference: string;
  grade: Grade;
  missingFxRates: string[];
}
export interface ReconciliationReport {
  period: string;
  group: string;
  groupCurrency: string;
  thresholds: { amber: string; red: string };
  generatedAt: string;
  pairs: PairReport[];
  totals: { byStatus: Record<ReportStatus, StatusCell>; overdue: number; ageing: Record<Bucket, AgeCell>; openDifference: string; missingFxRates: string[] };
}

// ---- robots ---------------------------------------------------------------------------
export interface Channel {
  id: string;
  entity: string;
  kind: 'WECOM' | 'DINGTALK';
  name: string;
  webhookUrl: string;
  hasSecret: boolean;
  keywords: string[];
  language: 'zh' | 'en';
  active: boolean;
  deliveries: { pending: number; sent: number; failed: number };
  createdAt: string;
  updatedAt: string;
}
export interface Delivery {
  id: string;
  robot: { id: string; name: string; kind: 'WECOM' | 'DINGTALK'; removed: boolean };
  status: 'PENDING' | 'SENDING' | 'SENT' | 'FAILED';
  attempts: number;
  messageId: string | null;
  lastError: string | null;
  sentAt: string | null;
  updatedAt: string;
}
export interface Notification {
  id: string;
  kind: string;
  transferId: string | null;
  entity: EntityRef | null;
  status: string;
  createdAt: string;
  payload: unknown;
  deliveries: Delivery[];
}

// ---- approval policies --------------------------------------------------------------------
export type RoutingMode = 'SINGLE' | 'COUNTERSIGN' | 'EITHER_SIGN' | 'SEQUENTIAL';
export const ROUTING_MODES: RoutingMode[] = ['SINGLE', 'COUNTERSIGN', 'EITHER_SIGN', 'SEQUENTIAL'];
export type PolicyLevel = { role: 'ACCOUNTANT' | 'SUPERVISOR' } | { users: string[] };
export interface Policy {
  id: string;
  entity: string;
  name: string;
  transferType: string | null;
  minAmount: string | null;
  maxAmount: string | null;
  mode: RoutingMode;
  levels: PolicyLevel[];
  priority: number;
  active: boolean;
}
