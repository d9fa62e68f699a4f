// Messages of the transfer workflow. Defined beside the workflow and imported by
// the API, so both sides agree on names and types.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ActionResult, Actor, Colleague, DisputeReason, DocumentFigures, ReceiptDocument, TransferState } from './types';

export const confirmUpdate = defineUpdate<ActionResult, [{ actor: Actor; receipt: ReceiptDocument; comment?: string }]>('confirm');
export const rejectUpdate = defineUpdate<ActionResult, [{ actor: Actor; reason: string }]>('reject');
export const disputeUpdate = defineUpdate<
  ActionResult,
  [{ actor: Actor; reason: DisputeReason; text: string; proposal?: Partial<DocumentFigures> }]
>('dispute');
export const withdrawUpdate = defineUpdate<ActionResult, [{ actor: Actor; reason?: string }]>('withdraw');
export const approveTaskUpdate = defineUpdate<ActionResult, [{ actor: Actor; taskId: string; comment?: string }]>('approveTask');
export const rejectTaskUpdate = defineUpdate<ActionResult, [{ actor: Actor; taskId: string; reason: string }]>('rejectTask');
export const delegateTaskUpdate = defineUpdate<ActionResult, [{ actor: Actor; taskId: string; to: Colleague; comment?: string }]>(
  'delegateTask',
);
export const transferTaskUpdate = defineUpdate<ActionResult, [{ actor: Actor; taskId: string; to: Colleague; comment?: string }]>(
  'transferTask',
);

export const stateQuery = defineQuery<TransferState>('state');

export type ArbitrationDecision = 'UPHOLD_SENDER' | 'UPHOLD_RECEIVER' | 'ADJUST';
export type FreezeChoice = 'ESCALATE' | 'ROLL_FORWARD';

/** HQ finance decides a dispute. */
export const arbitrateUpdate = defineUpdate<
  ActionResult,
  [{ actor: Actor; decision: ArbitrationDecision; rationale: string; figures?: DocumentFigures }]
>('arbitrate');
/** The sender corrects its own figures while the transfer is disputed; matching runs again. */
export const correctUpdate = defineUpdate<ActionResult, [{ actor: Actor; figures: DocumentFigures; reason: string }]>('correct');
/** Sent by the period freeze workflow to every open transfer of the period. */
export const periodFrozenSignal = defineSignal<[{ period: string; choice: FreezeChoice; toPeriod: string | null; reason: string | null }]>('periodFrozen');
