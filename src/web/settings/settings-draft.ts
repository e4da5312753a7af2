import type { RevocationList, Settings } from '../client/api-schemas';

/** One row of a list editor: field name → text as typed. */
export type Row = Readonly<Record<string, string>>;

/**
 * The editable form of the workspace settings: every list as rows of text fields, turned back into the
 * API's document on save (empty optional fields dropped). The kill switch is not part of it: it is
 * switched on its own, at once (KillSwitch.tsx).
 */
export interface SettingsDraft {
  mode: Settings['mode'];
  gateways: Row[];
  cstIssuers: Row[];
  wpcIssuers: Row[];
  agents: Row[];
  /** The opt-in CST mission pattern ('' = none: mission ids are opaque). */
  missionIdPattern: string;
  revocations: Record<RevocationList, Row[]>;
}

export const REVOCATION_LISTS: readonly { key: RevocationList; title: string; label: string; noun: string }[] = [
  { key: 'agent_dids', title: 'Revoked agent DIDs', label: 'Agent DID', noun: 'revoked agent' },
  { key: 'account_uuids', title: 'Revoked agent accounts', label: 'Account UUID', noun: 'revoked account' },
  { key: 'cst_jtis', title: 'Revoked scoped tokens (jti)', label: 'Token jti', noun: 'revoked token' },
  { key: 'gateway_dids', title: 'Revoked gateway DIDs', label: 'Gateway DID', noun: 'revoked gateway' },
  { key: 'bundle_ids', title: 'Revoked bundles', label: 'Bundle id', noun: 'revoked bundle' },
];

const values = (list: readonly string[]): Row[] => list.map((value) => ({ value }));

export function draftOf(settings: Settings): SettingsDraft {
  return {
    mode: settings.mode,
    gateways: settings.trusted_gateways.map((gateway) => ({ did: gateway.did, expires_at: gateway.expires_at ?? '' })),
    cstIssuers: settings.cst_issuers.map((issuer) => ({
      kid: issuer.kid ?? '',
      public_key_b64u: issuer.public_key_b64u,
    })),
    wpcIssuers: values(settings.wpc_issuers),
    agents: settings.agents.map((agent) => ({
      account_uuid: agent.account_uuid,
      role: agent.role,
      agent_did: agent.agent_did ?? '',
    })),
    missionIdPattern: settings.mission_id_pattern ?? '',
    revocations: {
      agent_dids: values(settings.revocations.agent_dids),
      account_uuids: values(settings.revocations.account_uuids),
      cst_jtis: values(settings.revocations.cst_jtis),
      gateway_dids: values(settings.revocations.gateway_dids),
      bundle_ids: values(settings.revocations.bundle_ids),
    },
  };
}

function field(row: Row, key: string): string {
  return row[key] ?? '';
}

function optional<K extends string>(key: K, value: string): Partial<Record<K, string>> {
  return value === '' ? {} : ({ [key]: value } as Record<K, string>);
}

/** The settings document to save: the draft, with the kill switch as the server has it now. */
export function settingsOf(draft: SettingsDraft, frozen: boolean): Settings {
  const list = (rows: readonly Row[]): string[] => rows.map((row) => field(row, 'value'));
  return {
    mode: draft.mode,
    trusted_gateways: draft.gateways.map((row) => ({
      did: field(row, 'did'),
      ...optional('expires_at', field(row, 'expires_at')),
    })),
    cst_issuers: draft.cstIssuers.map((row) => ({
      public_key_b64u: field(row, 'public_key_b64u'),
      ...optional('kid', field(row, 'kid')),
    })),
    wpc_issuers: list(draft.wpcIssuers),
    agents: draft.agents.map((row) => ({
      account_uuid: field(row, 'account_uuid'),
      role: field(row, 'role') === 'read' ? 'read' : 'write',
      ...optional('agent_did', field(row, 'agent_did')),
    })),
    frozen,
    ...optional('mission_id_pattern', draft.missionIdPattern.trim()),
    revocations: {
      agent_dids: list(draft.revocations.agent_dids),
      account_uuids: list(draft.revocations.account_uuids),
      cst_jtis: list(draft.revocations.cst_jtis),
      gateway_dids: list(draft.revocations.gateway_dids),
      bundle_ids: list(draft.revocations.bundle_ids),
    },
  };
}
