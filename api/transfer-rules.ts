// The rules a new transfer must satisfy, as pure functions returning { field, reason }
// instead of throwing, so that the bulk import can report every line. The messages are
// the ones POST /api/transfers gives (api/transfers-service.ts createTransfer), which
// could call these functions and throw the first error instead of repeating the checks.
import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import Decimal from 'decimal.js';
import { CreateTransferBody } from './schemas';
import { amountConsistent } from '../workflows/matching';
import type { Actor } from '../workflows/types';

export interface FieldError {
  field: string;
  reason: string;
}

// ---- shape (the JSON schema of POST /api/transfers) ---------------------------------------

// Same settings as the API's body validator (api/plugins/validation.ts): no type coercion,
// so an amount sent as a JSON number is refused, as it is by POST /api/transfers.
const ajv = addFormats(new Ajv({ allErrors: true, useDefaults: false, removeAdditional: false, strict: false, coerceTypes: false }));
const validateBody = ajv.compile<CreateTransferBody>(CreateTransferBody);

const DECIMAL_FIELDS: Record<string, number> = { quantity: 6, unitPrice: 6, amount: 2 };

function reasonFor(field: string, e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'unknown field';
    case 'type':
      return field in DECIMAL_FIELDS ? 'must be a decimal written as a string, e.g. "1200.50" (a JSON number is a binary float)' : `must be a ${e.params.type}`;
    case 'enum':
      return `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
    case 'format':
      return e.params.format === 'date' ? 'must be a date YYYY-MM-DD' : `must be a ${e.params.format}`;
    case 'minLength':
      return e.params.limit === 1 ? 'must not be empty' : `must be at least ${e.params.limit} characters`;
    case 'maxLength':
      return `must be at most ${e.params.limit} characters`;
    case 'pattern':
      if (field in DECIMAL_FIELDS) {
        return `must be an exact decimal: digits with an optional "." and up to ${DECIMAL_FIELDS[field]} decimals, no thousands separators (e.g. 1200.50)`;
      }
      if (field === 'period') return 'must be an accounting period YYYY-MM';
      if (field === 'currency') return 'must be an ISO 4217 code of 3 capital letters, e.g. CNY';
      if (field === 'senderEntity' || field === 'receiverEntity') return 'must be an entity code (letters, digits, _ or -, at most 32)';
      return `must match ${e.params.pattern}`;
    default:
      return e.message ?? 'is invalid';
  }
}

/**
 * Checks one transfer against the schema of POST /api/transfers. Returns the body typed
 * when valid, else one error per field (the first rule it breaks).
 */
export function checkShape(input: unknown): { ok: true; body: CreateTransferBody } | { ok: false; errors: FieldError[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: '(line)', reason: 'must be an object with the fields of a transfer' }] };
  }
  if (validateBody(input)) return { ok: true, body: input };
  const byField = new Map<string, FieldError>();
  for (const e of validateBody.errors ?? []) {
    const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const extra = (e.params.missingProperty ?? e.params.additionalProperty) as string | undefined;
    const field = [base, extra].filter(Boolean).join('.') || '(line)';
    if (!byField.has(field)) byField.set(field, { field, reason: reasonFor(field, e) });
  }
  return { ok: false, errors: [...byField.values()] };
}

// ---- business rules -----------------------------------------------------------------

export interface EntityInfo {
  id: string;
  code: string;
  groupId: string;
}

/**
 * Only an accountant of the sender creates its transfers. `notFound` when the caller may
 * not even know the entity (createTransfer answers 404), else `forbidden` (403).
 */
export function senderAccess(actor: Actor, sender: EntityInfo | null | undefined, code: string): { kind: 'notFound' | 'forbidden'; error: FieldError } | null {
  const isAccountant = !!sender && actor.memberships.some((m) => m.entityId === sender.id && m.role === 'ACCOUNTANT');
  if (isAccountant) return null;
  if (!sender || (!actor.groupRole && !actor.memberships.some((m) => m.entityId === sender.id))) {
    return { kind: 'notFound', error: { field: 'senderEntity', reason: `no entity ${code} among yours` } };
  }
  return { kind: 'forbidden', error: { field: 'senderEntity', reason: `only an accountant of ${sender.code} can create its transfers` } };
}

/** The receiver exists in the sender's group and is another entity. */
export function receiverError(sender: EntityInfo, receiver: EntityInfo | null | undefined, code: string): FieldError | null {
  if (!receiver || receiver.groupId !== sender.groupId) return { field: 'receiverEntity', reason: `no entity ${code} in the group` };
  if (receiver.id === sender.id) return { field: 'receiverEntity', reason: 'must differ from senderEntity' };
  return null;
}

/**
 * Quantity and unit price go together, quantity is positive, amount = quantity × unit
 * price to the cent, a unit comes with a quantity. Every broken rule, in that order.
 */
export function figureErrors(body: Pick<CreateTransferBody, 'quantity' | 'unitPrice' | 'amount' | 'unit'>): FieldError[] {
  const quantity = body.quantity ?? null;
  const unitPrice = body.unitPrice ?? null;
  if ((quantity === null) !== (unitPrice === null)) {
    return [{ field: quantity === null ? 'quantity' : 'unitPrice', reason: 'quantity and unitPrice go together: give both or neither' }];
  }
  const out: FieldError[] = [];
  if (quantity !== null && new Decimal(quantity).lte(0)) out.push({ field: 'quantity', reason: 'must be positive' });
  if (!amountConsistent(quantity, unitPrice, body.amount)) {
    const expected = new Decimal(quantity!).times(unitPrice!).toDecimalPlaces(2).toFixed(2);
    out.push({ field: 'amount', reason: `must equal quantity × unitPrice = ${expected} (to the cent)` });
  }
  if (quantity !== null && !body.unit) out.push({ field: 'unit', reason: 'required when quantity is given' });
  return out;
}

export const frozenPeriodError = (period: string): FieldError => ({ field: 'period', reason: `period ${period} is frozen: no new transfers can be booked in it` });
