import Lozenge from '@atlaskit/lozenge';
import type { CheckView } from '../client/api-schemas';
import { outcomeLabel, ruleText } from '../model/words';

const WORST: readonly CheckView['outcome'][] = ['fail', 'pending', 'pass', 'skip'];

/**
 * Every criterion the evaluation enforced, in the engine's order, with how it came out (the worst
 * outcome of its checks) — shown before the verdict, as `gh attestation verify` does.
 */
export function CriteriaList({ checks }: { checks: readonly CheckView[] }) {
  const byRule = new Map<string, CheckView[]>();
  for (const check of checks) byRule.set(check.rule, [...(byRule.get(check.rule) ?? []), check]);
  if (byRule.size === 0) return <p>No criteria were evaluated.</p>;
  return (
    <div className="cg-table-wrap">
      <table className="cg-table" aria-label="Criteria enforced">
        <thead>
          <tr>
            <th scope="col">Criterion</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {[...byRule.entries()].map(([rule, group]) => {
            const worst = WORST.find((outcome) => group.some((check) => check.outcome === outcome)) ?? 'skip';
            const label = outcomeLabel(worst);
            const failing = group.filter((check) => check.outcome === 'fail').length;
            return (
              <tr key={rule} data-rule={rule} data-outcome={worst}>
                <td>
                  {ruleText(rule)}
                  <div className="cg-muted cg-mono cg-small">{rule}</div>
                </td>
                <td>
                  <Lozenge appearance={label.appearance}>{label.text}</Lozenge>
                  {failing > 1 ? <span className="cg-muted"> ×{failing}</span> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
