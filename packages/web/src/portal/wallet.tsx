/**
 * The customer's wallet in this browser: kept only as its passphrase-protected export (scrypt +
 * AES-256-GCM, ADR 0003) in local storage; unlocked into memory with the passphrase for the session
 * and never written anywhere in clear. No seed phrase: a backup is the same encrypted file.
 * Or opened with a passkey (ADR 0016): then nothing is kept in this browser, the wallet stays sealed
 * on the node, and the session lives in memory only.
 */
import { exportWallet, importWallet, Wallet, type WalletExport } from '@custos/sdk';
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import type { PasskeyLogin } from './passkey.js';

const KEY = 'custos.wallet.v1';

export interface StoredWallet {
  version: 1;
  export: WalletExport;
  savedAt: number;
  /** Set for a demo customer: the app shows the (public) demo passphrase. */
  demo?: { id: string; name: string; passphrase: string };
}

function readStored(): StoredWallet | undefined {
  try {
    const raw = localStorage.getItem(KEY);
    if (raw === null) return undefined;
    const s = JSON.parse(raw) as StoredWallet;
    return s.version === 1 && typeof s.export === 'object' ? s : undefined;
  } catch {
    return undefined;
  }
}

function writeStored(s: StoredWallet): void {
  localStorage.setItem(KEY, JSON.stringify(s));
}

interface WalletSession {
  stored: StoredWallet | undefined;
  wallet: Wallet | undefined;
  create(passphrase: string): Promise<void>;
  restore(file: unknown, passphrase: string): Promise<void>;
  openDemo(demo: { id: string; name: string; export: unknown }, passphrase: string): Promise<void>;
  unlock(passphrase: string): Promise<void>;
  lock(): void;
  forget(): void;
  /** Set when the wallet was opened with a passkey. */
  passkey: PasskeyLogin | undefined;
  openWithPasskey(login: PasskeyLogin): void;
  /** Replaces the passkey login's fields (a renewed session, a recovery code shown and dismissed). */
  updatePasskey(change: Partial<PasskeyLogin>): void;
}

const Ctx = createContext<WalletSession | undefined>(undefined);

export function WalletProvider({ children }: { children: ReactNode }) {
  const [stored, setStored] = useState<StoredWallet | undefined>(readStored);
  const [wallet, setWallet] = useState<Wallet | undefined>(undefined);
  const [passkey, setPasskey] = useState<PasskeyLogin | undefined>(undefined);

  const keep = useCallback((s: StoredWallet, w: Wallet) => {
    writeStored(s);
    setStored(s);
    setWallet(w);
  }, []);

  const create = useCallback(
    async (passphrase: string) => {
      const w = Wallet.create();
      keep({ version: 1, export: await exportWallet(w, passphrase), savedAt: Date.now() }, w);
    },
    [keep],
  );

  const restore = useCallback(
    async (file: unknown, passphrase: string) => {
      const w = await importWallet(file, passphrase);
      const parsed = (typeof file === 'string' ? JSON.parse(file) : file) as WalletExport;
      keep({ version: 1, export: parsed, savedAt: Date.now() }, w);
    },
    [keep],
  );

  const openDemo = useCallback(
    async (demo: { id: string; name: string; export: unknown }, passphrase: string) => {
      const w = await importWallet(demo.export, passphrase);
      keep(
        {
          version: 1,
          export: demo.export as WalletExport,
          savedAt: Date.now(),
          demo: { id: demo.id, name: demo.name, passphrase },
        },
        w,
      );
    },
    [keep],
  );

  const unlock = useCallback(
    async (passphrase: string) => {
      if (stored === undefined) throw new Error('There is no wallet in this browser.');
      setWallet(await importWallet(stored.export, passphrase));
    },
    [stored],
  );

  const lock = useCallback(() => {
    setWallet(undefined);
    setPasskey(undefined);
  }, []);
  const forget = useCallback(() => {
    localStorage.removeItem(KEY);
    setStored(undefined);
    setWallet(undefined);
    setPasskey(undefined);
  }, []);
  const openWithPasskey = useCallback((login: PasskeyLogin) => {
    setPasskey(login);
    setWallet(login.wallet);
  }, []);
  const updatePasskey = useCallback((change: Partial<PasskeyLogin>) => {
    setPasskey((p) => (p === undefined ? p : { ...p, ...change }));
  }, []);

  const value = useMemo(
    () => ({
      stored,
      wallet,
      create,
      restore,
      openDemo,
      unlock,
      lock,
      forget,
      passkey,
      openWithPasskey,
      updatePasskey,
    }),
    [stored, wallet, create, restore, openDemo, unlock, lock, forget, passkey, openWithPasskey, updatePasskey],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useWallet(): WalletSession {
  const s = useContext(Ctx);
  if (s === undefined) throw new Error('useWallet outside WalletProvider');
  return s;
}
