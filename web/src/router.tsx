/** A small history router: the portal's routes are paths with query strings, deep-linkable. */
import { Link as FluentLink } from '@fluentui/react-components';
import { useEffect, useState, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

const listeners = new Set<() => void>();
function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  window.addEventListener('popstate', fn);
  return () => {
    listeners.delete(fn);
    window.removeEventListener('popstate', fn);
  };
}

export function navigate(to: string, o: { replace?: boolean } = {}): void {
  const here = window.location.pathname + window.location.search;
  if (to === here) return;
  if (o.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const fn of listeners) fn();
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

export function useLocation(): Location {
  const href = useSyncExternalStore(subscribe, () => window.location.pathname + window.location.search);
  const u = new URL(href, window.location.origin);
  return { path: u.pathname, query: u.searchParams };
}

/** The same path with some query parameters changed (undefined / '' removes one). */
export function withQuery(loc: Location, changes: Record<string, string | undefined>): string {
  const q = new URLSearchParams(loc.query);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  return s === '' ? loc.path : `${loc.path}?${s}`;
}

export function Link({ to, children, ...rest }: { to: string; children: ReactNode; inline?: boolean } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href' | 'color'>): ReactNode {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <FluentLink {...rest} href={to} onClick={onClick}>
      {children}
    </FluentLink>
  );
}

/** A value that follows an input after it stops changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
