import type { AnchoredReceiptView, GatewayReceiptView, ToolReceiptView, VerdictView } from '../client/api-schemas';

/** One line of the receipts timeline: what the agent did, in time order. */
export type TimelineEntry =
  | { readonly kind: 'model_call'; readonly at: string | undefined; readonly receipt: GatewayReceiptView }
  | { readonly kind: 'tool_call'; readonly at: string | undefined; readonly receipt: ToolReceiptView }
  | { readonly kind: 'side_effect'; readonly at: string | undefined; readonly receipt: AnchoredReceiptView }
  | { readonly kind: 'approval'; readonly at: string | undefined; readonly receipt: AnchoredReceiptView };

function millis(at: string | undefined): number {
  const value = at === undefined ? Number.NaN : Date.parse(at);
  return Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
}

/** Every receipt of the bundle, oldest first; receipts without a readable time go last, in bundle order. */
export function buildTimeline(receipts: VerdictView['receipts']): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    ...receipts.gateway.map((receipt): TimelineEntry => ({
      kind: 'model_call',
      at: receipt.timestamp ?? receipt.issuedAt,
      receipt,
    })),
    ...receipts.tools.map((receipt): TimelineEntry => ({ kind: 'tool_call', at: receipt.timestamp, receipt })),
    ...receipts.sideEffects.map((receipt): TimelineEntry => ({ kind: 'side_effect', at: receipt.timestamp, receipt })),
    ...receipts.approvals.map((receipt): TimelineEntry => ({ kind: 'approval', at: receipt.timestamp, receipt })),
  ];
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => millis(a.entry.at) - millis(b.entry.at) || a.index - b.index)
    .map((item) => item.entry);
}
