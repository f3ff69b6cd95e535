/**
 * Checks a contract's source before QuickJS parses it. QuickJS's parser recurses once per open
 * bracket without checking its own stack (measured: a few hundred nested brackets overflow the
 * host's native stack, at a depth that depends on the caller's stack and on V8's tiering), so the
 * bracket nesting is bounded here, exactly, with acorn's tokenizer (which tells regular
 * expressions from division and skips strings, template text and comments). Regular-expression
 * literals are bounded the same way (groups and classes), before acorn validates them recursively.
 */
import { Parser, tokTypes } from 'acorn';
import { CONTRACT_LIMITS } from './limits.js';

const OPEN = new Set([tokTypes.parenL, tokTypes.bracketL, tokTypes.braceL, tokTypes.dollarBraceL]);
const CLOSE = new Set([tokTypes.parenR, tokTypes.bracketR, tokTypes.braceR]);

/** Groups and character classes open at once in a regular-expression pattern (escapes skipped). */
export function regexNesting(pattern: string): number {
  let groups = 0;
  let classes = 0;
  let max = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[') classes++;
    else if (c === ']' && classes > 0) classes--;
    else if (c === '(' && classes === 0) groups++;
    else if (c === ')' && classes === 0 && groups > 0) groups--;
    if (groups + classes > max) max = groups + classes;
  }
  return max;
}

interface RegExpState {
  source: string;
}

/** acorn's parser with the pattern's nesting bounded before acorn's (recursive) validation runs. */
class BoundedParser extends Parser {
  validateRegExpPattern(state: RegExpState): void {
    if (regexNesting(state.source) > CONTRACT_LIMITS.codeNesting) {
      throw new SyntaxError(`regular expression nested deeper than ${CONTRACT_LIMITS.codeNesting}`);
    }
    (Parser.prototype as unknown as { validateRegExpPattern(s: RegExpState): void }).validateRegExpPattern.call(
      this,
      state,
    );
  }
}

const verdicts = new Map<string, string | null>();
const MAX_CACHED = 256;

/** Why `code` cannot run (a sentence saying what was expected), or null if it may. Cached by source. */
export function codeProblem(code: string): string | null {
  const cached = verdicts.get(code);
  if (cached !== undefined) return cached;
  const verdict = check(code);
  if (verdicts.size >= MAX_CACHED) verdicts.delete(verdicts.keys().next().value as string);
  verdicts.set(code, verdict);
  return verdict;
}

function check(code: string): string | null {
  if (typeof code !== 'string' || code.length === 0) return 'expected the contract source as a non-empty string';
  if (Buffer.byteLength(code, 'utf8') > CONTRACT_LIMITS.codeBytes) {
    return `expected contract source of at most ${CONTRACT_LIMITS.codeBytes} bytes`;
  }
  let depth = 0;
  try {
    for (const tok of BoundedParser.tokenizer(code, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      allowHashBang: false,
    })) {
      if (OPEN.has(tok.type)) {
        depth++;
        if (depth > CONTRACT_LIMITS.codeNesting) {
          return `expected brackets nested at most ${CONTRACT_LIMITS.codeNesting} deep in the contract source`;
        }
      } else if (CLOSE.has(tok.type)) {
        depth--;
      }
    }
  } catch (e) {
    return `expected contract source that parses: ${e instanceof Error ? e.message.slice(0, 120) : 'tokenizer error'}`;
  }
  return null;
}
