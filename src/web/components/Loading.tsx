import Spinner from '@atlaskit/spinner';

export function Loading({ label }: { label: string }) {
  return (
    <div className="cg-loading" role="status">
      <Spinner size="small" label={label} /> <span>{label}</span>
    </div>
  );
}
