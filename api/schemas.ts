// TypeBox schemas: the API's types, its validation and its OpenAPI document.
import { Type, type Static } from '@sinclair/typebox';

/** A string enum (rendered as `enum` in OpenAPI), typed as the union of its values. */
export const StringEnum = <T extends string>(values: readonly T[], opts: { description?: string } = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...opts });

export const Decimal = (description: string, opts: { scale?: number } = {}) =>
  Type.String({
    pattern: `^-?\\d{1,14}(\\.\\d{1,${opts.scale ?? 6}})?$`,
    description: `${description} (exact decimal as a string, up to ${opts.scale ?? 6} decimals)`,
    examples: ['1200.50'],
  });
export const DateOnly = Type.String({ format: 'date', description: 'YYYY-MM-DD' });
export const PeriodString = Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'accounting period YYYY-MM', examples: ['2026-11'] });
export const Uuid = Type.String({ format: 'uuid' });
export const EntityCode = Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'entity code, e.g. SH01' });

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    message: Type.String(),
    code: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
    details: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), rule: Type.String(), message: Type.String() }), {
        description: 'one entry per invalid field',
      }),
    ),
  },
  { $id: 'Error', title: 'Error' },
);
export const errorRef = Type.Ref('Error');
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, errorRef]));

export const EntityRef = Type.Object({ id: Uuid, code: Type.String(), name: Type.String() });
export const UserRef = Type.Object({ id: Uuid, name: Type.String() });

export const Me = Type.Object({
  id: Uuid,
  username: Type.String(),
  displayName: Type.String(),
  groupRole: Type.Union([Type.Literal('HQ_FINANCE'), Type.Literal('ADMIN'), Type.Null()]),
  memberships: Type.Array(
    Type.Object({ entity: EntityRef, role: Type.Union([Type.Literal('ACCOUNTANT'), Type.Literal('SUPERVISOR')]) }),
  ),
});

export const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export const LoginResponse = Type.Object({
  token: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresAt: Type.String({ format: 'date-time' }),
  user: Me,
});

export const TransferType = StringEnum(['GOODS', 'SERVICE', 'LOAN', 'COST_ALLOCATION'] as const);
export const TransferStatus = StringEnum(['PENDING', 'CONFIRMED', 'DISPUTED', 'REJECTED', 'WITHDRAWN', 'RESOLVED'] as const);
export const DisputeReason = StringEnum(['QUANTITY', 'PRICE', 'NOT_RECEIVED', 'DUPLICATE', 'WRONG_PERIOD', 'OTHER'] as const);
export const RoutingMode = StringEnum(['SINGLE', 'COUNTERSIGN', 'EITHER_SIGN', 'SEQUENTIAL'] as const);
export const EntityRoleSchema = StringEnum(['ACCOUNTANT', 'SUPERVISOR'] as const);

