import { shortId } from '../model/words';

/** An identifier (DID, hash, id) in monospace; long ones shortened, the full value in the tooltip and for copy. */
export function Mono({ value, short = false }: { value: string; short?: boolean }) {
  return (
    <code className="cg-mono" title={value}>
      {short ? shortId(value) : value}
    </code>
  );
}
