import Lozenge from '@atlaskit/lozenge';
import type { VerdictView } from '../client/api-schemas';
import { buildTimeline, type TimelineEntry } from '../model/timeline';
import { formatTime, reasonText } from '../model/words';
import { Mono } from './Mono';

const KIND_TEXT: Record<TimelineEntry['kind'], string> = {
  model_call: 'Model call',
  tool_call: 'Tool call',
  side_effect: 'Side effect',
  approval: 'Approval',
};

function count(value: number | undefined): string {
  return value === undefined ? '—' : value.toLocaleString('en');
}

function latency(ms: number | undefined): string {
  return ms === undefined ? '—' : `${count(ms)} ms`;
}

/** The receipt's id, when it has one: the last fact of every entry. */
function ReceiptIdFact({ receiptId }: { receiptId: string | undefined }) {
  if (receiptId === undefined) return null;
  return (
    <>
      <dt>Receipt</dt>
      <dd>
        <Mono value={receiptId} short />
      </dd>
    </>
  );
}

function Entry({ entry }: { entry: TimelineEntry }) {
  switch (entry.kind) {
    case 'model_call': {
      const r = entry.receipt;
      return (
        <>
          <div className="cg-timeline-title">
            {r.provider ?? 'unknown provider'} / {r.model ?? 'unknown model'}
          </div>
          <dl className="cg-facts">
            <dt>Tokens in / out</dt>
            <dd>
              {count(r.tokensInput)} / {count(r.tokensOutput)}
            </dd>
            <dt>Latency</dt>
            <dd>{latency(r.latencyMs)}</dd>
            <dt>Gateway</dt>
            <dd>
              {r.signerDid !== undefined ? <Mono value={r.signerDid} short /> : 'unsigned'}{' '}
              {r.trusted ? (
                <Lozenge appearance="success">trusted</Lozenge>
              ) : (
                <Lozenge appearance="removed">not trusted</Lozenge>
              )}
            </dd>
            {r.counted === false && r.code !== undefined ? (
              <>
                <dt>Not counted</dt>
                <dd>{reasonText(r.code)}</dd>
              </>
            ) : null}
            <ReceiptIdFact receiptId={r.receiptId} />
          </dl>
        </>
      );
    }
    case 'tool_call': {
      const r = entry.receipt;
      return (
        <>
          <div className="cg-timeline-title">{r.toolName ?? 'unnamed tool'}</div>
          <dl className="cg-facts">
            <dt>Latency</dt>
            <dd>{latency(r.latencyMs)}</dd>
            <dt>Signed</dt>
            <dd>{r.signed ? 'yes' : 'no'}</dd>
            <ReceiptIdFact receiptId={r.receiptId} />
          </dl>
        </>
      );
    }
    case 'side_effect':
    case 'approval': {
      const r = entry.receipt;
      return (
        <>
          <div className="cg-timeline-title">{r.category?.replace(/_/g, ' ') ?? 'unclassified'}</div>
          <dl className="cg-facts">
            {r.target !== undefined ? (
              <>
                <dt>Target</dt>
                <dd>
                  <Mono value={r.target} short />
                </dd>
              </>
            ) : null}
            {r.approverSubject !== undefined ? (
              <>
                <dt>Approver</dt>
                <dd>{r.approverSubject}</dd>
              </>
            ) : null}
            <ReceiptIdFact receiptId={r.receiptId} />
          </dl>
        </>
      );
    }
  }
}

/** What the agent did, oldest first: model calls (with their gateway and its trust), tool calls, side effects, approvals. */
export function ReceiptsTimeline({ receipts }: { receipts: VerdictView['receipts'] }) {
  const entries = buildTimeline(receipts);
  if (entries.length === 0) return <p>The bundle holds no receipts.</p>;
  return (
    <ol className="cg-timeline" aria-label="Receipts timeline">
      {entries.map((entry, index) => (
        <li
          key={`${entry.kind}:${entry.receipt.index}:${index}`}
          className={`cg-timeline-entry cg-timeline-${entry.kind}`}
          data-kind={entry.kind}
        >
          <div className="cg-timeline-meta">
            <Lozenge
              appearance={entry.kind === 'model_call' ? 'new' : entry.kind === 'side_effect' ? 'moved' : 'default'}
            >
              {KIND_TEXT[entry.kind]}
            </Lozenge>
            <time dateTime={entry.at}>{formatTime(entry.at)}</time>
          </div>
          <Entry entry={entry} />
        </li>
      ))}
    </ol>
  );
}
