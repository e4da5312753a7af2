import type { EngineSettings, Mode } from '../core/verdict';
import type { WorkspaceSettings } from '../store';

/** The engine's settings from the stored document (trust lists, keys, revocations). */
export function engineSettingsFrom(settings: WorkspaceSettings, mode: Mode): EngineSettings {
  return {
    mode,
    trustedGateways: settings.trusted_gateways
      .filter((g) => !settings.revocations.gateway_dids.includes(g.did))
      .map((g) => ({ did: g.did, ...(g.expires_at ? { expiresAtMs: Date.parse(g.expires_at) } : {}) })),
    cstIssuers: settings.cst_issuers.map((k) => ({
      publicKeyB64u: k.public_key_b64u,
      ...(k.kid ? { kid: k.kid } : {}),
    })),
    frozen: settings.frozen,
    ...(settings.mission_id_pattern !== undefined ? { missionIdPattern: settings.mission_id_pattern } : {}),
    revocations: {
      agentDids: settings.revocations.agent_dids,
      cstJtis: settings.revocations.cst_jtis,
      bundleIds: settings.revocations.bundle_ids,
    },
  };
}
