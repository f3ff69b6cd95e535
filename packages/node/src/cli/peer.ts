/**
 * Runs a peer from a home directory: opens the node with the home's member keys, serves the HTTP
 * API, and shuts both down cleanly on SIGINT / SIGTERM (a second signal exits at once). A home with
 * a `consortium.json` runs a consortium peer: etcd ordering, quorum finality, catch-up from the
 * other peers; on a fatal error (divergence, ordering failure) it closes and the process exits 70.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import type { FastifyInstance } from 'fastify';
import { createServer, listen } from '../api/server.js';
import { loadConnectors } from '../connectors/config.js';
import { startRetentionSchedule, stopRetentionSchedules } from '../connectors/retention.js';
import { loadConsortiumConfig, loadEtcdSecurity } from '../consortium/config.js';
import { NodeError } from '../errors.js';
import { loadHome } from '../home.js';
import { type HomeLock, lockHome } from '../home-lock.js';
import { EVM_CONFIG_FILE } from '../interop/evm/evm-config-file.js';
import type { EvmDuties } from '../interop/evm/evm-duties.js';
import { type ClockAlarm, CustosNode } from '../node.js';
import { OrgService } from '../orgs/org-service.js';
import { RectifyRelay } from '../orgs/rectify-relay.js';
import type { PasskeyLimits } from '../passkeys/limits.js';
import { openVaults } from '../vault/home-vaults.js';

export interface PeerOptions {
  home: string;
  passphrase: string;
  host: string;
  port: number;
  logger: boolean;
  /**
   * The names clients reach this peer by (`host[:port]`), which signed requests must name as their
   * `@authority`: set it behind a reverse proxy. Default: $CUSTOS_AUTHORITIES (comma-separated),
   * else the names of the address it listens on.
   */
  authorities?: string[];
  /** The org service's operator log (JSON lines on stderr); default on. */
  operatorLog?: boolean;
}

export interface Peer {
  node: CustosNode;
  app: FastifyInstance;
  url: string;
  /** The home's member keys by org id. */
  orgSigners: Map<string, Signer>;
  /** The orgs whose keys and vaults this peer holds. */
  orgs: OrgService;
  close(): Promise<void>;
}

