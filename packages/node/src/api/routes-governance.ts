/**
 * Governance: the members, the rules in force and every proposal with its votes (public ledger
 * data, served by every node, org keys or not), and proposing and voting as an org, registered
 * under `/v1/orgs/:org` on a node holding that org's key.
 */

import { CONTRACT_ACTION_KINDS, EVM_ACTION_KINDS } from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
import { CONTRACT_NAME } from '../contracts/manifest.js';
import { policyOf } from '../genesis.js';
import { ACTION_KINDS, type GovPolicy, requiredVotes, ruleForKind } from '../governance/policy.js';
import {
  GOV_MEMBERS,
  GOV_PARAMS,
  GOV_POLICY,
  type GovParams,
  PROPOSAL_PREFIX,
  type Proposal,
  proposalStatusAt,
} from '../governance/state.js';
import type { MemberRecord } from '../modules/member.js';
import { ORG_CONFIG, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, did, hex64, orgId, stringEnum } from './schema-atoms.js';

/** State rows read at a time. */
const SCAN_BATCH = 500;
/** Proposals listed, newest first. */
const MAX_PROPOSALS = 500;

/** A new key's proof of possession (`proveMemberKey`): a base64url Ed25519 signature. */
const PROOF = Type.String({ pattern: '^[A-Za-z0-9_-]{86}$' });
/** An EVM key's proof of possession (`proveEvmKey`): a 65-byte secp256k1 signature r || s || v in hex. */
const EVM_PROOF = Type.String({ pattern: '^0x[0-9a-f]{130}$' });
/** An EVM address as Custos stores it: lower-case hex. */
const EVM_ADDRESS = Type.String({ pattern: '^0x[0-9a-f]{40}$' });

const GOV_ACTION = closed(
  {
    kind: stringEnum([...ACTION_KINDS, ...CONTRACT_ACTION_KINDS, ...EVM_ACTION_KINDS]),
    contract: Type.Optional(Type.String({ minLength: 2, maxLength: 63 })),
    digest: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    at: Type.Optional(Type.Integer({ minimum: 0 })),
    id: Type.Optional(orgId()),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    keys: Type.Optional(Type.Array(did(), { minItems: 1, maxItems: 8 })),
    endpoint: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    member: Type.Optional(orgId()),
    oldKey: Type.Optional(did()),
    newKey: Type.Optional(did()),
    // Proofs of possession by the new keys (trust #4): base64url Ed25519 signatures.
    proofs: Type.Optional(Type.Array(PROOF, { minItems: 1, maxItems: 8 })),
    // rotateKey: the new Ed25519 key's proof; setEvmKey: the EVM key's.
    proof: Type.Optional(Type.Union([PROOF, EVM_PROOF])),
    // setEvmKey: the member's new EVM key; admit: the new member's EVM key and its proof.
    // (removeEvmKey has `member` only.)
    address: Type.Optional(EVM_ADDRESS),
    evmKey: Type.Optional(EVM_ADDRESS),
    evmKeyProof: Type.Optional(EVM_PROOF),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    blockMaxTxs: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    blockMaxMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000 })),
  },
  { maxProperties: 8 },
);

