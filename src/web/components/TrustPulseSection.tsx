import Lozenge from '@atlaskit/lozenge';
import type { TrustPulseView } from '../client/api-schemas';
import { DataTable, rowAttributes } from './DataTable';
import { formatDuration, TRUST_PULSE_STATUS, trustPulseProblemText } from '../model/trust-pulse-words';

function PathList({ title, paths, kind }: { title: string; paths: readonly string[]; kind: string }) {
  if (paths.length === 0) return null;
  return (
    <div className="cg-pulse-list" data-pulse-list={kind}>
      <h4>
        {title} ({paths.length})
      </h4>
      <ul>
        {paths.map((p) => (
          <li key={p}>
            <code>{p}</code>
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * The Trust Pulse, under "self-reported by the agent's harness": its status (bound to the run or not),
 * tools with call counts, the run's duration, and the comparison with the PR's diff (`compact` for the
 * PR panel).
 */
export function TrustPulseSection({
  pulse,
  compact = false,
}: {
  pulse: TrustPulseView | null | undefined;
  compact?: boolean;
}) {
  const status = pulse?.status ?? 'absent';
  const words = TRUST_PULSE_STATUS[status];
  const problem = trustPulseProblemText(pulse?.problem);
  const summary = pulse?.summary ?? null;
  const comparison = pulse?.comparison ?? null;
  const denied = comparison?.reported_denied ?? [];
  return (
    <div className="cg-pulse" data-pulse-status={status}>
      <p className="cg-pulse-badge">
        <Lozenge appearance={words.appearance}>{words.text}</Lozenge>{' '}
        <span className="cg-muted">Self-reported by the agent&apos;s harness. {words.explanation}</span>
      </p>
      {problem !== null ? <p className="cg-pulse-problem">Why: {problem}.</p> : null}
      {summary !== null ? (
        <>
          <dl className="cg-facts">
            <dt>Duration</dt>
            <dd>{formatDuration(summary.duration_ms)}</dd>
            <dt>Files reported</dt>
            <dd>{summary.files.length}</dd>
          </dl>
          {summary.tools.length > 0 ? (
            <DataTable
              className="cg-pulse-tools"
              caption="Tools the harness reports using"
              head={[
                { key: 'tool', content: 'Tool' },
                { key: 'calls', content: 'Calls' },
              ]}
              rows={summary.tools.map((tool) => ({
                key: tool.name,
                ...rowAttributes({ 'data-tool': tool.name }),
                cells: [
                  { key: tool.name, content: <code>{tool.name}</code> },
                  { key: tool.calls, content: tool.calls.toLocaleString('en-US') },
                ],
              }))}
            />
          ) : (
            <p>No tools reported.</p>
          )}
        </>
      ) : null}
      {comparison !== null ? (
        <div className="cg-pulse-compare">
          <h3 className={compact ? 'cg-h4' : undefined}>Compared with the pull request&apos;s diff</h3>
          {comparison.unreported_diff_paths.length +
            comparison.reported_not_in_diff.length +
            denied.length +
            comparison.redacted.length ===
          0 ? (
            <p>The pulse and the diff name the same files.</p>
          ) : null}
          <PathList
            title="Changed in the PR, never mentioned by the pulse"
            paths={comparison.unreported_diff_paths}
            kind="unreported"
          />
          <PathList
            title="Reported by the pulse, not in the PR's diff"
            paths={comparison.reported_not_in_diff}
            kind="not-in-diff"
          />
          {denied.length > 0 ? (
            <div className="cg-pulse-list" data-pulse-list="denied">
              <h4>Reported touching paths the policy denies ({denied.length})</h4>
              <ul>
                {denied.map((d) => (
                  <li key={d.path}>
                    <code>{d.path}</code> <span className="cg-muted">(denied by {d.glob})</span>
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
          <PathList title="Redacted by the harness: not comparable" paths={comparison.redacted} kind="redacted" />
        </div>
      ) : null}
    </div>
  );
}
