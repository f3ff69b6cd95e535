/**
 * The governance model of the console: the overview `GET /v1/gov/proposals` returns, and a proposed
 * action read and checked from the proposal form before it is signed and sent.
 */
import type { CustosClient } from '@custos/sdk';

/** `GET /v1/gov/proposals` (the SDK's `govProposals`). */
export type GovOverview = Awaited<ReturnType<CustosClient['govProposals']>>;
export type GovProposal = GovOverview['proposals'][number];
export type GovAction = GovProposal['action'];
export type Member = GovOverview['members'][number];
export type Message = { tone: 'ok' | 'danger'; text: string };

const MEMBER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/;
/** A new key's proof of possession (trust #4): a base64url Ed25519 signature. */
const KEY_PROOF = /^[A-Za-z0-9_-]{86}$/;

export type Kind = GovAction['kind'];
export const KINDS: { kind: Kind; label: string }[] = [
  { kind: 'admit', label: 'Admit a member' },
  { kind: 'remove', label: 'Remove a member' },
  { kind: 'rotateKey', label: 'Rotate a key' },
  { kind: 'params', label: 'Change the quorum' },
  { kind: 'removeEvmKey', label: 'Remove an EVM key' },
];

/** Validates the form; returns the action or the errors by field. */
export function readAction(
  kind: Kind,
  f: FormData,
  g: GovOverview,
): { action: GovAction; errors?: undefined } | { errors: Record<string, string> } {
  const s = (k: string) => String(f.get(k) ?? '').trim();
  const errors: Record<string, string> = {};
  const int = (k: string, min: number, max: number) => {
    const n = Number(s(k));
    if (s(k) === '' || !Number.isInteger(n) || n < min || n > max)
      errors[k] = `Enter a whole number from ${min} to ${max}.`;
    return n;
  };
  let action: GovAction | undefined;
  switch (kind) {
    case 'admit': {
      const id = s('id');
      const keys = s('keys')
        .split(/[\s,]+/)
        .filter((k) => k.length > 0);
      if (!MEMBER_ID.test(id))
        errors.id = 'Use 1 to 32 lower-case letters, digits or dashes, starting with a letter or digit.';
      else if (g.members.some((m) => m.id === id)) errors.id = `${id} is already a member.`;
      if (s('name') === '') errors.name = 'Enter the organisation’s name.';
      if (keys.length === 0 || keys.length > 8) errors.keys = 'Paste 1 to 8 signing keys (did:key), one per line.';
      else if (!keys.every((k) => DID_KEY.test(k))) errors.keys = 'Each key must be a did:key (did:key:z…).';
      else if (new Set(keys).size !== keys.length) errors.keys = 'A key is listed twice.';
      let url: URL | undefined;
      try {
        url = new URL(s('endpoint'));
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
        errors.endpoint = 'Enter the http(s) address of the member’s node.';
      const proofs = s('proofs')
        .split(/[\s,]+/)
        .filter((k) => k.length > 0);
      if (proofs.length !== keys.length)
        errors.proofs = 'Paste one proof of possession per key, in the same order as the keys.';
      else if (!proofs.every((p) => KEY_PROOF.test(p))) errors.proofs = 'Each proof is 86 characters of base64url.';
      action = { kind, id, name: s('name'), keys, endpoint: s('endpoint'), proofs };
      break;
    }
    case 'remove':
      if (s('id') === '') errors.id = 'Choose the member to remove.';
      else if (g.members.length - 1 < g.params.threshold)
        errors.id = `Removing a member would leave fewer members than the quorum (${g.params.threshold}): lower the quorum first.`;
      action = { kind, id: s('id') };
      break;
    case 'rotateKey': {
      const [member, oldKey] = s('oldKey').split(' ');
      if (member === undefined || oldKey === undefined || member === '') errors.oldKey = 'Choose the key to replace.';
      if (!DID_KEY.test(s('newKey'))) errors.newKey = 'Enter the new key as a did:key (did:key:z…).';
      else if (s('newKey') === oldKey) errors.newKey = 'The new key must differ from the old one.';
      else if (g.members.some((m) => m.keys.includes(s('newKey'))))
        errors.newKey = 'This key already belongs to a member.';
      if (!KEY_PROOF.test(s('proof'))) errors.proof = 'Paste the new key’s proof of possession (86 characters).';
      action = { kind, member: member ?? '', oldKey: oldKey ?? '', newKey: s('newKey'), proof: s('proof') };
      break;
    }
    case 'removeEvmKey': {
      // A compromised EVM key taken out without a replacement; the EVM set keeps the quorum (docs/interop.md).
      const keyed = g.members.filter((m) => m.evmKey !== null).length;
      if (s('member') === '') errors.member = 'Choose the member whose EVM key to remove.';
      else if (keyed - 1 < g.params.threshold)
        errors.member = `Removing it would leave ${keyed - 1} EVM keys, fewer than the quorum (${g.params.threshold}): propose a replacement key instead.`;
      action = { kind, member: s('member') };
      break;
    }
    case 'params':
      action = {
        kind,
        threshold: int('threshold', 1, g.members.length),
        blockMaxTxs: int('blockMaxTxs', 1, 10_000),
        blockMaxMs: int('blockMaxMs', 1, 60_000),
      };
      break;
  }
  if (s('reason') === '') errors.reason = 'Say why, for the other members.';
  return Object.keys(errors).length > 0 || action === undefined ? { errors } : { action };
}
