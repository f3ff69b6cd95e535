/** `custos tx`'s action: sign a transaction with the key the flags name and submit it to a node. */
import { signTx } from '@custos/protocol/ledger';
import { NodeError } from '../errors.js';
import { parseArgsObject, parsePositiveInt } from './args.js';
import { NodeClient } from './client.js';
import { output, TX_FAILED_EXIT } from './output.js';
import { signerOf, type TxFlags } from './tx-signer.js';

export async function submitTx(flags: TxFlags): Promise<void> {
  const out = output(flags.json === true);
  if (flags.type === undefined || flags.args === undefined) {
    throw new NodeError('BAD_REQUEST', "expected --type and --args (or a subcommand: 'tx show TXID')");
  }
  const args = parseArgsObject(flags.args);
  const { signer, chainId: homeChain } = signerOf(flags);
  const client = new NodeClient(flags.node);
  const { chainId } = await client.chain();
  if (homeChain !== undefined && homeChain !== chainId) {
    throw new NodeError(
      'BAD_REQUEST',
      `the node serves chain '${chainId}', but the home's genesis is for '${homeChain}'`,
    );
  }
  const signed = signTx({ chainId, type: flags.type, args }, signer);
  const r = await client.submit(
    signed,
    flags.wait,
    flags.waitTimeout === undefined ? undefined : parsePositiveInt(flags.waitTimeout, '--wait-timeout') * 1000,
  );
  if (!('code' in r)) {
    out.result(r, `Transaction ${r.txId} accepted; it will be in one of the next blocks.`);
    return;
  }
  out.result(r, [
    `Transaction ${r.txId} committed: height ${r.height}, index ${r.index}, result ${r.code}${r.detail === undefined ? '' : `: ${r.detail}`}.`,
  ]);
  if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
}
