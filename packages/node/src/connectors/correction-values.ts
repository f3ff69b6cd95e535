/**
 * What a customer's corrected value writes into each mapped column of a system (GDPR Art. 16): a
 * string, number, true, false or null goes into any column; a JSON object goes whole into a column
 * the data map marks `json: true` (a JSON or JSONB column, given the value's canonical JSON), and
 * key by key into the columns it marks with `key`. Anything else is BAD_REQUEST naming the column
 * and the shape it expected, never the value.
 */
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { NodeError } from '../errors.js';
import { MAX_RECTIFY_VALUE_CHARS, type Rectification } from './connector.js';

/** A mapped field of the corrected category, as the data map says to write it. */
export interface MappedField {
  table: string;
  field: string;
  /** A JSON or JSONB column: the whole value, as JSON text. */
  json?: true;
  /** The key of the value (a JSON object) this column holds. */
  key?: string;
}

const shapeOf = (v: JsonValue): string =>
  v === null ? 'null' : Array.isArray(v) ? 'a JSON array' : typeof v === 'object' ? 'a JSON object' : `a ${typeof v}`;

const isScalar = (v: JsonValue): v is Rectification['value'] => v === null || typeof v !== 'object';

/** The rectification of each of `fields` for the corrected `value`, or BAD_REQUEST saying what each column expected. */
export function rectificationsOf(system: string, fields: readonly MappedField[], value: JsonValue): Rectification[] {
  return fields.map((f) => {
    const column = `column ${f.table}.${f.field} of ${system}`;
    if (f.json === true) {
      const text = canonicalize(value);
      if (text.length > MAX_RECTIFY_VALUE_CHARS) {
        throw new NodeError(
          'BAD_REQUEST',
          `${column}: expected the corrected value as JSON of at most ${MAX_RECTIFY_VALUE_CHARS} characters, got ${text.length}`,
        );
      }
      return { table: f.table, field: f.field, value: text };
    }
    if (f.key !== undefined) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new NodeError(
          'BAD_REQUEST',
          `${column}: expected the corrected value as a JSON object with the key '${f.key}' the data map names, got ${shapeOf(value)}`,
        );
      }
      // A key the corrected object no longer has: the column is emptied, as the customer's value has nothing there.
      const part = Object.hasOwn(value, f.key) ? value[f.key]! : null;
      if (!isScalar(part)) {
        throw new NodeError(
          'BAD_REQUEST',
          `${column}: expected the corrected value's '${f.key}' as a string, number, true, false or null, got ${shapeOf(part)}`,
        );
      }
      return { table: f.table, field: f.field, value: part };
    }
    if (!isScalar(value)) {
      throw new NodeError(
        'BAD_REQUEST',
        `${column}: expected a string, number, true, false or null to write into it, got ${shapeOf(value)}: map the column with "json": true (a JSON or JSONB column takes the whole value) or "key": "<the key it holds>" in the data map`,
      );
    }
    return { table: f.table, field: f.field, value };
  });
}
