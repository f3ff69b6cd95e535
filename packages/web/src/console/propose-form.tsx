/** The form a member fills to propose a change: admit, remove, rotate a key, change the quorum. */
import type { CustosClient } from '@custos/sdk';
import { govActionText, resultText } from '@custos/sdk/views';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { errorText } from '../lib/api.js';
import { short } from '../lib/format.js';
import { type GovOverview, KINDS, type Kind, type Message, readAction } from './gov-action.js';

export function ProposeForm({
  api,
  org,
  g,
  name,
  onDone,
}: {
  api: CustosClient;
  org: string;
  g: GovOverview;
  name: (id: string) => string;
  onDone: (m: Message) => void;
}) {
  const id = useId();
  const [kind, setKind] = useState<Kind>('admit');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const r = readAction(kind, new FormData(form), g);
    if (r.errors !== undefined) {
      setErrors(r.errors);
      const first = Object.keys(r.errors)[0];
      if (first !== undefined) form.querySelector<HTMLElement>(`[name="${first}"]`)?.focus();
      return;
    }
    setErrors({});
    setBusy(true);
    const what = govActionText(r.action, name, g.members.length);
    try {
      const res = await api.govPropose(org, {
        action: r.action,
        reason: String(new FormData(form).get('reason')).trim(),
      });
      if (res.code === 'OK') {
        form.reset();
        onDone({ tone: 'ok', text: `Proposed: “${what}”, with your yes vote.` });
      } else onDone({ tone: 'danger', text: `${resultText(res.code).text}.` });
    } catch (err) {
      onDone({ tone: 'danger', text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };
  const field = (k: string, label: string, input: (props: FieldProps) => ReactNode, hint?: string) => {
    const err = errors[k];
    const describedBy = [hint === undefined ? '' : `${id}-${k}-hint`, err === undefined ? '' : `${id}-${k}-err`]
      .filter(Boolean)
      .join(' ');
    return (
      <div className="field">
        <label htmlFor={`${id}-${k}`}>{label}</label>
        {input({
          id: `${id}-${k}`,
          name: k,
          'aria-invalid': err === undefined ? undefined : true,
          'aria-describedby': describedBy === '' ? undefined : describedBy,
        })}
        {hint !== undefined && (
          <span className="hint" id={`${id}-${k}-hint`}>
            {hint}
          </span>
        )}
        {err !== undefined && (
          <span className="field-error" id={`${id}-${k}-err`}>
            {err}
          </span>
        )}
      </div>
    );
  };
  const others = g.members;
  return (
    <form className="form-narrow" onSubmit={submit} noValidate>
      <fieldset className="choice-group">
        <legend>What to change</legend>
        {KINDS.map((k) => (
          <label key={k.kind} className="choice">
            <input
              type="radio"
              name="kind"
              value={k.kind}
              checked={kind === k.kind}
              onChange={() => {
                setKind(k.kind);
                setErrors({});
              }}
            />{' '}
            {k.label}
          </label>
        ))}
      </fieldset>
      {kind === 'admit' && (
        <>
          {field('name', 'Organisation name', (p) => (
            <input type="text" {...p} maxLength={128} autoComplete="off" />
          ))}
          {field(
            'id',
            'Member id',
            (p) => (
              <input type="text" {...p} maxLength={32} autoComplete="off" spellCheck={false} />
            ),
            'Lower-case letters, digits and dashes, e.g. credit-union.',
          )}
          {field(
            'keys',
            'Signing keys',
            (p) => (
              <textarea {...p} className="keys" spellCheck={false} />
            ),
            'The did:key of each of its signing keys, one per line (at most 8).',
          )}
          {field(
            'proofs',
            'Proofs of possession',
            (p) => (
              <textarea {...p} className="keys" spellCheck={false} />
            ),
            'One per key, in the same order: the new member signs each with that key (custos keys prove --action admit).',
          )}
          {field(
            'endpoint',
            'Address of its node',
            (p) => (
              <input type="text" inputMode="url" {...p} autoComplete="off" spellCheck={false} />
            ),
            'e.g. https://custos.example-credit-union.org',
          )}
        </>
      )}
      {kind === 'remove' &&
        field('id', 'Member to remove', (p) => (
          <select {...p} defaultValue="">
            <option value="" disabled>
              Choose a member
            </option>
            {others.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
                {m.id === org ? ' (you)' : ''}
              </option>
            ))}
          </select>
        ))}
      {kind === 'rotateKey' && (
        <>
          {field('oldKey', 'Key to replace', (p) => (
            <select {...p} defaultValue="">
              <option value="" disabled>
                Choose a key
              </option>
              {others.flatMap((m) =>
                m.keys.map((k) => (
                  <option key={k} value={`${m.id} ${k}`}>
                    {m.name}: {short(k, 18)}
                  </option>
                )),
              )}
            </select>
          ))}
          {field(
            'newKey',
            'New key',
            (p) => (
              <input type="text" {...p} autoComplete="off" spellCheck={false} />
            ),
            'The did:key that replaces it (did:key:z…).',
          )}
          {field(
            'proof',
            'Proof of possession',
            (p) => (
              <input type="text" {...p} autoComplete="off" spellCheck={false} />
            ),
            'Signed by the new key itself, for this member (custos keys prove --action rotateKey).',
          )}
        </>
      )}
      {kind === 'removeEvmKey' &&
        field(
          'member',
          'EVM key to remove',
          (p) => (
            <select {...p} defaultValue="">
              <option value="" disabled>
                Choose a member
              </option>
              {others
                .filter((m) => m.evmKey !== null)
                .map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name}: {short(m.evmKey ?? '', 14)}
                  </option>
                ))}
            </select>
          ),
          'For a compromised key with no replacement yet: the EVM contracts stop accepting its signatures once the update is relayed.',
        )}
      {kind === 'params' && (
        <>
          {field(
            'threshold',
            'Quorum: signatures that make a block final',
            (p) => (
              <input type="number" {...p} min={1} max={g.members.length} defaultValue={g.params.threshold} />
            ),
            `From 1 to ${g.members.length} (now ${g.params.threshold} of ${g.members.length}).`,
          )}
          {field('blockMaxTxs', 'Most transactions in a block', (p) => (
            <input type="number" {...p} min={1} max={10_000} defaultValue={g.params.blockMaxTxs} />
          ))}
          {field('blockMaxMs', 'Longest wait before a block is cut (ms)', (p) => (
            <input type="number" {...p} min={1} max={60_000} defaultValue={g.params.blockMaxMs} />
          ))}
        </>
      )}
      {field(
        'reason',
        'Why',
        (p) => (
          <textarea {...p} className="reason" maxLength={1024} />
        ),
        'The other members read it before they vote.',
      )}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? 'Proposing…' : 'Propose'}
      </button>
    </form>
  );
}

interface FieldProps {
  id: string;
  name: string;
  'aria-invalid': true | undefined;
  'aria-describedby': string | undefined;
}