/** `GET /v1/gov/proposals`: needs no org key on this node. */
export const governanceRoutes: RoutePlugin = async (app) => {
  const node = app.custos;
  app.get(
    '/v1/gov/proposals',
    {
      schema: {
        tags: ['chain'],
        summary: 'Members and governance proposals',
        description:
          'The current members (id, name, keys, endpoint, EVM key address or null), the quorum threshold and voting policy in force, and the governance proposals, newest first (at most 500), each with `state` as of the latest block (`open`, `executed`, `rejected` or `expired`) and the yes votes it `needs`. Public.',
      },
    },
    async () => {
      const head = node.latest();
      const json = <T>(key: string): T | undefined => {
        const text = node.store.getState(key);
        return text === undefined ? undefined : (JSON.parse(text) as T);
      };
      const all = <T>(prefix: string): T[] => {
        const out: T[] = [];
        let after: string | undefined;
        for (;;) {
          const rows = node.store.listState(prefix, after, SCAN_BATCH);
          for (const r of rows) out.push(JSON.parse(r.value) as T);
          if (rows.length < SCAN_BATCH) return out;
          after = rows[rows.length - 1]!.key;
        }
      };
      const ids = json<{ ids: string[] }>(GOV_MEMBERS)?.ids ?? node.genesis.members.map((m) => m.id);
      const current = all<MemberRecord>('member/').filter((m) => ids.includes(m.id));
      const params = json<GovParams>(GOV_PARAMS) ?? {
        threshold: node.genesis.threshold,
        blockMaxTxs: node.genesis.params.blockMaxTxs,
        blockMaxMs: node.genesis.params.blockMaxMs,
      };
      const policy = json<GovPolicy>(GOV_POLICY) ?? policyOf(node.genesis);
      const proposals = all<Proposal>(PROPOSAL_PREFIX).map((p) => ({
        ...p,
        state: proposalStatusAt(p, head.height),
        // Kinds the genesis policy does not name (contracts, setEvmKey) have their own rule.
        needs: p.tally?.required ?? requiredVotes(ruleForKind(p.action.kind, policy), current.length),
      }));
      proposals.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
      return {
        height: head.height,
        members: current.map((m) => ({
          id: m.id,
          name: m.name,
          keys: m.keys,
          since: m.since,
          endpoint: m.endpoint ?? null,
          evmKey: m.evmKey ?? null,
        })),
        params,
        policy,
        proposals: proposals.slice(0, MAX_PROPOSALS),
      };
    },
  );
};

/** Proposing and voting as the org in the path, with its member key (an API token needs `governance`). */
export const orgGovernanceRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const { governor } = orgGuards(app.custos);

  app.post(
    '/gov/propose',
    {
      ...governor,
      schema: {
        ...orgDoc(
          'Propose a governance change',
          'Commits `gov.propose {action, reason}` signed with the org key (an API token needs the `governance` scope): admit (`id`, `name`, `keys`, `endpoint`, `proofs`, optionally `evmKey` and `evmKeyProof`), remove (`id`), rotateKey (`member`, `oldKey`, `newKey`, `proof`), params (`threshold`, `blockMaxTxs`, `blockMaxMs`) setEvmKey (`member`, `address`, `proof`: the EVM key of a member, set by vote) or removeEvmKey (`member`: its EVM key taken out, while the threshold of keys remains); the proposer votes yes. Answers 200 with the result code; the proposal id is the `txId`.',
        ),
        params: ORG_PARAMS,
        body: closed({ action: GOV_ACTION, reason: Type.String({ minLength: 1, maxLength: 1024 }) }),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { action, reason } = request.body;
      return orgs.governance(request.params.org, { propose: { action, reason } });
    },
  );

  app.post(
    '/gov/vote',
    {
      ...governor,
      schema: {
        ...orgDoc(
          'Vote on a governance proposal',
          'Commits `gov.vote {proposal, vote}` signed with the org key (an API token needs the `governance` scope); the vote that reaches the threshold executes the change. Answers 200 with the result code (`PROPOSAL_CLOSED` once decided or expired).',
        ),
        params: ORG_PARAMS,
        body: closed({ proposal: hex64(), vote: stringEnum(['yes', 'no']) }),
      },
      config: ORG_CONFIG,
    },
    async (request) => orgs.governance(request.params.org, { vote: request.body }),
  );

  app.post(
    '/contracts/:name/pause',
    {
      ...governor,
      schema: {
        ...orgDoc(
          'Ask for the emergency pause of a contract',
          'Commits `contract.pause {contract}` signed with the org key (an API token needs the `governance` scope): one pause vote; the vote that reaches a third of the members (rounded up) pauses the contract at once (docs/contracts.md). Answers 200 with the result code (`CONFLICT` when the contract is not active).',
        ),
        params: closed({ org: orgId(), name: Type.String({ pattern: CONTRACT_NAME.source, maxLength: 63 }) }),
        body: closed({}),
      },
      config: ORG_CONFIG,
    },
    async (request) => orgs.submit(request.params.org, 'contract.pause', { contract: request.params.name }),
  );
};
