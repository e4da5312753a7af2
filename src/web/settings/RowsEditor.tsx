import Button from '@atlaskit/button/new';
import { Label } from '@atlaskit/form';
import Textfield from '@atlaskit/textfield';
import { useId, useState } from 'react';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { DataTable } from '../components/DataTable';
import type { Row } from './settings-draft';

/**
 * A small editor for a list of records (trusted gateways, issuers, agents, revocations): a table of
 * the rows with a Remove button each, and a form that adds one. Every control has a visible label.
 * Values are kept as text; the server validates them and answers field paths for any it refuses.
 */

export interface FieldSpec {
  readonly key: string;
  readonly label: string;
  readonly placeholder?: string;
  /** A choice instead of free text. */
  readonly options?: readonly string[];
  readonly optional?: boolean;
}

export type { Row };

export interface RowsEditorProps {
  readonly title: string;
  readonly description: string;
  readonly fields: readonly FieldSpec[];
  readonly rows: readonly Row[];
  readonly onChange: (rows: Row[]) => void;
  /** What one row is called, for button labels ("gateway"). */
  readonly noun: string;
}

function emptyRow(fields: readonly FieldSpec[]): Record<string, string> {
  return Object.fromEntries(fields.map((field) => [field.key, field.options?.[0] ?? '']));
}

export function RowsEditor({ title, description, fields, rows, onChange, noun }: RowsEditorProps) {
  const id = useId();
  const [draft, setDraft] = useState<Record<string, string>>(() => emptyRow(fields));
  const [problem, setProblem] = useState<string | null>(null);

  const add = (): void => {
    const missing = fields.filter((field) => field.optional !== true && (draft[field.key] ?? '').trim() === '');
    if (missing.length > 0) {
      setProblem(`Fill in ${missing.map((field) => field.label).join(', ')} first.`);
      return;
    }
    onChange([...rows, Object.fromEntries(fields.map((field) => [field.key, (draft[field.key] ?? '').trim()]))]);
    setDraft(emptyRow(fields));
    setProblem(null);
  };

  return (
    <fieldset className="cg-editor">
      <legend>{title}</legend>
      <p className="cg-muted">{description}</p>
      {rows.length === 0 ? (
        <p>None.</p>
      ) : (
        <DataTable
          label={title}
          head={[
            ...fields.map((field) => ({ key: field.key, content: field.label })),
            { key: 'actions', content: <span className="cg-visually-hidden">Actions</span> },
          ]}
          rows={rows.map((row, index) => ({
            key: `${index}:${fields.map((field) => row[field.key] ?? '').join('|')}`,
            cells: [
              ...fields.map((field) => ({
                key: row[field.key] ?? '',
                content: (
                  <span className="cg-mono">
                    {row[field.key] === '' || row[field.key] === undefined ? '—' : row[field.key]}
                  </span>
                ),
              })),
              {
                content: (
                  <Button
                    appearance="subtle"
                    aria-label={`Remove ${noun} ${index + 1}`}
                    onClick={() => onChange(rows.filter((_, i) => i !== index))}
                  >
                    Remove
                  </Button>
                ),
              },
            ],
          }))}
        />
      )}
      <div className="cg-add-row" role="group" aria-label={`Add a ${noun}`}>
        {fields.map((field) => (
          <div key={field.key} className="cg-field">
            <Label htmlFor={`${id}-${field.key}`}>
              {field.label}
              {field.optional === true ? ' (optional)' : ''}
            </Label>
            {field.options !== undefined ? (
              <ChoiceSelect
                inputId={`${id}-${field.key}`}
                options={field.options.map((option) => ({ value: option, label: option }))}
                value={draft[field.key] ?? ''}
                onChange={(value) => setDraft({ ...draft, [field.key]: value })}
              />
            ) : (
              <Textfield
                id={`${id}-${field.key}`}
                value={draft[field.key] ?? ''}
                placeholder={field.placeholder}
                onChange={(event) => setDraft({ ...draft, [field.key]: event.currentTarget.value })}
                onKeyDown={(event) => {
                  if (event.key === 'Enter') {
                    event.preventDefault();
                    add();
                  }
                }}
              />
            )}
          </div>
        ))}
        <Button onClick={add}>Add {noun}</Button>
      </div>
      {problem !== null ? (
        <p className="cg-problem" role="alert">
          {problem}
        </p>
      ) : null}
    </fieldset>
  );
}
