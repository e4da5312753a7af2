import SectionMessage from '@atlaskit/section-message';
import { ClientError } from '../client/clawgate-client';

/** What went wrong and what to do, in words; the server's code and field paths below. */
export function describeError(error: unknown): { title: string; advice: string } {
  if (!(error instanceof ClientError))
    return {
      title: 'Something went wrong in this page',
      advice: 'Reload the page. If it happens again, tell your clawgate administrator.',
    };
  if (error.status === 0 && error.code === 'NETWORK')
    return { title: 'clawgate could not be reached', advice: 'Check your connection and try again in a moment.' };
  if (error.status === 401)
    return {
      title: 'Your sign-in for this page is not valid any more',
      advice: 'Reopen this page from Bitbucket; page sign-ins last a few minutes.',
    };
  if (error.status === 403 && error.code === 'FORBIDDEN') {
    return {
      title: 'Your Bitbucket account may not see or change this',
      advice:
        'Verdicts need read access to their repository; settings, policies, tokens and the audit log need a workspace admin.',
    };
  }
  if (error.status === 403 && error.code === 'LINK_SESSION_FORBIDDEN')
    return {
      title: 'This link opens one verdict only',
      advice: 'Open clawgate from the pull request in Bitbucket to see more.',
    };
  if (error.status === 403 && error.code === 'RECHECK_REFUSED')
    return {
      title: 'You may not re-check this pull request',
      advice: 'Re-checks need write access to the repository; agent accounts never re-check their own pull requests.',
    };
  if (error.status === 429) return { title: 'Too many requests', advice: 'Wait a minute and try again.' };
  if (error.status === 403)
    return {
      title: 'This sign-in is for another workspace',
      advice: 'Open the page from the workspace it belongs to.',
    };
  if (error.status === 404)
    return {
      title: 'Not found',
      advice: 'It may belong to another workspace or have been removed by the retention policy.',
    };
  if (error.status === 412 || error.code === 'VERSION_CONFLICT')
    return { title: 'Someone else saved in the meantime', advice: 'Reload the settings and make your change again.' };
  if (error.status === 422 || error.status === 400)
    return { title: 'clawgate refused the input', advice: 'Correct the fields listed below and try again.' };
  if (error.status === 501)
    return { title: 'Not available on this server', advice: 'This clawgate server was started without this feature.' };
  return {
    title: 'clawgate could not complete the request',
    advice: 'Try again in a moment. If it happens again, tell your clawgate administrator.',
  };
}

export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  const described = describeError(error);
  return (
    <SectionMessage appearance="error" title={title ?? described.title}>
      <p>{title === undefined ? described.advice : `${described.title}. ${described.advice}`}</p>
      {error instanceof ClientError ? (
        <>
          <p className="cg-muted">
            {error.message} <span className="cg-mono">({error.code})</span>
          </p>
          {error.fields.length > 0 ? (
            <ul className="cg-field-errors">
              {error.fields.map((field) => (
                <li key={`${field.path}:${field.message}`}>
                  <span className="cg-mono">{field.path === '' ? '(document)' : field.path}</span>: {field.message}
                </li>
              ))}
            </ul>
          ) : null}
        </>
      ) : null}
    </SectionMessage>
  );
}
