import Lozenge from '@atlaskit/lozenge';
import type { FileView } from '../client/api-schemas';
import { provenanceOf } from '../model/words';

/** Per-file provenance: attested by the agent, changed after attestation, or not attested; denied paths marked. */
export function FileProvenanceTable({ files }: { files: readonly FileView[] }) {
  if (files.length === 0) return <p>No changed files were recorded for this evaluation.</p>;
  const ordered = [...files].sort((a, b) => Number(b.denied === true) - Number(a.denied === true));
  return (
    <div className="cg-table-wrap">
      <table className="cg-table" aria-label="Changed files and their provenance">
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Change</th>
            <th scope="col">Provenance</th>
            <th scope="col">Policy</th>
          </tr>
        </thead>
        <tbody>
          {ordered.map((file) => {
            const provenance = provenanceOf(file.provenance);
            return (
              <tr key={`${file.oldPath ?? ''}→${file.path}`} data-denied={file.denied === true ? 'true' : 'false'}>
                <td>
                  <span className="cg-mono">{file.path}</span>
                  {file.oldPath !== undefined ? <div className="cg-muted">from <span className="cg-mono">{file.oldPath}</span></div> : null}
                </td>
                <td>{file.status}</td>
                <td title={provenance.explanation}>
                  <Lozenge appearance={provenance.appearance}>{provenance.text}</Lozenge>
                </td>
                <td>{file.denied === true ? <Lozenge appearance="removed">denied path</Lozenge> : <span className="cg-muted">allowed</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