export async function startPeer(opts: PeerOptions): Promise<Peer> {
  // One home, one node: refuse at once if another node holds this home.
  if (!existsSync(opts.home))
    throw new NodeError('NOT_INITIALIZED', `no chain in ${opts.home}; run \`custos init\` first`);
  const lock = lockHome(opts.home);
  try {
    return await openPeer(opts, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** The global quota of unfinished passkey sign-ups from the environment (docs/operations.md, "Passkeys"). */
export function passkeyLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<PasskeyLimits> {
  const count = (name: string) => {
    const v = env[name]?.trim();
    if (v === undefined || v === '') return undefined;
    if (!/^[1-9][0-9]{0,8}$/.test(v)) {
      throw new NodeError('BAD_REQUEST', `expected ${name} as a positive whole number, got '${v.slice(0, 20)}'`);
    }
    return Number(v);
  };
  const maxUnfinished = count('CUSTOS_PASSKEY_MAX_UNFINISHED');
  const minutes = count('CUSTOS_PASSKEY_UNFINISHED_MINUTES');
  return {
    ...(maxUnfinished === undefined ? {} : { maxUnfinished }),
    ...(minutes === undefined ? {} : { unfinishedTtlMs: minutes * 60_000 }),
  };
}

async function openPeer(opts: PeerOptions, lock: HomeLock): Promise<Peer> {
  const passkeyLimits = passkeyLimitsFromEnv();
  const home = loadHome(opts.home, opts.passphrase);
  const consortium = loadConsortiumConfig(opts.home);
  const log = (message: string) =>
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), message })}\n`);
  // etcd's client loads only for a consortium peer.
  const node = consortium
    ? await (await import('../consortium/peer-node.js')).openConsortiumNode({
        dbPath: home.dbPath,
        genesis: home.genesis,
        signers: home.signers,
        config: consortium,
        etcdSecurity: loadEtcdSecurity(opts.home, consortium.etcd, opts.passphrase),
        ...(process.env.CUSTOS_CONSORTIUM_LOG ? { log } : {}),
      })
    : await CustosNode.open({ dbPath: home.dbPath, genesis: home.genesis, signers: home.signers });
  const vaults = openVaults(opts.home, home.orgSigners.keys(), opts.passphrase);
  const orgs = new OrgService(
    node,
    [...home.orgSigners].map(([id, signer]) => ({ id, signer, vault: vaults.get(id)! })),
    // Operator log: ids and reasons only, never a value or a subject.
    opts.operatorLog === false
      ? () => {}
      : (event) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`),
  );
  try {
    // The connectors to the orgs' own systems (<home>/connectors.json), if any: system ids and digests only.
    for (const [org, c] of loadConnectors(opts.home, orgs)) {
      log(`connectors of ${org}: ${c.systems.join(', ')} (data map digest ${c.digest})`);
      if (c.retentionIntervalMinutes !== undefined) {
        startRetentionSchedule(orgs, org, c.retentionIntervalMinutes * 60_000, (e) =>
          process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`),
        );
        log(`retention schedule of ${org}'s systems: every ${c.retentionIntervalMinutes} minute(s)`);
      }
    }
  } catch (e) {
    await stopRetentionSchedules(orgs);
    await orgs.closeConnectors();
    await node.close();
    for (const v of vaults.values()) v.close();
    throw e;
  }
  // The member's EVM duties (<home>/evm.json): attest EVM headers, sign decisions for EVM participants.
  let evmDuties: EvmDuties | undefined;
  try {
    // viem loads only for a member that has EVM duties.
    evmDuties = existsSync(join(opts.home, EVM_CONFIG_FILE))
      ? (await import('../interop/evm/evm-duties.js')).loadEvmDuties(
          opts.home,
          node,
          home.orgSigners,
          opts.passphrase,
          log,
        )
      : undefined;
  } catch (e) {
    await stopRetentionSchedules(orgs);
    await orgs.closeConnectors();
    await node.close();
    for (const v of vaults.values()) v.close();
    throw e;
  }
  orgs.startRetention();
  evmDuties?.start();
  const authorities =
    opts.authorities ??
    process.env.CUSTOS_AUTHORITIES?.split(',')
      .map((a) => a.trim())
      .filter((a) => a.length > 0);
  // The portal's passkeys (ADR 0016): its relying party id and origins, when served under a public name.
  const rpId = process.env.CUSTOS_PASSKEY_RP_ID?.trim();
  const origins = process.env.CUSTOS_PASSKEY_ORIGINS?.split(',')
    .map((o) => o.trim())
    .filter((o) => o.length > 0);
  const app = createServer(node, {
    logger: opts.logger,
    passkeyLimits,
    orgs,
    peers: consortium?.peers ?? [],
    ...(authorities === undefined || authorities.length === 0 ? {} : { authorities }),
    ...(rpId === undefined || rpId === '' || origins === undefined ? {} : { passkeys: { rpId, origins } }),
  });
  let url: string;
  try {
    url = await listen(app, { host: opts.host, port: opts.port });
  } catch (cause) {
    orgs.stop();
    await evmDuties?.stop();
    await stopRetentionSchedules(orgs);
    await orgs.closeConnectors();
    await app.close().catch(() => {});
    await node.close();
    for (const v of vaults.values()) v.close();
    const reason = (cause as { code?: string }).code ?? (cause as Error).message;
    throw new NodeError('BAD_REQUEST', `cannot listen on ${opts.host}:${opts.port}: ${reason}`, { cause });
  }
  // The customers' corrections: items a crash or a slow commit left pending are resumed now, and
  // envelopes delivered to other members' peers are fetched from them (ADR 0018).
  const relay = new RectifyRelay(node, orgs, {
    peers: consortium?.peers ?? [],
    log: (e) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`),
  });
  void relay.start();
  let closing: Promise<void> | undefined;
  const close = () => {
    // Both at once: the node fails requests still waiting for a commit (503), so the server's
    // close does not wait for them; committed blocks are already durable.
    orgs.stop();
    // Retention schedules first: a run in progress finishes before its connectors close. The EVM
    // duties finish their pass before the node closes.
    closing ??= Promise.all([relay.stop(), stopRetentionSchedules(orgs)])
      .then(() =>
        Promise.all([
          app.close(),
          (evmDuties?.stop() ?? Promise.resolve()).then(() => node.close()),
          orgs.closeConnectors(),
        ]),
      )
      .then(() => {
        for (const v of vaults.values()) v.close();
        lock.release();
      });
    return closing;
  };
  // The clock alarm: heights and times only.
  node.on('clock-alarm', (a: ClockAlarm) =>
    log(
      `clock alarm (${a.kind}): block ${a.height} dated ${a.blockTime} (ms since the epoch), ${a.skewMs} ms from this peer's clock: ${a.reason}`,
    ),
  );
  if (consortium) {
    node.on('conflict', (e: { height: number; members: string[] }) =>
      log(`evidence: members ${e.members.join(', ')} signed another checkpoint at height ${e.height}`),
    );
    // `onFatal`, not `on('fatal')`: the node may have stopped while the peer was setting up (its
    // exchange found a divergence before the server listened); such a peer must exit all the same.
    node.onFatal((e: unknown) => {
      log(`fatal: ${(e as Error).message}; closing the peer`);
      close().finally(() => process.exit(70));
    });
  }
  return { node, app, url, orgSigners: home.orgSigners, orgs, close };
}

/** Closes the peer on SIGINT / SIGTERM, then exits 0; a second signal exits at once. */
export function closeOnSignals(peer: Peer, onClosed: () => void = () => {}): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    process.stderr.write(`${signal}: stopping the node\n`);
    peer.close().then(
      () => {
        onClosed();
        process.exit(0);
      },
      (e: unknown) => {
        process.stderr.write(`error INTERNAL: ${(e as Error).message}\n`);
        process.exit(70);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
