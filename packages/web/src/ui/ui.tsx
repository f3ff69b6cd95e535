/** The design system's components: states, badges, switches, the verified mark, dialogs. */

import type { Tone } from '@custos/sdk/views';
import { Component, type ReactNode, useEffect, useId, useRef } from 'react';
import { errorText } from '../lib/api.js';
import type { Async } from '../lib/use-async.js';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function ErrorBox({
  error,
  retry,
  title = 'Something went wrong',
}: {
  error: unknown;
  retry?: () => void;
  title?: string;
}) {
  return (
    <div className="notice notice-danger" role="alert">
      <p className="notice-title">{title}</p>
      <p>{errorText(error)}</p>
      {retry !== undefined && (
        <button type="button" className="btn btn-small" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Renders the loading, error and loaded states of `state`; stale data stays visible while reloading. */
export function AsyncView<T>({
  state,
  children,
  loading,
}: {
  state: Async<T>;
  children: (data: T) => ReactNode;
  loading?: string;
}) {
  if (state.status === 'error' && state.data === undefined)
    return <ErrorBox error={state.error} retry={state.reload} />;
  if (state.data === undefined) return <Loading {...(loading === undefined ? {} : { label: loading })} />;
  return (
    <>
      {state.status === 'error' && <ErrorBox error={state.error} retry={state.reload} title="Could not refresh" />}
      {children(state.data)}
    </>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children}
    </div>
  );
}

export function Badge({ tone = 'neutral', children }: { tone?: Tone | 'accent'; children: ReactNode }) {
  const cls = tone === 'neutral' ? 'badge' : `badge badge-${tone}`;
  return <span className={cls}>{children}</span>;
}

export function Notice({
  tone = 'info',
  title,
  children,
}: {
  tone?: 'info' | 'ok' | 'warn' | 'danger';
  title?: string;
  children?: ReactNode;
}) {
  return (
    <div className={`notice notice-${tone}`} role={tone === 'danger' ? 'alert' : undefined}>
      {title !== undefined && <p className="notice-title">{title}</p>}
      {children}
    </div>
  );
}

/** An on/off switch with its visible label and description (`role="switch"`). */
export function Switch({
  checked,
  onChange,
  label,
  description,
  disabled = false,
  busy = false,
}: {
  checked: boolean;
  onChange: (next: boolean) => void;
  label: string;
  description?: ReactNode;
  disabled?: boolean;
  busy?: boolean;
}) {
  const id = useId();
  return (
    <div className="switch-row">
      <div className="switch-text">
        <strong id={`${id}-label`}>{label}</strong>
        {description !== undefined && (
          <span id={`${id}-desc`} className="muted small">
            {description}
          </span>
        )}
      </div>
      <button
        type="button"
        role="switch"
        className="switch"
        aria-checked={checked}
        aria-labelledby={`${id}-label`}
        aria-describedby={description === undefined ? undefined : `${id}-desc`}
        aria-busy={busy}
        disabled={disabled || busy}
        onClick={() => onChange(!checked)}
      />
    </div>
  );
}

/**
 * The "verified" mark of a fact: checked in this browser against the quorum certificate. Opening it
 * says what was checked, and shows the proof itself (the only raw JSON a person meets).
 */
export function Proof({
  summary = 'Verified',
  explain,
  proof,
}: {
  summary?: string;
  explain: ReactNode;
  proof: unknown;
}) {
  return (
    <details className="proof">
      <summary>
        <span aria-hidden="true">✓</span> {summary}
        <span className="visually-hidden">: show the proof</span>
      </summary>
      <div className="proof-body">
        <p>{explain}</p>
        <details className="disclosure">
          <summary>Show the proof</summary>
          <pre className="raw-json">{JSON.stringify(proof, null, 2)}</pre>
        </details>
      </div>
    </details>
  );
}

/** A modal dialog (native `<dialog>`: focus trapped, Escape closes). */
export function ConfirmDialog({
  open,
  title,
  children,
  confirm,
  danger = false,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirm: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (d === null) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={`${id}-title`} onClose={onCancel}>
      <h2 id={`${id}-title`}>{title}</h2>
      <div className="stack">{children}</div>
      <div className="row mt-5">
        <button type="button" className={danger ? 'btn btn-danger' : 'btn btn-primary'} onClick={onConfirm}>
          {confirm}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** Headings the router focuses after navigation (tabIndex -1: focusable by script, not by Tab). */
export function PageHead({ title, children, crumbs }: { title: string; children?: ReactNode; crumbs?: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Custos`;
  }, [title]);
  return (
    <div className="page-head">
      {crumbs !== undefined && (
        <nav aria-label="Breadcrumb" className="breadcrumb">
          {crumbs}
        </nav>
      )}
      <h1 tabIndex={-1}>{title}</h1>
      {children}
    </div>
  );
}

export function Avatar({ name }: { name: string }) {
  return (
    <span className="avatar" aria-hidden="true">
      {name.slice(0, 1).toUpperCase()}
    </span>
  );
}

/** Catches a rendering failure and shows it instead of a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: unknown }> {
  override state: { error: unknown } = { error: undefined };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override componentDidUpdate(prev: { resetKey: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error !== undefined) this.setState({ error: undefined });
  }

  override render() {
    if (this.state.error !== undefined) {
      return (
        <ErrorBox
          title="This page failed to show"
          error={this.state.error}
          retry={() => this.setState({ error: undefined })}
        />
      );
    }
    return this.props.children;
  }
}