export const CreateTransferBody = Type.Object(
  {
    senderEntity: EntityCode,
    receiverEntity: EntityCode,
    type: TransferType,
    externalRef: Type.String({ minLength: 1, maxLength: 64, description: "the sender's document number; unique per sender" }),
    quantity: Type.Optional(Decimal('quantity')),
    unit: Type.Optional(Type.String({ minLength: 1, maxLength: 16, description: 'group-standard unit, e.g. PCS, KG, H' })),
    unitPrice: Type.Optional(Decimal('unit price')),
    amount: Decimal('amount', { scale: 2 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' }),
    documentDate: DateOnly,
    period: PeriodString,
    memo: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type CreateTransferBody = Static<typeof CreateTransferBody>;

export const Figures = Type.Object({
  quantity: Type.Union([Type.String(), Type.Null()]),
  unitPrice: Type.Union([Type.String(), Type.Null()]),
  amount: Type.Union([Type.String(), Type.Null()]),
  date: Type.Union([Type.String(), Type.Null()]),
});

export const DifferenceSchema = Type.Object({
  field: Type.String(),
  senderValue: Type.Union([Type.String(), Type.Null()]),
  receiverValue: Type.Union([Type.String(), Type.Null()]),
  delta: Type.Union([Type.String(), Type.Null()]),
});

export const TaskSchema = Type.Object({
  id: Uuid,
  transferId: Uuid,
  kind: Type.String(),
  status: Type.String(),
  level: Type.Integer(),
  escalationLevel: Type.Integer(),
  assignee: Type.Union([UserRef, Type.Null()]),
  delegatedTo: Type.Union([UserRef, Type.Null()]),
  onBehalfOf: Type.Union([UserRef, Type.Null()]),
  candidateEntity: Type.Union([EntityRef, Type.Null()]),
  candidateRole: Type.Union([Type.String(), Type.Null()]),
  candidateGroupRole: Type.Union([Type.String(), Type.Null()]),
  dueAt: Type.String({ format: 'date-time' }),
  timeLeftMs: Type.Integer({ description: 'negative when overdue' }),
  overdue: Type.Boolean(),
  outcome: Type.Union([Type.String(), Type.Null()]),
  actedBy: Type.Union([UserRef, Type.Null()]),
  actedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  comment: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

export const TransferSummary = Type.Object({
  id: Uuid,
  workflowId: Type.String(),
  senderEntity: EntityRef,
  receiverEntity: EntityRef,
  type: TransferType,
  externalRef: Type.String(),
  quantity: Type.Union([Type.String(), Type.Null()]),
  unit: Type.Union([Type.String(), Type.Null()]),
  unitPrice: Type.Union([Type.String(), Type.Null()]),
  amount: Type.String(),
  currency: Type.String(),
  documentDate: Type.String(),
  period: Type.String(),
  memo: Type.Union([Type.String(), Type.Null()]),
  status: TransferStatus,
  dueAt: Type.String({ format: 'date-time' }),
  overdue: Type.Boolean(),
  level: Type.Integer(),
  escalationLevel: Type.Integer(),
  createdBy: UserRef,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const AuditEntry = Type.Object({
  at: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  action: Type.String(),
  objectType: Type.String(),
  objectId: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  before: Type.Unknown(),
  after: Type.Unknown(),
});

export const TransferDetail = Type.Composite([
  TransferSummary,
  Type.Object({
    sender: Figures,
    receiver: Type.Union([Type.Composite([Figures, Type.Object({ receiptRef: Type.Union([Type.String(), Type.Null()]) })]), Type.Null()]),
    differences: Type.Array(DifferenceSchema),
    dispute: Type.Union([
      Type.Object({ reason: Type.Union([Type.String(), Type.Null()]), text: Type.Union([Type.String(), Type.Null()]), proposal: Type.Unknown() }),
      Type.Null(),
    ]),
    rejectReason: Type.Union([Type.String(), Type.Null()]),
    resolution: Type.Union([
      Type.Object({
        decision: StringEnum(['UPHOLD_SENDER', 'UPHOLD_RECEIVER', 'ADJUST'] as const),
        rationale: Type.Union([Type.String(), Type.Null()]),
        quantity: Type.Union([Type.String(), Type.Null()]),
        unitPrice: Type.Union([Type.String(), Type.Null()]),
        amount: Type.Union([Type.String(), Type.Null()]),
        date: Type.Union([Type.String(), Type.Null()]),
        decidedBy: Type.Union([Uuid, Type.Null()]),
      }, { description: "HQ's binding figures, beside both sides' originals" }),
      Type.Null(),
    ]),
    comments: Type.Array(Type.Object({ id: Uuid, author: UserRef, text: Type.String(), createdAt: Type.String({ format: 'date-time' }) })),
    policy: Type.Unknown({ description: 'the approval policy frozen on this transfer' }),
    tasks: Type.Array(TaskSchema),
    timeline: Type.Array(AuditEntry),
    temporalUrl: Type.String({ description: 'this workflow in the Temporal Web UI' }),
  }),
]);

export const ReceiptBody = Type.Object(
  {
    receiptRef: Type.String({ minLength: 1, maxLength: 64, description: "the receiver's receipt document number" }),
    quantity: Type.Optional(Decimal('quantity received')),
    unitPrice: Type.Optional(Decimal('unit price booked')),
    amount: Decimal('amount booked', { scale: 2 }),
    date: DateOnly,
    comment: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export const RejectBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false });
export const DisputeBody = Type.Object(
  {
    reason: DisputeReason,
    text: Type.String({ minLength: 1, maxLength: 2000 }),
    proposal: Type.Optional(
      Type.Object(
        {
          quantity: Type.Optional(Decimal('proposed quantity')),
          unitPrice: Type.Optional(Decimal('proposed unit price')),
          amount: Type.Optional(Decimal('proposed amount', { scale: 2 })),
          date: Type.Optional(DateOnly),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export const WithdrawBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false });
export const CommentBody = Type.Object({ comment: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false });
export const HandOverBody = Type.Object(
  { to: Type.String({ minLength: 1, maxLength: 100, description: 'username of a colleague of the same entity' }), comment: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);

export const ActionResponse = Type.Object({
  status: TransferStatus,
  taskId: Type.Union([Uuid, Type.Null()]),
  differences: Type.Array(DifferenceSchema),
  transfer: TransferDetail,
});

export const IdParams = Type.Object({ id: Uuid });

/** Paging: bounded so that page × pageSize stays a safe offset. */
export const PageNumber = Type.Integer({ minimum: 1, maximum: 100_000, default: 1 });
export const PageSize = (max = 200) => Type.Integer({ minimum: 1, maximum: max, default: 50 });
export const PageQuery = Type.Object({ page: PageNumber, pageSize: PageSize() }, { additionalProperties: false });

export const Page = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), page: Type.Integer(), pageSize: Type.Integer() });

export const PolicyLevel = Type.Union([
  Type.Object({ role: EntityRoleSchema }, { additionalProperties: false }),
  Type.Object({ users: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 20 }) }, { additionalProperties: false }),
]);
export const PolicySchema = Type.Object({
  id: Uuid,
  entity: Type.String({ description: 'receiving entity code' }),
  name: Type.String(),
  transferType: Type.Union([TransferType, Type.Null()]),
  minAmount: Type.Union([Type.String(), Type.Null()]),
  maxAmount: Type.Union([Type.String(), Type.Null()]),
  mode: RoutingMode,
  levels: Type.Array(PolicyLevel),
  priority: Type.Integer(),
  active: Type.Boolean(),
});
export const PolicyInput = Type.Object(
  {
    entity: EntityCode,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    transferType: Type.Optional(Type.Union([TransferType, Type.Null()])),
    minAmount: Type.Optional(Type.Union([Decimal('lower bound (inclusive)', { scale: 2 }), Type.Null()])),
    maxAmount: Type.Optional(Type.Union([Decimal('upper bound (exclusive)', { scale: 2 }), Type.Null()])),
    mode: RoutingMode,
    levels: Type.Array(PolicyLevel, { minItems: 1, maxItems: 10 }),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000 })),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const FiguresBody = Type.Object(
  {
    quantity: Type.Optional(Decimal('quantity')),
    unitPrice: Type.Optional(Decimal('unit price')),
    amount: Decimal('amount', { scale: 2 }),
    date: DateOnly,
  },
  { additionalProperties: false },
);
export const ArbitrateBody = Type.Object(
  {
    decision: StringEnum(['UPHOLD_SENDER', 'UPHOLD_RECEIVER', 'ADJUST'] as const),
    rationale: Type.String({ minLength: 1, maxLength: 4000, description: 'written rationale, shown to both entities' }),
    figures: Type.Optional(FiguresBody),
  },
  { additionalProperties: false },
);
export const CorrectBody = Type.Object(
  {
    quantity: Type.Optional(Decimal('corrected quantity')),
    unitPrice: Type.Optional(Decimal('corrected unit price')),
    amount: Decimal('corrected amount', { scale: 2 }),
    date: DateOnly,
    reason: Type.String({ minLength: 1, maxLength: 1000 }),
  },
  { additionalProperties: false },
);
export const CommentCreateBody = Type.Object({ text: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false });
