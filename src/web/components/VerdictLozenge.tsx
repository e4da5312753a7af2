import Lozenge from '@atlaskit/lozenge';
import { verdictAppearance, verdictLabel, type VerdictState } from '../model/words';

export function VerdictLozenge({ state, mode }: { state: VerdictState; mode: string }) {
  return (
    <span className="cg-verdict" data-verdict={state}>
      <Lozenge appearance={verdictAppearance(state, mode)} isBold maxWidth="100%">
        {verdictLabel(state, mode)}
      </Lozenge>
    </span>
  );
}
