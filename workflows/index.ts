// Workflows registered on the worker. Sandbox code only (see README, "Architecture").
export { transferWorkflow } from './transfer';
export { periodFreezeWorkflow, cycleCloseWorkflow } from './period';
export { robotDeliveryWorkflow } from './robot';
