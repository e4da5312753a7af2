import Lozenge from '@atlaskit/lozenge';
import type { CheckView } from '../client/api-schemas';
import { outcomeLabel, ruleText } from '../model/words';
import { DataTable, rowAttributes, type RowType } from './DataTable';

const WORST: readonly CheckView['outcome'][] = ['fail', 'pending', 'pass', 'skip'];

/**
 * Every criterion the evaluation enforced, in the engine's order, with how it came out (the worst
 * outcome of its checks) — shown before the verdict, as `gh attestation verify` does.
 */
export function CriteriaList({ checks }: { checks: readonly CheckView[] }) {
  const byRule = new Map<string, CheckView[]>();
  for (const check of checks) byRule.set(check.rule, [...(byRule.get(check.rule) ?? []), check]);
  if (byRule.size === 0) return <p>No criteria were evaluated.</p>;
  const rows: RowType[] = [...byRule.entries()].map(([rule, group]) => {
    const worst = WORST.find((outcome) => group.some((check) => check.outcome === outcome)) ?? 'skip';
    const label = outcomeLabel(worst);
    const failing = group.filter((check) => check.outcome === 'fail').length;
    return {
      key: rule,
      ...rowAttributes({ 'data-rule': rule, 'data-outcome': worst }),
      cells: [
        {
          key: rule,
          content: (
            <>
              {ruleText(rule)}
              <div className="cg-muted cg-mono cg-small">{rule}</div>
            </>
          ),
        },
        {
          key: worst,
          content: (
            <>
              <Lozenge appearance={label.appearance}>{label.text}</Lozenge>
              {failing > 1 ? <span className="cg-muted"> ×{failing}</span> : null}
            </>
          ),
        },
      ],
    };
  });
  return (
    <DataTable
      label="Criteria enforced"
      head={[
        { key: 'criterion', content: 'Criterion' },
        { key: 'outcome', content: 'Outcome' },
      ]}
      rows={rows}
    />
  );
}
