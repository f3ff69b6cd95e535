/**
 * @custos/sdk/client: the typed HTTP client alone (`CustosClient`, its errors, request signing),
 * for programs that start often and need nothing else, such as the `custos` CLI: importing the
 * whole SDK loads the wallet, HPKE and the verifiers too (docs/performance.md, "CLI start-up").
 */
export { CustosClient, type CustosClientOptions } from './client.js';
export { type ApiErrorCode, CustosApiError } from './errors.js';
export { type RequestSigner, signedBy } from './transport/signing.js';
