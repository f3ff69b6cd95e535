/**
 * Request authentication beyond a bearer token: a `RequestSigner` adds headers to each outgoing
 * request, and `signedBy` makes one from a protocol `Signer` (RFC 9421 HTTP Message Signatures).
 */
import type { Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';

/** What a `RequestSigner` is asked to sign. */
export interface OutgoingRequest {
  method: string;
  /** Absolute URL (or path, when the client has no base URL), with the query string. */
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Adds authentication headers to a request (an RFC 9421 signature, say). */
export type RequestSigner = (request: OutgoingRequest) => Promise<Record<string, string>> | Record<string, string>;

/**
 * Signs requests with RFC 9421 HTTP Message Signatures (the protocol's `signRequest`): a customer's
 * pairwise key for their own report and receipts, or an org's member key for its routes.
 *
 * @example
 * const { signer } = wallet.relationship(chainId, 'bank');
 * await client.subjectReport(did, {}, { sign: signedBy(signer) });
 */
export function signedBy(signer: Signer): RequestSigner {
  return (req) => {
    const h = signRequest(
      { method: req.method, url: req.url, ...(req.body === undefined ? {} : { body: req.body }) },
      signer,
    );
    const out: Record<string, string> = { 'signature-input': h['Signature-Input'], signature: h.Signature };
    if (h['Content-Digest'] !== undefined) out['content-digest'] = h['Content-Digest'];
    return out;
  };
}
