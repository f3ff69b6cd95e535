/**
 * The small schemas every route group checks the same way (ids, did:keys, DPV terms, org ids, page
 * sizes), written once as TypeBox schemas so a handler's params, query and body are typed from
 * them. Each builds plain JSON Schema (what Ajv validates and the OpenAPI document shows); an enum
 * stays `{type: 'string', enum}` rather than TypeBox's union of literals, so validation messages
 * and the document read as before.
 */
import { type SchemaOptions, type TProperties, Type } from '@sinclair/typebox';

export const HEX64_PATTERN = '^[0-9a-f]{64}$';

/** A 64-hex id (SHA-256): a transaction, a record, a request, a proposal. */
export const hex64 = (opts: SchemaOptions = {}) => Type.String({ pattern: HEX64_PATTERN, ...opts });

/** A transaction id. */
export const txId = () => hex64({ description: 'Transaction id: hex SHA-256 of the canonical body.' });

/** An Ed25519 did:key: a subject's pairwise key or a member key. */
export const did = (opts: SchemaOptions = {}) =>
  Type.String({ pattern: '^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$', ...opts });

/** A DPV term (`dpv:Marketing`, `pd:EmailAddress`): purposes and data categories. */
export const dpvTerm = (opts: SchemaOptions = {}) =>
  Type.String({ pattern: '^[a-z][a-z0-9-]{0,15}:[A-Za-z][A-Za-z0-9-]{0,63}$', ...opts });

/** A member org id. */
export const orgId = (opts: SchemaOptions = {}) => Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$', ...opts });

/** A non-negative integer in a query string: query strings stay strings (type coercion is off). */
export const integerString = (opts: SchemaOptions = {}) => Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$', ...opts });

/** A page size as a string of digits; the handler checks the range and names it in its error. */
export const pageSize = (opts: SchemaOptions = {}) => Type.String({ pattern: '^[0-9]{1,4}$', ...opts });

/** One of `values`, as `{type: 'string', enum}`. */
export const stringEnum = <const T extends readonly string[]>(values: T, opts: SchemaOptions = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });

/** A closed object: unknown fields are rejected, never silently dropped. */
export const closed = <P extends TProperties>(properties: P, opts: SchemaOptions = {}) =>
  Type.Object(properties, { additionalProperties: false, ...opts });

/** A query string that takes no parameter. */
export const noQuery = () => closed({});
