/**
 * The pre-deployment risk check (issue 14, item 4): each seeded bad contract is flagged with the
 * right rule at the right line, the demo contracts pass, reports are byte-identical across
 * runtimes, input is bounded, and docs/contracts.md lists the rules as they are in code.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CONTRACT_LIMITS,
  type ContractManifest,
  ContractRuntime,
  parseManifest,
  RISK_CHECK_LIMITS,
  RISK_LEVELS,
  RISK_RULES,
  RiskCheckError,
  type RiskCheckInput,
  type RiskReport,
  type RiskRuleId,
  type RiskTestCall,
  riskCheck,
  riskReportJson,
} from '../src/contracts/index.js';
import { riskCheckWithin } from '../src/contracts/risk-check.js';
import { piiKind } from '../src/contracts/risk-rules.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/contracts/${name}`, import.meta.url), 'utf8');
const demo = (name: string): RiskCheckInput => ({
  code: fixture(`${name}.js`),
  manifest: parseManifest(JSON.parse(fixture(`${name}.manifest.json`))),
  tests: JSON.parse(fixture(`${name}.tests.json`)) as RiskTestCall[],
});

const MANIFEST: ContractManifest = {
  name: 'seeded',
  version: '1.0.0',
  namespaces: ['main'],
  grants: ['data.access'],
  categories: [],
  purposes: [],
  maxGas: 1_000_000,
};

/** A bad contract: its code, and the rule and line the check must report. */
interface Seeded {
  name: string;
  rule: RiskRuleId;
  line: number;
  code: string[];
}

const SEEDED: Seeded[] = [
  {
    name: 'reads the clock',
    rule: 'forbidden-global',
    line: 2,
    code: ['exports.run = function () {', '  return Date.now();', '};'],
  },
  {
    name: 'draws a random number',
    rule: 'forbidden-global',
    line: 3,
    code: ['exports.run = function () {', '  const x = 1;', '  return Math.random() * x;', '};'],
  },
  {
    name: 'evaluates code',
    rule: 'forbidden-global',
    line: 2,
    code: ['exports.run = function (args) {', '  return eval(args.src);', '};'],
  },
  {
    name: 'reaches Function through a constructor',
    rule: 'forbidden-global',
    line: 2,
    code: ['exports.run = function () {', "  return (() => 1).constructor('return 1')();", '};'],
  },
  {
    name: 'holds a WeakRef',
    rule: 'forbidden-global',
    line: 2,
    code: ['exports.run = function () {', '  const r = new WeakRef({});', '  return 1;', '};'],
  },
  {
    name: 'spins forever',
    rule: 'unbounded-loop',
    line: 3,
    code: [
      'exports.run = function () {',
      '  let n = 0;',
      '  while (true) {',
      '    n++;',
      '    for (;;) { break; }',
      '  }',
      '};',
    ],
  },
  {
    name: 'loops for(;;) with only an inner break',
    rule: 'unbounded-loop',
    line: 2,
    code: ['exports.run = function () {', '  for (;;) {', '    while (true) { break; }', '  }', '};'],
  },
  {
    name: 'lets the caller choose the work',
    rule: 'args-bound-loop',
    line: 4,
    code: [
      'exports.run = function (args) {',
      '  let x = 0;',
      '  const n = args.count * 2;',
      '  for (let i = 0; i < n; i++) x += i;',
      "  host.put('main/x', x);",
      '};',
    ],
  },
  {
    name: 'recurses directly',
    rule: 'recursion',
    line: 1,
    code: [
      'function depth(t) { return t && t.child ? 1 + depth(t.child) : 0; }',
      'exports.run = function (args) { return depth(args.tree); };',
    ],
  },
  {
    name: 'recurses through a cycle',
    rule: 'recursion',
    line: 3,
    code: [
      'function even(n) { return n === 0 ? true : odd(n - 1); }',
      'exports.run = function (args) { return even(Math.min(args.n, 10)); };',
      'const odd = (n) => (n === 0 ? false : even(n - 1));',
    ],
  },
  {
    name: 'asks for an action it was not granted',
    rule: 'ungranted-system',
    line: 3,
    code: [
      'exports.run = function (args) {',
      "  host.system('data.access', { subject: args.s });",
      "  return host.system('data.share', { subject: args.s, to: 'broker' });",
      '};',
    ],
  },
  {
    name: 'reads another namespace',
    rule: 'key-outside-namespace',
    line: 2,
    code: ['exports.run = function () {', "  return host.get('other/secret');", '};'],
  },
  {
    name: 'writes outside its namespaces through a template',
    rule: 'key-outside-namespace',
    line: 3,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the contract's source, with a template literal
    code: ['exports.run = function (args) {', "  host.put('main/ok', 1);", '  host.put(`audit/${args.id}`, 1);', '};'],
  },
  {
    name: 'stores an email field',
    rule: 'personal-data',
    line: 2,
    code: [
      'exports.run = function (args) {',
      '  host.put("main/c/" + args.id, { tier: 1, email: args.contact });',
      '};',
    ],
  },
  {
    name: 'stores a phone number literal',
    rule: 'personal-data',
    line: 3,
    code: [
      'exports.run = function () {',
      "  const note = { tier: 'gold',",
      "    hotline: '+41 44 668 18 00' };",
      "  host.put('main/n', note);",
      '};',
    ],
  },
  {
    name: 'keys state by an IBAN',
    rule: 'personal-data',
    line: 2,
    code: ['exports.run = function () {', "  host.put('main/acct/DE89 3704 0044 0532 0130 00', { open: true });", '};'],
  },
  {
    name: 'emits a customer name',
    rule: 'personal-data',
    line: 2,
    code: ['exports.run = function (args) {', "  host.emit({ type: 'welcome', who: args.customerName });", '};'],
  },
  {
    name: 'indexes host with a computed name',
    rule: 'dynamic-code',
    line: 2,
    code: ['exports.run = function (args) {', "  return host[args.op]('main/x');", '};'],
  },
  {
    name: 'computes the system action',
    rule: 'dynamic-code',
    line: 2,
    code: ['exports.run = function (args) {', "  return host.system('data.' + args.verb, {});", '};'],
  },
  {
    name: 'aliases host',
    rule: 'dynamic-code',
    line: 1,
    code: ['const h = host;', "exports.run = function () { return h.get('x/y'); };"],
  },
  {
    name: 'replaces a host function',
    rule: 'dynamic-code',
    line: 2,
    code: ['exports.run = function () {', '  host.put = () => 0;', "  host.put('main/a', 1);", '};'],
  },
  {
    name: 'redefines a global',
    rule: 'dynamic-code',
    line: 2,
    code: ['exports.run = function () {', "  Object.defineProperty(globalThis, 'host', { value: {} });", '};'],
  },
  {
    name: 'keys state by an argument alone',
    rule: 'unresolved-key',
    line: 2,
    code: ['exports.run = function (args) {', '  return host.get(args.key);', '};'],
  },
];

