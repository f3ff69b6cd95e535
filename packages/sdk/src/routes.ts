/**
 * `SDK_ROUTES`: every HTTP route of a Custos node, as its OpenAPI document names it
 * (`METHOD /path/{param}`), and the `CustosClient` method that calls it. A test loads /openapi.json
 * from a real node and checks both directions, so a route added to the node without an SDK method
 * (or a method left behind by a removed route) fails the build.
 */
import type { CustosClient } from './client.js';

/** Names of `CustosClient`'s methods. */
export type ClientMethod = {
  [K in keyof CustosClient]: CustosClient[K] extends (...args: never[]) => unknown ? K : never;
}[keyof CustosClient];

export const SDK_ROUTES = {
  // chain
  'GET /v1/chain': 'chain',
  'GET /v1/blocks': 'blocks',
  'GET /v1/blocks/latest': 'latestBlock',
  'GET /v1/blocks/{height}': 'block',
  'GET /v1/blocks/{height}/txs': 'blockTxs',
  'GET /v1/blocks/{height}/certificate': 'certificate',
  'GET /v1/checkpoint': 'checkpoint',
  'GET /v1/finality': 'finality',
  'GET /v1/members/epochs': 'memberEpochs',
  'GET /v1/snapshot': 'snapshot',
  'GET /v1/replica/blocks/{height}': 'replicaBlock',
  'GET /v1/gov/proposals': 'govProposals',
  'GET /v1/contracts': 'contractList',
  'GET /v1/contracts/{name}': 'contract',
  // transactions
  'POST /v1/txs': 'submit',
  'POST /v1/txs/batch': 'submitBatch',
  'GET /v1/txs/{txId}': 'tx',
  // state
  'GET /v1/state': 'state',
  'GET /v1/state/entry': 'stateEntry',
  // proofs
  'GET /v1/proofs/inclusion/{txId}': 'inclusionProof',
  'GET /v1/proofs/consistency': 'consistencyProof',
  'GET /v1/proofs/state': 'stateProof',
  // customers
  'GET /v1/subjects/{did}/report': 'subjectReport',
  'GET /v1/subjects/{did}/events': 'subjectEvents',
  'GET /.well-known/gpc.json': 'gpc',
  'GET /v1/demo/wallets': 'demoWallets',
  // events
  'GET /v1/events/blocks': 'blockEvents',
  'GET /v1/events/txs/{txId}': 'txEvents',
  // organizations
  'GET /v1/orgs': 'localOrgs',
  'GET /v1/receipts/{txId}': 'receipts',
  'GET /v1/orgs/{org}/records': 'orgRecords',
  'POST /v1/orgs/{org}/records': 'registerRecord',
  'POST /v1/orgs/{org}/records/{id}/access': 'accessRecord',
  'POST /v1/orgs/{org}/records/{id}/share': 'shareRecord',
  'POST /v1/orgs/{org}/records/{id}/rectify': 'rectifyRecord',
  'POST /v1/orgs/{org}/erase': 'erase',
  'GET /v1/orgs/{org}/requests': 'orgRequests',
  'POST /v1/orgs/{org}/requests/{id}/extend': 'extendRequest',
  'POST /v1/orgs/{org}/requests/{id}/acknowledge': 'acknowledgeRequest',
  'POST /v1/orgs/{org}/requests/{id}/fulfil': 'fulfilRequest',
  'POST /v1/orgs/{org}/requests/{id}/reject': 'rejectRequest',
  'GET /v1/orgs/{org}/requests/{id}/steps': 'requestSteps',
  'POST /v1/orgs/{org}/requests/{id}/execute': 'executeRequest',
  'POST /v1/orgs/{org}/requests/{id}/except': 'exceptRequestStep',
  'GET /v1/orgs/{org}/incidents': 'orgIncidents',
  'POST /v1/orgs/{org}/incidents': 'openIncident',
  'POST /v1/orgs/{org}/incidents/{id}/authority': 'notifyAuthority',
  'GET /v1/orgs/{org}/incidents/{id}/affected': 'affectedSubjects',
  'POST /v1/orgs/{org}/incidents/{id}/notify': 'notifySubjects',
  'POST /v1/orgs/{org}/incidents/{id}/close': 'closeIncident',
  'GET /v1/orgs/{org}/copies': 'orgCopies',
  'POST /v1/orgs/{org}/copies/restricted': 'restrictCopies',
  'GET /v1/orgs/{org}/retention': 'orgRetention',
  'GET /v1/orgs/{org}/retention/systems': 'orgRetentionSystems',
  'GET /v1/orgs/{org}/risk': 'orgRisk',
  'GET /v1/orgs/{org}/profile': 'orgProfile',
  'POST /v1/orgs/{org}/profile': 'setOrgProfile',
  'GET /v1/orgs/{org}/ropa': 'orgRopa',
  'GET /v1/orgs/{org}/dpia': 'orgDpia',
  'GET /v1/requests/overdue': 'overdueRequests',
  'POST /v1/orgs/{org}/gov/propose': 'govPropose',
  'POST /v1/orgs/{org}/gov/vote': 'govVote',
  'POST /v1/orgs/{org}/contracts/{name}/pause': 'contractPause',
  'POST /v1/orgs/{org}/tokens': 'createToken',
  'GET /v1/orgs/{org}/tokens': 'orgTokens',
  'DELETE /v1/orgs/{org}/tokens/{id}': 'revokeToken',
  // the customer's corrections (ADR 0018)
  'GET /v1/orgs/{org}/hpke': 'orgHpkeKey',
  'POST /v1/orgs/{org}/hpke/rotate': 'rotateHpkeKey',
  'POST /v1/orgs/{org}/inbox/{id}': 'deliverCorrection',
  'GET /v1/orgs/{org}/inbox/{id}': 'relayedCorrection',
  'GET /v1/orgs/{org}/rectifications': 'rectifications',
  'POST /v1/orgs/{org}/rectifications/{id}/explain': 'explainRectification',
  'POST /v1/orgs/{org}/rectifications/{id}/extend': 'extendRectification',
  'POST /v1/orgs/{org}/rectifications/{id}/correct': 'correctFlagged',
  'GET /v1/orgs/{org}/rectifications/{id}/steps': 'correctionSteps',
  'POST /v1/orgs/{org}/rectifications/{id}/run': 'runCorrection',
  'POST /v1/orgs/{org}/gpp': 'recordGpp',
  'POST /v1/orgs/{org}/age': 'recordAge',
  'GET /v1/orgs/{org}/gpp/{subject}': 'emittedGpp',
  'GET /v1/orgs/{org}/gpc-evidence': 'gpcEvidence',
  'GET /v1/subjects/{did}/gpc-evidence': 'subjectGpcEvidence',
  'GET /v1/subjects/{did}/exports/{request}': 'subjectExport',
  'GET /v1/orgs/{org}/exports/{request}': 'relayedExport',
  'DELETE /v1/subjects/{did}/exports/{request}': 'confirmExport',
  'DELETE /v1/orgs/{org}/exports/{request}': 'relayedExportConfirm',
  // passkeys (the customer portal's sign-in, ADR 0016)
  'POST /v1/passkeys/register/options': 'passkeyRegisterOptions',
  'POST /v1/passkeys/register': 'passkeyRegister',
  'POST /v1/passkeys/login/options': 'passkeyLoginOptions',
  'POST /v1/passkeys/login': 'passkeyLogin',
  'POST /v1/passkeys/recover': 'passkeyRecover',
  'GET /v1/passkeys/me': 'passkeyMe',
  'PUT /v1/passkeys/me/wallet': 'passkeySetWallet',
  'PUT /v1/passkeys/me/passkeys/{id}/key': 'passkeySetKey',
  'DELETE /v1/passkeys/me/passkeys/{id}': 'passkeyRemove',
  'PUT /v1/passkeys/me/recovery': 'passkeySetRecovery',
  'POST /v1/passkeys/me/device-links': 'passkeyDeviceLink',
  'POST /v1/orgs/{org}/links/challenge': 'linkChallenge',
  'POST /v1/orgs/{org}/links': 'answerLink',
  'GET /v1/orgs/{org}/links/{account}': 'linkedAccount',
  // operations and reference
  'GET /healthz': 'health',
  'GET /readyz': 'ready',
  'GET /metrics': 'metrics',
  'GET /openapi.json': 'openapi',
  'GET /docs': 'docsPage',
} as const satisfies Record<string, ClientMethod>;

export type SdkRoute = keyof typeof SDK_ROUTES;
