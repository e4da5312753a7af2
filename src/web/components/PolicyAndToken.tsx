import Lozenge from '@atlaskit/lozenge';
import type { VerdictView } from '../client/api-schemas';
import { formatTime } from '../model/words';
import { Mono } from './Mono';

/** The WPC (id, hash) and the scoped token (subject, scopes, validity) in brief. */
export function PolicyAndToken({ verdict, policyHash }: { verdict: VerdictView; policyHash: string | null }) {
  const token = verdict.token ?? null;
  const hash = verdict.policy?.hash ?? policyHash;
  return (
    <dl className="cg-facts cg-facts-wide">
      <dt>Work Policy Contract</dt>
      <dd>
        {hash === null ? (
          'none assigned'
        ) : (
          <>
            {verdict.policy?.id !== undefined ? <strong>{verdict.policy.id} </strong> : null}
            <Mono value={hash} />
          </>
        )}
      </dd>
      <dt>Scoped token subject</dt>
      <dd>{token === null ? 'no valid scoped token' : <Mono value={token.sub} short />}</dd>
      {token !== null ? (
        <>
          <dt>Scopes</dt>
          <dd>
            {token.scopes === undefined || token.scopes.length === 0 ? (
              'none'
            ) : (
              <ul className="cg-inline-list" aria-label="Token scopes">
                {token.scopes.map((scope) => (
                  <li key={scope}>
                    <Mono value={scope} />
                  </li>
                ))}
              </ul>
            )}
          </dd>
          <dt>Valid</dt>
          <dd>
            {formatTime(token.iat)} → {formatTime(token.exp)}
          </dd>
          <dt>Signature</dt>
          <dd>
            {token.signatureVerified === true ? (
              <Lozenge appearance="success">verified</Lozenge>
            ) : token.signatureVerified === false ? (
              <Lozenge appearance="removed">not verified</Lozenge>
            ) : (
              'not checked (no issuer key configured)'
            )}
          </dd>
        </>
      ) : null}
    </dl>
  );
}
