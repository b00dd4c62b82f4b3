/** Loading data for a view: one hook, and the three states every view shows (loading, error, empty). */
import { Button, MessageBar, MessageBarActions, MessageBarBody, MessageBarTitle, Spinner, Text, makeStyles, tokens } from '@fluentui/react-components';
import { useCallback, useEffect, useRef, useState, type DependencyList, type ReactNode } from 'react';

export interface Query<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

export function useQuery<T>(fn: () => Promise<T>, deps: DependencyList, o: { pollMs?: number | false } = {}): Query<T> {
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => mine === seq.current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => mine === seq.current && setState((s) => ({ data: s.data, error: error instanceof Error ? error : new Error(String(error)), loading: false })),
    );
  }, [...deps, tick]);
  useEffect(() => {
    if (!o.pollMs) return;
    const t = setInterval(() => setTick((n) => n + 1), o.pollMs);
    return () => clearInterval(t);
  }, [o.pollMs]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

const useStyles = makeStyles({
  empty: { padding: tokens.spacingVerticalXXL, display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalS, alignItems: 'flex-start', border: `1px dashed ${tokens.colorNeutralStroke1}`, borderRadius: tokens.borderRadiusMedium },
});

export function Loading({ label }: { label: string }): ReactNode {
  return <Spinner size="small" label={label} labelPosition="after" />;
}

export function ErrorBar({ error, what, retry }: { error: Error; what: string; retry?: () => void }): ReactNode {
  return (
    <MessageBar intent="error" layout="multiline">
      <MessageBarBody>
        <MessageBarTitle>{what}</MessageBarTitle>
        {error.message}
      </MessageBarBody>
      {retry && (
        <MessageBarActions>
          <Button onClick={retry}>Try again</Button>
        </MessageBarActions>
      )}
    </MessageBar>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }): ReactNode {
  const s = useStyles();
  return (
    <div className={s.empty} role="status">
      <Text weight="semibold">{title}</Text>
      {children}
    </div>
  );
}

/** Renders a query: its error, a spinner the first time, then the content. */
export function Loaded<T>({ q, what, children }: { q: Query<T>; what: string; children: (data: T) => ReactNode }): ReactNode {
  if (q.error && q.data === undefined) return <ErrorBar error={q.error} what={`Could not load ${what}`} retry={q.reload} />;
  if (q.data === undefined) return <Loading label={`Loading ${what}…`} />;
  return (
    <>
      {q.error && <ErrorBar error={q.error} what={`Could not refresh ${what}`} retry={q.reload} />}
      {children(q.data)}
    </>
  );
}
