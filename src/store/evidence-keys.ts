import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { Op } from 'sequelize';
import { didKeyFromPublicKey } from '../core/clawsig/did-key';
import type { EvidenceKeyRow } from './models';
import type { RepositoryContext } from './repository-context';

/**
 * The deployment's own Ed25519 keys, which sign evidence packs (issue 12). Deployment-wide, not per
 * workspace: an auditor pins one did:key per clawgate deployment. Private keys are sealed by the
 * SecretBox (bound to the key's DID) and never leave this module; `sign` hands out signatures only.
 * Rotation retires the active key and creates a new one; retired keys stay listed (with the time
 * they were retired) so packs signed before a rotation stay verifiable.
 */

export interface EvidenceKeyInfo {
  readonly did: string;
  readonly publicKeyB64u: string;
  readonly createdAt: Date;
  readonly retiredAt: Date | null;
}

export interface EvidenceSigner {
  readonly did: string;
  /** Ed25519 over the UTF-8 bytes of `message`, base64url. */
  sign(message: string): string;
}

const sealContext = (did: string) => `evidence_signing_key:${did}`;

function infoOf(row: EvidenceKeyRow): EvidenceKeyInfo {
  return { did: row.key_did, publicKeyB64u: row.public_key_b64u, createdAt: row.created_at, retiredAt: row.retired_at };
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('not an Ed25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

export class EvidenceKeyRepository {
  constructor(private readonly context: RepositoryContext) {}

  /** Every key this deployment ever signed with, newest first. */
  async list(): Promise<EvidenceKeyInfo[]> {
    return this.context.db.read(async () => {
      const rows = await this.context.models.EvidenceKey.findAll({ order: [['created_at', 'DESC']] });
      return rows.map((row) => infoOf(row.get({ plain: true })));
    });
  }

  /** The active key's signer; the first call on a new deployment creates the key. */
  async activeSigner(): Promise<EvidenceSigner> {
    const row = (await this.activeRow()) ?? (await this.create());
    const privateKey = createPrivateKey({
      key: Buffer.from(this.context.secretBox.open(row.private_key, sealContext(row.key_did)), 'base64url'),
      format: 'der',
      type: 'pkcs8',
    });
    return {
      did: row.key_did,
      sign: (message: string) => sign(null, Buffer.from(message, 'utf8'), privateKey).toString('base64url'),
    };
  }

  /** Retires every active key and creates a new one; returns the new key. */
  async rotate(): Promise<EvidenceKeyInfo> {
    const now = this.context.now();
    await this.context.db.write((transaction) =>
      this.context.models.EvidenceKey.update(
        { retired_at: now },
        { where: { retired_at: { [Op.is]: null } }, transaction },
      ),
    );
    return infoOf(await this.create());
  }

  private async activeRow(): Promise<EvidenceKeyRow | null> {
    return this.context.db.read(async () => {
      const row = await this.context.models.EvidenceKey.findOne({
        where: { retired_at: { [Op.is]: null } },
        order: [['created_at', 'DESC']],
      });
      return row === null ? null : row.get({ plain: true });
    });
  }

  private async create(): Promise<EvidenceKeyRow> {
    const { privateKey } = generateKeyPairSync('ed25519');
    const publicRaw = rawPublicKey(createPublicKey(privateKey));
    const did = didKeyFromPublicKey(publicRaw);
    const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url');
    const row: EvidenceKeyRow = {
      id: randomUUID(),
      key_did: did,
      public_key_b64u: publicRaw.toString('base64url'),
      private_key: this.context.secretBox.seal(der, sealContext(did)),
      created_at: this.context.now(),
      retired_at: null,
    };
    await this.context.db.write((transaction) => this.context.models.EvidenceKey.create(row, { transaction }));
    return row;
  }
}