const codeOf = (s: Seeded) => s.code.join('\n');

let a: ContractRuntime;
let b: ContractRuntime;
/** The demo contracts' inputs and their reports on runtime a (computed once: a dry run costs calls). */
const demos = new Map<string, { input: RiskCheckInput; json: string }>();

describe('contract risk check', () => {
  beforeAll(async () => {
    [a, b] = await Promise.all([ContractRuntime.create(), ContractRuntime.create()]);
    for (const name of ['data-sharing', 'loyalty']) {
      const input = demo(name);
      demos.set(name, { input, json: riskReportJson(riskCheck(input, a)) });
    }
  });

  it('flags each seeded bad contract with the right rule at the right line', () => {
    const rules = new Set<string>();
    for (const s of SEEDED) {
      // Static analysis only (no test calls): the dry run is covered below.
      const report = riskCheck({ code: codeOf(s), manifest: MANIFEST }, a);
      const hit = report.findings.filter((f) => f.rule === s.rule);
      expect(
        hit.map((f) => f.line),
        s.name,
      ).toContain(s.line);
      expect(report.passed, s.name).toBe(RISK_RULES[s.rule].severity !== 'high');
      for (const f of hit) expect(f.severity).toBe(RISK_RULES[s.rule].severity);
      rules.add(s.rule);
    }
    // Every rule but missing-tests (below) has a seeded contract.
    expect([...rules, 'missing-tests'].sort()).toEqual(Object.keys(RISK_RULES).sort());
  });

  it('flags exported methods without a declared test, and fails a test that does not end OK', () => {
    const code = "exports.a = () => host.put('main/a', 1);\nexports.b = () => { throw new Error('no'); };";
    const r = riskCheck({ code, manifest: MANIFEST, tests: [{ method: 'b', args: null, caller: 'bank' }] }, a);
    expect(r.findings).toEqual([
      {
        rule: 'missing-tests',
        severity: 'low',
        message: 'exported method a has no declared test call',
        line: 1,
        column: 0,
      },
    ]);
    expect(r.dryRun).toEqual([
      { method: 'b', code: 'CONTRACT_ERROR', gasUsed: expect.any(Number), writes: 0, events: 0 },
    ]);
    expect(r.passed).toBe(false);
    expect(r.score).toEqual({
      expectedLossEur: 2_500,
      level: 'low',
      basis: [{ rule: 'missing-tests', findings: 1, likelihoodPct: 5, impactEur: 50_000, expectedLossEur: 2_500 }],
    });
  });

  it('does not flag look-alikes: property names, typeof and instanceof Function, bounded loops, capped arguments', () => {
    const code = [
      'const page = 20;',
      'const run = function (args, call) {',
      '  const obj = { Date: 1, eval: 2 };',
      "  let total = obj.Date + obj.eval + (typeof Date === 'function' ? 1 : 0) + (run instanceof Function ? 1 : 0);",
      '  for (let i = 0; i < Math.min(args.n, 100); i++) total += i;',
      '  const n = Math.min(args.m, page);',
      '  for (let i = 0; i < n; i++) total += i;',
      '  while (true) { if (total > 10) break; total++; }',
      '  do { total--; } while (total > 1000);',
      "  host.put('main/t/' + call.caller, { total, tier: 'gold', type: 'score' });",
      '  return total;',
      '};',
      'exports.run = run;',
    ].join('\n');
    const r = riskCheck(
      { code, manifest: MANIFEST, tests: [{ method: 'run', args: { n: 3, m: 4 }, caller: 'bank' }] },
      a,
    );
    expect(r.findings).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r.score).toEqual({ expectedLossEur: 0, level: 'low', basis: [] });
  });

  it('passes the demo contracts: a bank-insurer data-sharing agreement and a loyalty programme', () => {
    const report = (name: string): RiskReport => JSON.parse(demos.get(name)?.json as string);
    for (const name of ['data-sharing', 'loyalty']) {
      const r = report(name);
      expect(r.findings, name).toEqual([]);
      expect(
        r.dryRun.map((d) => d.code),
        name,
      ).toEqual(['OK', 'OK', 'OK', 'OK']);
      expect(r.passed, name).toBe(true);
      expect(r.score).toEqual({ expectedLossEur: 0, level: 'low', basis: [] });
    }
    const sharing = report('data-sharing');
    // The fee is booked (one write, one event) on the use of the record.
    expect(sharing.dryRun[1]).toMatchObject({ method: 'use', writes: 1, events: 1 });
    const loyalty = report('loyalty');
    // Opting out drops the member and records the opt-out.
    expect(loyalty.dryRun[3]).toMatchObject({ method: 'optOut', writes: 2, events: 1 });
  });

  it('gives byte-identical reports on two runtimes and on repeated runs', () => {
    for (const { input, json } of demos.values()) expect(riskReportJson(riskCheck(input, b))).toBe(json);
    const inputs: RiskCheckInput[] = [
      // Every seeded contract at once: one script with every rule's findings (the last `run` wins).
      {
        code: SEEDED.map(codeOf).join('\n'),
        manifest: MANIFEST,
        tests: [
          { method: 'run', args: { n: 2 }, caller: 'x' },
          { method: 'run', args: {}, caller: 'y' },
        ],
      },
    ];
    for (const input of inputs) {
      const one = riskReportJson(riskCheck(input, a));
      expect(riskReportJson(riskCheck(input, b))).toBe(one);
      expect(riskReportJson(riskCheck(input, a))).toBe(one);
      expect(JSON.parse(one).version).toBe(1);
    }
    const bad = riskCheck({ code: SEEDED.map(codeOf).join('\n'), manifest: MANIFEST }, a);
    const lines = bad.findings.map((f) => [f.line, f.column, f.rule, f.message]);
    const sorted = [...lines].sort(
      (x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number),
    );
    expect(lines).toEqual(sorted);
    expect(bad.codeDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(bad.score.level).toBe('high');
    expect(bad.score.expectedLossEur).toBeGreaterThanOrEqual(RISK_LEVELS.high);
    expect(bad.passed).toBe(false);
  });

  it('bounds the dry run by a total gas budget across the test calls', () => {
    const code = 'exports.spin = function () {\n  let i = 0;\n  while (i >= 0) i++;\n};';
    const manifest = { ...MANIFEST, maxGas: 400_000 };
    const spin = { method: 'spin', args: null, caller: 'bank' };
    // RISK_CHECK_LIMITS.dryRunGas (40,000,000) is a second of spinning: the same code with 1,000,000.
    const r = riskCheckWithin({ code, manifest, tests: [spin, spin, spin, spin] }, a, 1_000_000);
    expect(r.dryRun.map((d) => [d.code, d.gasUsed])).toEqual([
      ['OUT_OF_GAS', 400_000],
      ['OUT_OF_GAS', 400_000],
      ['OUT_OF_GAS', 200_000],
      ['OUT_OF_GAS', 0],
    ]);
    expect(r.passed).toBe(false);
    expect(RISK_CHECK_LIMITS.dryRunGas).toBe(2 * CONTRACT_LIMITS.maxGasPerCall);
  });

  it('sums likelihood x impact once per rule present, whatever the number of findings', () => {
    const code = "exports.run = (args) => { host.put('main/a', { email: args.e, phone: args.p }); };";
    const r = riskCheck({ code, manifest: MANIFEST, tests: [{ method: 'run', args: {}, caller: 'bank' }] }, a);
    expect(r.findings.filter((f) => f.rule === 'personal-data')).toHaveLength(2);
    expect(r.score.basis).toEqual([
      { rule: 'personal-data', findings: 2, likelihoodPct: 5, impactEur: 20_000_000, expectedLossEur: 1_000_000 },
    ]);
    expect(r.score).toMatchObject({ expectedLossEur: 1_000_000, level: 'high' });
    // The messages name the field, never a literal's text.
    const literal = riskCheck(
      { code: "exports.run = () => host.put('main/a', 'jane.doe@example.org');", manifest: MANIFEST },
      a,
    );
    expect(JSON.stringify(literal)).not.toContain('jane');
  });

  it('bounds its input and says what was expected', () => {
    const ok = { code: 'exports.run = () => 1;', manifest: MANIFEST };
    const fails = (input: unknown, text: string) => {
      expect(() => riskCheck(input as RiskCheckInput, a)).toThrow(RiskCheckError);
      expect(() => riskCheck(input as RiskCheckInput, a)).toThrow(text);
    };
    fails({ ...ok, code: 'x'.repeat(CONTRACT_LIMITS.codeBytes + 1) }, `at most ${CONTRACT_LIMITS.codeBytes} bytes`);
    fails({ ...ok, code: '' }, 'expected the contract source as a non-empty string');
    fails({ ...ok, code: 'exports.run = (' }, 'expected contract source that parses');
    fails({ ...ok, code: 'let x = 1; let x = 2;' }, 'parses as a script');
    fails({ ...ok, code: `exports.run = () => ${'!'.repeat(5000)}1;` }, 'nested at most 200 levels deep');
    fails({ ...ok, code: `exports.run = () => ${'1 + '.repeat(10_000)}1;` }, 'nested at most 200 levels deep');
    // Past what acorn's recursion survives: the same answer whether it overflowed or not.
    fails({ ...ok, code: `exports.run = ${'x => '.repeat(5_000)}1;` }, 'nested at most 200 levels deep');
    // A syntax error after a long chain gets the same message (acorn could overflow before it)...
    fails({ ...ok, code: `exports.run = () => ${'!'.repeat(500)}1;\nlet x = 1; let x = 2;` }, 'nested at most 200');
    // ... and acorn's own words otherwise.
    fails(
      { ...ok, code: 'exports.run = () => 1;\nlet x = 1; let x = 2;' },
      "Identifier 'x' has already been declared (2:15)",
    );
    fails({ ...ok, manifest: { ...MANIFEST, maxGas: 0 } }, 'expected manifest.maxGas');
    const call = { method: 'run', args: {}, caller: 'bank' };
    fails({ ...ok, tests: Array(RISK_CHECK_LIMITS.tests + 1).fill(call) }, `at most ${RISK_CHECK_LIMITS.tests} calls`);
    fails({ ...ok, tests: [{ ...call, args: 'x'.repeat(CONTRACT_LIMITS.argsBytes) }] }, 'tests[0].args of at most');
    fails({ ...ok, tests: [{ ...call, caller: 'x'.repeat(201) }] }, 'tests[0].caller as 1-200 characters');
    fails({ ...ok, tests: [{ ...call, method: '1x' }] }, 'tests[0].method');
    fails({ ...ok, tests: [{ ...call, extra: 1 }] }, 'unexpected tests[0].extra');
    fails(null, 'expected { code, manifest, tests? }');
  });

  it('tells personal data from look-alikes in strings', () => {
    const kinds = (strings: string[]) => strings.map((x) => piiKind(x) ?? null);
    expect(
      kinds(['jane.doe@example.org', '+41 44 668 18 00', '(044) 668-1800', 'DE89 3704 0044 0532 0130 00', 'Jane Doe']),
    ).toEqual(['an email address', 'a phone number', 'a phone number', 'an IBAN', "a person's name"]);
    expect(
      kinds(['2024-01-01', '2024-01-01T10:00:00Z', '123456789', 'Gold Member', 'Data Sharing', 'v1.2.3', 'cus-7f3a']),
    ).toEqual([null, null, null, null, null, null, null]);
  });

  it('analyses code written without semicolons (long chains of tokens that nest nothing)', () => {
    const code = Array.from(
      { length: 120 },
      (_, i) => `function f${i}(args) {\n  return host.get('main/' + args.k)\n}\nexports.m${i} = f${i}`,
    ).join('\n');
    const r = riskCheck({ code, manifest: MANIFEST }, a);
    expect(r.findings.filter((f) => f.rule !== 'missing-tests')).toEqual([]);
    expect(r.findings).toHaveLength(120);
  });

  it('stays fast on the largest code it accepts', () => {
    const body =
      "exports.m$ = function (args) { let t = 0; for (let i = 0; i < 10; i++) t += i; host.put('main/k', t); return t; };\n";
    let code = '';
    for (let i = 0; code.length + body.length < CONTRACT_LIMITS.codeBytes; i++) code += body.replace('$', String(i));
    const started = performance.now();
    const r = riskCheck({ code, manifest: MANIFEST }, a);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(r.findings.every((f) => f.rule === 'missing-tests')).toBe(true);
  });

  it('stays fast on code built to make the analysis expand: constants of constants, many uses', () => {
    const consts = ['const c0 = args0 + 1;'];
    for (let i = 1; i < 40; i++) consts.push(`const c${i} = c${i - 1} + c${i - 1} + 'main/' + c${i - 1};`);
    const uses = [];
    for (let i = 0; i < 150; i++) {
      uses.push(`exports.m${i} = (args) => { for (let i = 0; i < c39; i++) host.put(c39, { v: c39 }); };`);
    }
    const code = [...consts, ...uses].join('\n');
    const started = performance.now();
    const r = riskCheck({ code, manifest: MANIFEST }, a);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(r.findings.some((f) => f.rule === 'unresolved-key')).toBe(true);
  });

  it('lists each rule with its severity and the score assumptions in docs/contracts.md', () => {
    const doc = readFileSync(new URL('../../../docs/contracts.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Risk check'));
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \| (high|medium|low) \| (\d+) % \| ([\d,]+) \|/gm)].map((m) => [
      m[1],
      m[2],
      Number(m[3]),
      Number((m[4] as string).replaceAll(',', '')),
    ]);
    const code = Object.entries(RISK_RULES).map(([id, r]) => [id, r.severity, r.likelihoodPct, r.impactEur]);
    expect(rows).toEqual(code);
    expect(section).toContain(`${RISK_LEVELS.medium.toLocaleString('en-US')} EUR`);
    expect(section).toContain(`${RISK_LEVELS.high.toLocaleString('en-US')} EUR`);
    expect(section).toContain(`${RISK_CHECK_LIMITS.dryRunGas.toLocaleString('en-US')} gas`);
    expect(section).toContain(`at most ${RISK_CHECK_LIMITS.tests} test calls`);
  });
});
