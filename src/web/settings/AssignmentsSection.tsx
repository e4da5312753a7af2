import Button from '@atlaskit/button/new';
import Form, { Label } from '@atlaskit/form';
import Textfield from '@atlaskit/textfield';
import { useId } from 'react';
import type { Assignment, PolicySummary } from '../client/api-schemas';
import type { ClawgateClient } from '../client/clawgate-client';
import { ChoiceSelect, type Choice } from '../components/ChoiceSelect';
import { ErrorNotice } from '../components/ErrorNotice';
import { useDraft } from '../hooks/use-draft';
import { formatTime, reasonText } from '../model/words';

type Mode = NonNullable<Assignment['mode']>;
interface EditableAssignment {
  repo: string;
  policy_hash_b64u: string;
  mode: Mode | '';
}

function toEditable(list: readonly Assignment[]): EditableAssignment[] {
  return list.map((item) => ({ repo: item.repo, policy_hash_b64u: item.policy_hash_b64u, mode: item.mode ?? '' }));
}

function policyLabel(policy: PolicySummary): string {
  return `${policy.policy_hash_b64u.slice(0, 12)}… (${formatTime(policy.created_at).slice(0, 10)})`;
}

const MODE_CHOICES: readonly Choice<Mode | ''>[] = [
  { value: '', label: 'workspace mode' },
  { value: 'observe', label: 'observe' },
  { value: 'warn', label: 'warn' },
  { value: 'enforce', label: 'enforce' },
];

/** The workspace's policies; a row naming a policy that is not among them keeps it (or asks for one). */
function policyChoices(policies: readonly PolicySummary[], current: string): Choice<string>[] {
  const known = policies.map((policy) => ({ value: policy.policy_hash_b64u, label: policyLabel(policy) }));
  return known.some((choice) => choice.value === current)
    ? known
    : [{ value: current, label: current || 'choose a policy' }, ...known];
}

/** Which policy applies to which repositories: an ordered list of globs; the first match wins. */
export function AssignmentsSection({
  client,
  policies,
  assignments,
  onSaved,
}: {
  client: ClawgateClient;
  policies: readonly PolicySummary[];
  assignments: readonly Assignment[];
  onSaved: (saved: readonly Assignment[]) => void;
}) {
  const id = useId();
  const { draft: rows, dirty, saving, result, change: update, save: saveWith } = useDraft(assignments, toEditable);

  const set = (index: number, patch: Partial<EditableAssignment>): void =>
    update(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  const move = (index: number, by: number): void => {
    const target = index + by;
    if (target < 0 || target >= rows.length) return;
    const next = [...rows];
    const [row] = next.splice(index, 1);
    if (row !== undefined) next.splice(target, 0, row);
    update(next);
  };

  const save = (): void =>
    saveWith(
      (draft) =>
        client.saveAssignments(
          draft.map((row) => ({
            repo: row.repo.trim(),
            policy_hash_b64u: row.policy_hash_b64u,
            mode: row.mode === '' ? null : row.mode,
          })),
        ),
      onSaved,
    );

  return (
    <Form label="Policy assignments" onSubmit={save}>
      <p className="cg-muted">
        Each repository gets the policy of the first row whose glob matches its full name,{' '}
        <code className="cg-mono">workspace/repo</code> (e.g. <code className="cg-mono">acme/payments-*</code>).
      </p>
      {rows.length === 0 ? <p>No assignments: agent PRs fail with “{reasonText('WPC_NOT_ASSIGNED')}”.</p> : null}
      <ol className="cg-assignments">
        {rows.map((row, index) => (
          <li key={index} className="cg-assignment" data-row={index}>
            <div className="cg-field">
              <Label htmlFor={`${id}-repo-${index}`}>Repositories (row {index + 1})</Label>
              <Textfield
                id={`${id}-repo-${index}`}
                value={row.repo}
                onChange={(event) => set(index, { repo: event.currentTarget.value })}
              />
            </div>
            <div className="cg-field">
              <Label htmlFor={`${id}-policy-${index}`}>Policy (row {index + 1})</Label>
              <ChoiceSelect
                inputId={`${id}-policy-${index}`}
                testId={`cg-assignment-policy-${index}`}
                isSearchable
                options={policyChoices(policies, row.policy_hash_b64u)}
                value={row.policy_hash_b64u}
                onChange={(policy_hash_b64u) => set(index, { policy_hash_b64u })}
              />
            </div>
            <div className="cg-field">
              <Label htmlFor={`${id}-mode-${index}`}>Mode (row {index + 1})</Label>
              <ChoiceSelect
                inputId={`${id}-mode-${index}`}
                testId={`cg-assignment-mode-${index}`}
                options={MODE_CHOICES}
                value={row.mode}
                onChange={(mode) => set(index, { mode })}
              />
            </div>
            <div className="cg-actions">
              <Button
                appearance="subtle"
                isDisabled={index === 0}
                aria-label={`Move row ${index + 1} up`}
                onClick={() => move(index, -1)}
              >
                Up
              </Button>
              <Button
                appearance="subtle"
                isDisabled={index === rows.length - 1}
                aria-label={`Move row ${index + 1} down`}
                onClick={() => move(index, 1)}
              >
                Down
              </Button>
              <Button
                appearance="subtle"
                aria-label={`Remove row ${index + 1}`}
                onClick={() => update(rows.filter((_, i) => i !== index))}
              >
                Remove
              </Button>
            </div>
          </li>
        ))}
      </ol>
      <div className="cg-actions">
        <Button
          isDisabled={policies.length === 0}
          onClick={() =>
            update([
              ...rows,
              { repo: '', policy_hash_b64u: policies[policies.length - 1]?.policy_hash_b64u ?? '', mode: '' },
            ])
          }
        >
          Add assignment
        </Button>
        <Button type="submit" appearance="primary" isLoading={saving} isDisabled={!dirty}>
          Save assignments
        </Button>
        <span role="status" className="cg-muted">
          {dirty
            ? 'Unsaved changes.'
            : result?.ok === true
              ? 'Assignments saved; open agent pull requests are re-evaluated now (newest first).'
              : ''}
        </span>
      </div>
      {result !== null && !result.ok ? (
        <ErrorNotice error={result.error} title="The assignments were not saved" />
      ) : null}
    </Form>
  );
}
