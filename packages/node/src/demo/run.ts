/** One load of the demo customers: each step done as an org or a customer, its result code checked. */
import type { JsonValue } from '@custos/protocol/jcs';
import { type ResultCode, signTx } from '@custos/protocol/ledger';
import type { PairwiseIdentity } from '@custos/protocol/wallet';
import { NodeError } from '../errors.js';
import type { LawfulBasis } from '../modules/data.js';
import type { CommitResult, CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';
import type { Vault } from '../vault/vault.js';

export interface DemoTarget {
  node: CustosNode;
  orgs: OrgService;
  /** The home whose `demo-wallets/` receives the wallets, and whose vaults hold the values. */
  home: string;
  /** The home's passphrase: it also encrypts the demo wallets. */
  passphrase: string;
  /**
   * An org's vault, where a recipient stores the copy it received through a share (OrgService has
   * no call for that yet). Default: a second handle on the home's vault, closed at the end.
   */
  vaultOf?: (org: string) => Vault;
}

/** One demo load: helpers that do each step as an org or a customer and check its result code. */
export class DemoRun {
  readonly counts = { transactions: 0, records: 0, accesses: 0, refused: 0, shares: 0, requests: 0, erased: 0 };

  constructor(
    private readonly t: DemoTarget,
    private readonly vaultOf: (org: string) => Vault,
  ) {}

  private check(r: CommitResult, expected: ResultCode, step: string): CommitResult {
    this.counts.transactions++;
    if (r.code !== 'OK') this.counts.refused++;
    if (r.code !== expected) {
      throw new NodeError('INTERNAL', `demo step '${step}' ended with ${r.code}, expected ${expected}`);
    }
    return r;
  }

  /** A transaction signed by the customer's pairwise key for the org it names. */
  async customer(me: PairwiseIdentity, type: string, args: { [k: string]: JsonValue }, expected: ResultCode = 'OK') {
    const tx = signTx({ chainId: this.t.node.chainId, type, args }, me.signer);
    return this.check(await this.t.node.submitAndWait(tx), expected, type);
  }

  async register(
    org: string,
    subject: PairwiseIdentity,
    category: string,
    purposes: Record<string, LawfulBasis>,
    retentionDays: number,
    value: JsonValue,
  ): Promise<string> {
    const r = await this.t.orgs.register(org, {
      subject: subject.did,
      category,
      purposes,
      source: 'subject',
      retentionDays,
      value,
    });
    this.check(r, 'OK', `${org} registers ${category}`);
    this.counts.records++;
    return r.recordId;
  }

  async access(org: string, record: string, purpose: string, basis: LawfulBasis, expected: ResultCode = 'OK') {
    this.counts.accesses++;
    const { value: _value, ...r } = await this.t.orgs.access(org, record, purpose, basis);
    return this.check(r, expected, `${org} uses ${record.slice(0, 8)} for ${purpose}`);
  }

  async share(org: string, record: string, to: string, purpose: string, sale: boolean, expected: ResultCode = 'OK') {
    const r = this.check(await this.t.orgs.share(org, record, to, purpose, sale), expected, `${org} shares with ${to}`);
    if (r.code === 'OK') this.counts.shares++;
    return r;
  }

  /**
   * The recipient's side of a share: the holder reads the value (a logged use for the share's
   * purpose), the recipient stores it in its vault and registers its copy, linked to the source.
   */
  async receiveCopy(
    from: string,
    record: string,
    to: string,
    subject: string,
    share: { purpose: string; basis: LawfulBasis },
    purposes: Record<string, LawfulBasis>,
    retentionDays: number,
  ): Promise<string> {
    this.counts.accesses++;
    const read = await this.t.orgs.access(from, record, share.purpose, share.basis);
    this.check(read, 'OK', `${from} reads ${record.slice(0, 8)} to send it`);
    const source = this.t.orgs.record(from, record);
    if (source === undefined || read.value === undefined)
      throw new NodeError('INTERNAL', 'demo: the shared record vanished');
    const vault = this.vaultOf(to);
    const { vaultRef, commitment } = vault.put(subject, read.value);
    const r = await this.t.orgs.submit(to, 'data.register', {
      subject,
      category: source.category,
      purposes,
      sourceRecord: { org: from, id: record },
      commitment,
      vaultRef,
      retentionDays,
    });
    if (r.code !== 'OK') vault.eraseRecord(vaultRef);
    this.check(r, 'OK', `${to} registers its copy`);
    this.counts.records++;
    return r.txId;
  }

  async openRequest(me: PairwiseIdentity, org: string, kind: string, records: string[] = []): Promise<string> {
    const r = await this.customer(me, 'request.open', {
      org,
      kind,
      jurisdiction: 'GDPR',
      ...(records.length === 0 ? {} : { records }),
    });
    this.counts.requests++;
    return r.txId;
  }

  async asOrg(org: string, type: string, args: { [k: string]: JsonValue }, expected: ResultCode = 'OK') {
    return this.check(await this.t.orgs.submit(org, type, args), expected, `${org} ${type}`);
  }

  async rectify(org: string, record: string, value: JsonValue) {
    return this.check(await this.t.orgs.rectify(org, record, value), 'OK', `${org} rectifies ${record.slice(0, 8)}`);
  }

  async eraseSubject(org: string, subject: string) {
    const results = await this.t.orgs.eraseSubject(org, subject, 'request');
    for (const r of results) this.check(r, 'OK', `${org} erases a subject`);
    this.counts.erased += results.length;
  }
}
