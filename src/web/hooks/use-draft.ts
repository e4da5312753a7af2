import { useEffect, useRef, useState } from 'react';

export type SaveResult = { readonly ok: true } | { readonly ok: false; readonly error: unknown } | null;

export interface Draft<D> {
  readonly draft: D;
  /** True from the first edit until a save succeeds or the edits are discarded. */
  readonly dirty: boolean;
  readonly saving: boolean;
  /** How the last save ended; cleared by the next edit or a discard. */
  readonly result: SaveResult;
  readonly change: (next: D) => void;
  readonly discard: () => void;
  /** Stores the draft with `store`; on success the form is clean again and `onSaved` gets the answer. */
  readonly save: <S>(store: (draft: D) => Promise<S>, onSaved: (saved: S) => void) => void;
}

/**
 * An edit form over a server value: the draft starts as `toDraft(source)` and, while nobody has
 * edited it, follows `source` when it changes (a save elsewhere, e.g. the kill switch, or a reload).
 */
export function useDraft<T, D>(source: T, toDraft: (source: T) => D): Draft<D> {
  const toDraftRef = useRef(toDraft);
  toDraftRef.current = toDraft;
  const [draft, setDraft] = useState<D>(() => toDraft(source));
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [result, setResult] = useState<SaveResult>(null);

  useEffect(() => {
    if (!dirty) setDraft(toDraftRef.current(source));
  }, [source, dirty]);

  const change = (next: D): void => {
    setDraft(next);
    setDirty(true);
    setResult(null);
  };

  const discard = (): void => {
    setDraft(toDraftRef.current(source));
    setDirty(false);
    setResult(null);
  };

  const save = <S>(store: (draft: D) => Promise<S>, onSaved: (saved: S) => void): void => {
    setSaving(true);
    store(draft).then(
      (saved) => {
        setSaving(false);
        setDirty(false);
        setResult({ ok: true });
        onSaved(saved);
      },
      (error: unknown) => {
        setSaving(false);
        setResult({ ok: false, error });
      },
    );
  };

  return { draft, dirty, saving, result, change, discard, save };
}
