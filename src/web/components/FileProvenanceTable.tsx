import Lozenge from '@atlaskit/lozenge';
import type { FileView } from '../client/api-schemas';
import { provenanceOf } from '../model/words';
import { DataTable, rowAttributes, type RowType } from './DataTable';

/** Per-file provenance: attested by the agent, changed after attestation, or not attested; denied paths marked. */
export function FileProvenanceTable({ files }: { files: readonly FileView[] }) {
  if (files.length === 0) return <p>No changed files were recorded for this evaluation.</p>;
  const ordered = [...files].sort((a, b) => Number(b.denied === true) - Number(a.denied === true));
  const rows: RowType[] = ordered.map((file) => {
    const provenance = provenanceOf(file.provenance);
    const key = `${file.oldPath ?? ''}→${file.path}`;
    return {
      key,
      ...rowAttributes({ 'data-denied': file.denied === true ? 'true' : 'false' }),
      cells: [
        {
          key: file.path,
          content: (
            <>
              <span className="cg-mono">{file.path}</span>
              {file.oldPath !== undefined ? (
                <div className="cg-muted">
                  from <span className="cg-mono">{file.oldPath}</span>
                </div>
              ) : null}
            </>
          ),
        },
        { key: file.status, content: file.status },
        {
          key: provenance.text,
          content: (
            <span title={provenance.explanation}>
              <Lozenge appearance={provenance.appearance}>{provenance.text}</Lozenge>
            </span>
          ),
        },
        {
          key: file.denied === true ? 0 : 1,
          content:
            file.denied === true ? (
              <Lozenge appearance="removed">denied path</Lozenge>
            ) : (
              <span className="cg-muted">allowed</span>
            ),
        },
      ],
    };
  });
  return (
    <DataTable
      label="Changed files and their provenance"
      head={[
        { key: 'file', content: 'File' },
        { key: 'change', content: 'Change' },
        { key: 'provenance', content: 'Provenance' },
        { key: 'policy', content: 'Policy' },
      ]}
      rows={rows}
    />
  );
}
