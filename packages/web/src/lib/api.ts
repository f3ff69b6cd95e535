/** The app's one client of the node that served it, and how its errors read to a person. */
import { CustosApiError, CustosClient } from '@custos/sdk';

/** Same origin: the node serves the app and the API. */
export const client = new CustosClient();

/** Where the console keeps the org API token it signed in with, for this tab only. */
export const CONSOLE_TOKEN_KEY = 'custos.console.token';

/** The org API token the console signed in with in this tab, if any. */
export function consoleToken(): string | undefined {
  const token = typeof sessionStorage === 'undefined' ? null : sessionStorage.getItem(CONSOLE_TOKEN_KEY);
  return token === null || token.length === 0 ? undefined : token;
}

/**
 * The client reading as the org signed in to the console in this tab (members read contract calls
 * and their receipts), when the visitor asks for it; the public view otherwise.
 */
export function readerClient(asMember: boolean): CustosClient {
  const token = asMember ? consoleToken() : undefined;
  return token === undefined ? client : client.withToken(token);
}

/** A sentence for an error, for a person (the code and detail stay available for the curious). */
export function errorText(e: unknown): string {
  if (e instanceof CustosApiError) {
    switch (e.code) {
      case 'NODE_UNREACHABLE':
        // The node answered: it could not reach the company's own node (the detail names it).
        if (e.problem !== undefined) return `The company's node cannot be reached just now: ${e.detail}`;
        return 'We cannot reach the Custos node. Check that it is running, then try again.';
      case 'TIMEOUT':
        return 'The node took too long to answer. Try again in a moment.';
      case 'RATE_LIMITED':
        return 'Too many requests in a short time. Wait a minute, then try again.';
      case 'UNAUTHENTICATED':
      case 'FORBIDDEN':
      case 'SIGNATURE_EXPIRED':
      case 'REPLAYED_REQUEST':
        return `The node did not accept our credentials: ${e.detail}`;
      case 'NOT_FOUND':
        return `Not found: ${e.detail}`;
      default:
        return `The node refused: ${e.detail}`;
    }
  }
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (code === 'WRONG_PASSPHRASE') return 'That passphrase does not open this wallet.';
    if (code === 'BAD_WALLET') return `This is not a Custos wallet backup: ${e.message}`;
    if (code === 'BAD_PROOF' || code === 'BAD_CERTIFICATE' || code === 'BAD_CHECKPOINT') {
      return `The proof does not check out: ${e.message}`;
    }
    return e.message;
  }
  return String(e);
}
