/**
 * The customer's wallet (docs/architecture.md#identities, ADR 0003): one master secret, one
 * pairwise pseudonym (did:key) per relationship, and the list of relationships, so that the wallet
 * links what no org can.
 */
import { describe } from '../bytes.js';
import { didFromPublicKey } from '../crypto/didkey.js';
import { assertLength, nobleSigner, type Signer } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { checkChainId, checkOrgId, derivePairwiseSeed, isPlainText, MASTER_SECRET_LENGTH } from './pairwise.js';

/** Most relationships one wallet holds (and one export may carry). */
export const MAX_RELATIONSHIPS = 10_000;
/** Longest label (in UTF-16 code units). */
export const MAX_LABEL_LENGTH = 256;

/** One relationship the wallet knows: the customer's pseudonym towards `orgId` on `chainId`. */
export interface Relationship {
  readonly chainId: string;
  readonly orgId: string;
  /** The customer's subject identifier towards this org (did:key of the pairwise key). */
  readonly did: string;
  /** The customer's own name for the relationship; it never leaves the wallet in clear. */
  readonly label?: string;
  /** When the wallet first used or was told about it, in milliseconds since the Unix epoch. */
  readonly createdAt: number;
}

/** A relationship with the signer of its pairwise key. */
export interface PairwiseIdentity extends Relationship {
  readonly signer: Signer;
}

/** Builds a signer from a 32-byte Ed25519 secret key; the node passes node:crypto's. */
export type SignerFactory = (secretKey: Uint8Array) => Signer;

export interface WalletOptions {
  /** Defaults to `nobleSigner` (pure JS, runs in the browser). */
  signerFactory?: SignerFactory;
  /** Clock for `createdAt`, in milliseconds; defaults to `Date.now`. */
  now?: () => number;
}

/** What an import restores for each relationship (the did is derived again, never trusted). */
export interface RelationshipEntry {
  chainId: string;
  orgId: string;
  label?: string;
  createdAt: number;
}

// Set by Wallet's static block: the export module reaches the master secret through these,
// while nothing in the package's public API does.
let masterSecretOf: (wallet: Wallet) => Uint8Array;
let restoreEntry: (wallet: Wallet, entry: RelationshipEntry) => Relationship;

/**
 * A customer wallet. The master secret lives in a private field: `JSON.stringify(wallet)` is `{}`
 * and there is deliberately no `toJSON`; use `exportWallet` for a passphrase-protected backup.
 *
 * @example
 * const wallet = Wallet.create();
 * const { did, signer } = wallet.relationship('custos-main', 'did:key:z6Mk...');
 * signTx({ chainId: 'custos-main', type: 'consent.grant', args }, signer);
 * wallet.findByDid(did); // -> the relationship
 */
export class Wallet {
  readonly #master: Uint8Array;
  readonly #signerFactory: SignerFactory;
  readonly #now: () => number;
  /** Keyed by `${chainId}\n${orgId}` (unambiguous: a chainId has no newline), in insertion order. */
  readonly #relationships = new Map<string, Relationship>();
  readonly #byDid = new Map<string, Relationship>();

  static {
    masterSecretOf = (wallet) => wallet.#master;
    restoreEntry = (wallet, entry) => wallet.#record(entry.chainId, entry.orgId, entry.label, entry.createdAt);
  }

  private constructor(masterSecret: Uint8Array, options: WalletOptions) {
    this.#master = masterSecret;
    this.#signerFactory = options.signerFactory ?? nobleSigner;
    this.#now = options.now ?? Date.now;
  }

  /** A wallet with a fresh master secret of 32 bytes from the platform CSPRNG. */
  static create(options: WalletOptions = {}): Wallet {
    return new Wallet(crypto.getRandomValues(new Uint8Array(MASTER_SECRET_LENGTH)), options);
  }

  /** The wallet of an existing master secret (copied). Throws `BAD_KEY` unless it has 32 bytes. */
  static fromMasterSecret(masterSecret: Uint8Array, options: WalletOptions = {}): Wallet {
    assertLength(masterSecret, MASTER_SECRET_LENGTH, 'master secret');
    return new Wallet(masterSecret.slice(), options);
  }

  /**
   * The pseudonym and signer towards `orgId` on `chainId`, recorded as a relationship if it is new.
   * Throws `BAD_WALLET` on a malformed chainId or orgId, or when the wallet is full.
   */
  relationship(chainId: string, orgId: string): PairwiseIdentity {
    const signer = this.#signer(chainId, orgId);
    const rel = this.#record(chainId, orgId, undefined, undefined, signer);
    return { ...rel, signer };
  }

  /**
   * Records a relationship (the wallet was told about it, e.g. on another device) and returns it.
   * On a known one, sets the label if one is given and keeps `createdAt`.
   */
  addRelationship(chainId: string, orgId: string, label?: string): Relationship {
    return this.#record(chainId, orgId, label, undefined);
  }

  /** Every relationship the wallet has used or been told about, oldest first. */
  relationships(): Relationship[] {
    return [...this.#relationships.values()];
  }

  /** The relationship whose pseudonym is `did`, if it is one of this wallet's. */
  findByDid(did: string): Relationship | undefined {
    return typeof did === 'string' ? this.#byDid.get(did) : undefined;
  }

  #signer(chainId: string, orgId: string): Signer {
    return this.#signerFactory(derivePairwiseSeed(this.#master, chainId, orgId));
  }

  #record(
    chainId: string,
    orgId: string,
    label: string | undefined,
    createdAt: number | undefined,
    signer?: Signer,
  ): Relationship {
    checkChainId(chainId);
    checkOrgId(orgId);
    if (label !== undefined && !isPlainText(label, MAX_LABEL_LENGTH)) {
      throw new ProtocolError(
        'BAD_WALLET',
        `expected a label of 1-${MAX_LABEL_LENGTH} characters of well-formed Unicode without control characters, got ${describe(label)}`,
      );
    }
    const key = `${chainId}\n${orgId}`;
    const known = this.#relationships.get(key);
    if (known !== undefined) {
      if (label === undefined || label === known.label) return known;
      return this.#store(key, Object.freeze({ ...known, label }));
    }
    if (this.#relationships.size >= MAX_RELATIONSHIPS) {
      throw new ProtocolError('BAD_WALLET', `expected at most ${MAX_RELATIONSHIPS} relationships in one wallet`);
    }
    const did = didFromPublicKey((signer ?? this.#signer(chainId, orgId)).publicKey);
    const at = createdAt ?? this.#now();
    const rel: Relationship =
      label === undefined ? { chainId, orgId, did, createdAt: at } : { chainId, orgId, did, label, createdAt: at };
    return this.#store(key, Object.freeze(rel));
  }

  #store(key: string, rel: Relationship): Relationship {
    this.#relationships.set(key, rel);
    this.#byDid.set(rel.did, rel);
    return rel;
  }
}

/** @internal The master secret itself (not a copy), for `exportWallet`. Not exported from the package. */
export function walletMasterSecret(wallet: Wallet): Uint8Array {
  return masterSecretOf(wallet);
}

/** @internal Restores one relationship with its label and createdAt, for `importWallet`. */
export function restoreRelationship(wallet: Wallet, entry: RelationshipEntry): Relationship {
  return restoreEntry(wallet, entry);
}
