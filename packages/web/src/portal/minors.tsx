/**
 * The customer's switch limiting the use of their sensitive data (CCPA 1798.121), beside the
 * opt-outs of sale and sharing, and their age band at the company (a band, never a birth date):
 * what each means is said in words, and the ledger enforces it at every use and share.
 */
import { AGE_BANDS, type AgeBand, ART8_AGES } from '@custos/protocol/ledger';
import type { Wallet } from '@custos/sdk';
import { useId, useState } from 'react';
import { day } from '../lib/format.js';
import { Switch } from '../ui/ui.js';
import { setAgeBand, setOptOut } from './actions.js';
import type { OrgView } from './model.js';
import { ParentalSection } from './parental.js';

/** The company page's one-action-at-a-time runner. */
export interface PortalAction {
  busy: string | undefined;
  run: (key: string, done: string, fn: () => Promise<void>) => Promise<void>;
}

interface Props {
  v: OrgView;
  wallet: Wallet;
  chainId: string;
  action: PortalAction;
}

export function SensitiveSwitch({ v, wallet, chainId, action }: Props) {
  const limit = v.prefs.sensitive ?? null;
  return (
    <Switch
      label="Limit the use of my sensitive data"
      description={
        limit === null
          ? `Health, biometric, genetic data, beliefs and the like: turn on and ${v.name} may use them only to serve you (your contract, the law, your vital interests), never share them.`
          : `On since ${day(limit.at)}${limit.source === 'gpp' ? ', from a consent banner' : ''}: ${v.name} may use your sensitive data only to serve you, and not share it.`
      }
      checked={limit !== null}
      busy={action.busy === 'optout:sensitive'}
      disabled={action.busy !== undefined}
      onChange={(on) =>
        action.run(
          'optout:sensitive',
          on
            ? `Saved: ${v.name} may use your sensitive data only to serve you.`
            : `Saved: ${v.name} may use your sensitive data where you allow it.`,
          () => setOptOut(wallet, chainId, v.org, 'sensitive', on),
        )
      }
    />
  );
}

const BAND_TEXT: Record<AgeBand, string> = {
  under13: 'Under 13',
  '13-15': '13 to 15',
  '16-17': '16 or 17',
  adult: '18 or older',
};

function bandMeaning(band: AgeBand | undefined, memberState: string | undefined, name: string): string {
  if (band === undefined) return `Not recorded: ${name} treats you as an adult.`;
  if (band === 'under13')
    return `${name} may not sell or share your data, nor rely on consent, without a parent's or guardian's consent.`;
  if (band === '13-15') {
    const age = memberState === undefined ? 16 : (ART8_AGES[memberState] ?? 16);
    return `${name} may not sell or share your data unless you agree to it yourself${age > 13 ? `; where it relies on consent, a parent's is needed too (under ${age} in ${memberState ?? 'the EU'})` : ''}.`;
  }
  return `${name} follows the rules for ${band === 'adult' ? 'adults' : '16 and 17 year olds'}.`;
}

export function AgeSection({ v, wallet, chainId, action }: Props) {
  const id = useId();
  const age = v.prefs.age;
  const [band, setBand] = useState<AgeBand>(age?.band ?? 'adult');
  const verified = age?.by === 'org';
  return (
    <>
      <h3 className="mt-5">Your age</h3>
      <p className="muted small">
        {age === undefined
          ? bandMeaning(undefined, undefined, v.name)
          : `${BAND_TEXT[age.band]}, ${verified ? `verified by ${v.name}` : 'as you said'} on ${day(age.at)}. ${bandMeaning(age.band, age.memberState, v.name)}`}{' '}
        Only a band is recorded, never your birth date.
      </p>
      <div className="field w-narrow">
        <label htmlFor={`${id}-band`}>Your age band at {v.name}</label>
        <select
          id={`${id}-band`}
          value={band}
          disabled={verified || action.busy !== undefined}
          onChange={(e) => setBand(e.target.value as AgeBand)}
        >
          {AGE_BANDS.map((b) => (
            <option key={b} value={b}>
              {BAND_TEXT[b]}
            </option>
          ))}
        </select>
      </div>
      <button
        type="button"
        className="btn"
        disabled={verified || action.busy !== undefined || band === age?.band}
        onClick={() =>
          action.run('age', `Saved: your age band at ${v.name} is ${BAND_TEXT[band].toLowerCase()}.`, () =>
            setAgeBand(wallet, chainId, v.org, band),
          )
        }
      >
        {action.busy === 'age' ? 'Saving…' : 'Save my age band'}
      </button>
      {verified && (
        <p className="muted small">
          {v.name} verified it: ask {v.name} to correct it if it is wrong.
        </p>
      )}
      <ParentalSection v={v} wallet={wallet} chainId={chainId} action={action} />
    </>
  );
}
