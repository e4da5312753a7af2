import Lozenge from '@atlaskit/lozenge';
import type { CheckView } from '../client/api-schemas';
import { evidencePairs, failingFirst, outcomeLabel, reasonText, ruleText, subjectText } from '../model/words';

/** One check: why (the reason in words), which criterion, and the file or receipt it concerns. */
function CheckItem({ check }: { check: CheckView }) {
  const outcome = outcomeLabel(check.outcome);
  const subject = subjectText(check.subject);
  const evidence = evidencePairs(check.evidence);
  return (
    <li className={`cg-check cg-check-${check.outcome}`} data-code={check.code} data-rule={check.rule}>
      <div className="cg-check-head">
        <Lozenge appearance={outcome.appearance}>{outcome.text}</Lozenge>
        <strong>
          {check.outcome === 'pass' || check.outcome === 'skip' ? ruleText(check.rule) : reasonText(check.code)}
        </strong>
      </div>
      {check.outcome === 'fail' || check.outcome === 'pending' ? (
        <div className="cg-check-rule">Criterion: {ruleText(check.rule)}</div>
      ) : null}
      {subject !== null ? (
        <div className="cg-check-subject">
          Concerns: <span className="cg-mono">{subject}</span>
        </div>
      ) : null}
      {evidence.length > 0 && check.outcome !== 'pass' ? (
        <div className="cg-check-evidence">
          {evidence.map(([key, value]) => (
            <span key={key}>
              {key}: <span className="cg-mono">{value}</span>
            </span>
          ))}
        </div>
      ) : null}
      <div className="cg-check-code cg-muted">
        <span className="cg-mono">{check.rule}</span> · <span className="cg-mono">{check.code}</span>
      </div>
    </li>
  );
}

/**
 * Failing checks first (then waiting ones), each explained; the criteria that held are folded away
 * below unless `expanded`: every failure is explained, the rest is one click away.
 */
export function CheckList({ checks, label }: { checks: readonly CheckView[]; label: string }) {
  const ordered = failingFirst(checks);
  const open = ordered.filter((check) => check.outcome === 'fail' || check.outcome === 'pending');
  const rest = ordered.filter((check) => check.outcome === 'pass' || check.outcome === 'skip');
  return (
    <div className="cg-checks">
      {open.length > 0 ? (
        <ul className="cg-check-list" aria-label={label}>
          {open.map((check, index) => (
            <CheckItem key={`${check.rule}:${check.code}:${index}`} check={check} />
          ))}
        </ul>
      ) : (
        <p>Every criterion that applied holds.</p>
      )}
      {rest.length > 0 ? (
        <details className="cg-fold">
          <summary>
            {rest.length} {rest.length === 1 ? 'criterion' : 'criteria'} that held or did not apply
          </summary>
          <ul className="cg-check-list" aria-label="Criteria that held or did not apply">
            {rest.map((check, index) => (
              <CheckItem key={`${check.rule}:${check.code}:${index}`} check={check} />
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}
