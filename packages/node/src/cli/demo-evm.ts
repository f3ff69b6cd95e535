/**
 * The EVM part of `custos demo` (docs/interop.md#the-demo-loyalty-points-for-consent): started once
 * the node listens, so the demo is up at once; a Hardhat chain, the retailer's loyalty token and the
 * participant contract, the members' duties and a relayer, and on a fresh chain the loyalty swap.
 * If Hardhat cannot start (not installed, no free port), the demo says so and runs without it.
 * What a newcomer's commands need (the EVM chain's URL, the contract, the transaction's id) goes
 * to `<home>/demo-evm.json` too, public values only, so that the README's steps read it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DemoEvm, startDemoEvm } from '../demo/evm-chain.js';
import { type DemoLoyaltySummary, runDemoLoyalty } from '../demo/loyalty-swap.js';
import { cliCommand } from '../invocation.js';
import { tokenStoreOf } from '../orgs/tokens.js';
import type { Output } from './output.js';
import type { Peer } from './peer.js';

/** A one-day read token of the retailer's, for the banner's `xtx status` hint. */
function statusToken(peer: Peer): string {
  return tokenStoreOf(peer.node).create('retailer', {
    scopes: ['read'],
    ttlDays: 1,
    label: 'demo xtx status',
    createdBy: 'custos demo',
  }).token;
}

/** `<home>/demo-evm.json`: the demo's EVM chain and, on a fresh chain, its loyalty swap's xtx id. */
export const DEMO_EVM_FILE = 'demo-evm.json';

export interface DemoEvmFile {
  rpcUrl: string;
  evmChainId: number;
  token: string;
  participant: string;
  /** The committed loyalty swap (the first start of a demo chain only). */
  xtxId?: string;
}

export interface DemoEvmStarted {
  evm?: DemoEvm;
  loyalty?: DemoLoyaltySummary;
  /** Why there is no EVM part, when there is none. */
  note?: string;
}

/**
 * Starts the demo's EVM side for `peer` and stops it with the peer. `fresh`: the chain was just
 * loaded, so the loyalty swap runs too. Resolves once started (or refused); never rejects.
 */
export async function startDemoEvmSide(
  out: Output,
  peer: Peer,
  opts: { home: string; passphrase: string; fresh: boolean },
): Promise<DemoEvmStarted> {
  let evm: DemoEvm | undefined;
  let stopped = false;
  const close = peer.close;
  peer.close = () => {
    stopped = true;
    // The loops first, so none of them reads from a chain that is gone.
    return (evm?.stop() ?? Promise.resolve()).catch(() => {}).finally(close);
  };
  try {
    evm = await startDemoEvm({
      node: peer.node,
      home: opts.home,
      passphrase: opts.passphrase,
      orgSigners: peer.orgSigners,
      logFile: join(opts.home, 'hardhat.log'),
      log: (m) => process.stderr.write(`${m.slice(0, 500)}\n`),
    });
    if (stopped) {
      await evm.stop();
      return { note: 'stopped' };
    }
    const lines = [
      `EVM chain ${evm.evmChainId} (Hardhat) on ${evm.chain.rpcUrl}: the retailer's loyalty token ${evm.token}, the participant contract ${evm.participant}; the members attest and sign, a relayer runs.`,
    ];
    let loyalty: DemoLoyaltySummary | undefined;
    if (opts.fresh) {
      loyalty = await runDemoLoyalty(
        { node: peer.node, orgs: peer.orgs, home: opts.home, passphrase: opts.passphrase },
        peer.orgSigners.get('retailer')!,
        evm,
      );
      lines.push(
        `Ada Example joined the retailer's loyalty programme: her consent, the share of her purchase history with the bank and ${loyalty.points} points to ${loyalty.address}, atomically (first try aborted on both sides: the retailer had not approved the transfer).`,
        `See both legs: ${cliCommand(`xtx status ${loyalty.committed.xtxId} --chain ${peer.url} --token ${statusToken(peer)} --evm-rpc ${evm.chain.rpcUrl}`)}`,
      );
    }
    const file: DemoEvmFile = {
      rpcUrl: evm.chain.rpcUrl,
      evmChainId: evm.evmChainId,
      token: evm.token,
      participant: evm.participant,
      ...(loyalty === undefined ? {} : { xtxId: loyalty.committed.xtxId }),
    };
    writeFileSync(join(opts.home, DEMO_EVM_FILE), `${JSON.stringify(file, null, 2)}\n`);
    for (const l of lines) out.note(l);
    return { evm, ...(loyalty === undefined ? {} : { loyalty }) };
  } catch (e) {
    const note = `The EVM part of the demo did not start (${(e as Error).message.slice(0, 300)}); the demo runs without it.`;
    if (!stopped) out.note(note);
    return { note };
  }
}
