/**
 * The portal: theme, sign-in, the frame and the routes. A browser whose requests already carry
 * `Authorization: Bearer …` (automation) or a session cookie (OIDC login) is signed in at once;
 * otherwise a token form (kept in sessionStorage) and, when the server offers OIDC, "Sign in".
 */
import { Button, Field, FluentProvider, Input, MessageBar, MessageBarBody, Text, makeStyles, tokens, webDarkTheme, webLightTheme } from '@fluentui/react-components';
import { useEffect, useState, type ReactNode } from 'react';
import { ApiError, TOKEN_KEY, api, ok, setCsrfToken, type Schemas } from './api/client';
import { Loading } from './components/data';
import { Layout } from './components/layout';
import { useLocation } from './router';
import { AccessPage } from './pages/access';
import { AlertsPage } from './pages/alerts';
import { AuditPage } from './pages/audit';
import { ExemptionsPage } from './pages/exemptions';
import { NodePoolsPage } from './pages/node-pools';
import { OverviewPage } from './pages/overview';
import { RecommendationPage, RecommendationsPage } from './pages/recommendations';
import { ScanPage, ScansPage } from './pages/scans';
import { AccountSettingsPage, SettingsPage } from './pages/settings';
import { NotFound } from './pages/not-found';

const THEME_KEY = 'hullscan.theme';

function initialDark(): boolean {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved !== null) return saved === 'dark';
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
}

export interface Session {
  me: Schemas['Me'];
  isOwner: boolean;
  canAdmin: boolean;
}

type AuthState = { kind: 'checking' } | { kind: 'signed-in'; session: Session } | { kind: 'signed-out'; error?: string; oidc: boolean };

async function oidcOffered(): Promise<boolean> {
  const r = await fetch('/api/v1/auth/login?returnTo=%2F', { redirect: 'manual', credentials: 'same-origin' }).catch(() => undefined);
  return r !== undefined && (r.type === 'opaqueredirect' || (r.status >= 300 && r.status < 400));
}

function sessionOf(me: Schemas['Me']): Session {
  const roles = me.grants.map((g) => g.role);
  return { me, isOwner: roles.includes('owner'), canAdmin: roles.includes('owner') || roles.includes('security-admin') };
}

export function App(): ReactNode {
  const [dark, setDark] = useState(initialDark);
  const [auth, setAuth] = useState<AuthState>({ kind: 'checking' });
  const check = async () => {
    try {
      const me = await ok(api.GET('/api/v1/me'));
      setCsrfToken(me.csrfToken);
      setAuth({ kind: 'signed-in', session: sessionOf(me) });
    } catch (err) {
      const unauth = err instanceof ApiError && err.status === 401;
      if (unauth) sessionStorage.removeItem(TOKEN_KEY);
      setAuth({ kind: 'signed-out', oidc: await oidcOffered(), ...(unauth ? {} : { error: err instanceof Error ? err.message : String(err) }) });
    }
  };
  useEffect(() => {
    void check();
  }, []);
  useEffect(() => {
    document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
  }, [dark]);
  const toggle = () => {
    localStorage.setItem(THEME_KEY, dark ? 'light' : 'dark');
    setDark(!dark);
  };
  return (
    <FluentProvider theme={dark ? webDarkTheme : webLightTheme} style={{ minHeight: '100vh', backgroundColor: tokens.colorNeutralBackground2 }}>
      {auth.kind === 'checking' && <Centered><Loading label="Signing in…" /></Centered>}
      {auth.kind === 'signed-out' && <SignIn oidc={auth.oidc} error={auth.error} onToken={(t) => { sessionStorage.setItem(TOKEN_KEY, t); setAuth({ kind: 'checking' }); void check(); }} />}
      {auth.kind === 'signed-in' && (
        <Layout
          who={auth.session.me.label}
          isOwner={auth.session.isOwner}
          dark={dark}
          onTheme={toggle}
          {...(sessionStorage.getItem(TOKEN_KEY) !== null || auth.session.me.kind === 'session'
            ? {
                onSignOut: () => {
                  sessionStorage.removeItem(TOKEN_KEY);
                  if (auth.session.me.kind === 'session') void api.POST('/api/v1/auth/logout').finally(() => void check());
                  else void check();
                },
              }
            : {})}
        >
          <Routes session={auth.session} />
        </Layout>
      )}
    </FluentProvider>
  );
}

function Routes({ session }: { session: Session }): ReactNode {
  const { path } = useLocation();
  const seg = path.split('/').filter((x) => x !== '').map(decodeURIComponent);
  switch (seg[0]) {
    case undefined:
      return <OverviewPage />;
    case 'settings':
      return seg[1] === undefined ? <SettingsPage /> : <AccountSettingsPage id={seg[1]} session={session} />;
    case 'recommendations':
      return seg[1] === undefined ? <RecommendationsPage /> : <RecommendationPage id={seg[1]} />;
    case 'node-pools':
      return <NodePoolsPage />;
    case 'alerts':
      return <AlertsPage session={session} />;
    case 'exemptions':
      return <ExemptionsPage session={session} />;
    case 'scans':
      return seg[1] === undefined ? <ScansPage /> : <ScanPage id={seg[1]} />;
    case 'audit':
      return <AuditPage session={session} />;
    case 'access':
      return <AccessPage session={session} />;
    default:
      return <NotFound />;
  }
}

const useStyles = makeStyles({
  center: { minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', padding: tokens.spacingHorizontalL },
  card: { width: 'min(420px, 100%)', display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalM, padding: tokens.spacingHorizontalXL, backgroundColor: tokens.colorNeutralBackground1, borderRadius: tokens.borderRadiusLarge, boxShadow: tokens.shadow8 },
  h1: { margin: 0, fontSize: tokens.fontSizeBase500 },
});

function Centered({ children }: { children: ReactNode }): ReactNode {
  const s = useStyles();
  return <main className={s.center}>{children}</main>;
}

function SignIn({ oidc, error, onToken }: { oidc: boolean; error?: string | undefined; onToken: (t: string) => void }): ReactNode {
  const s = useStyles();
  const [token, setToken] = useState('');
  return (
    <Centered>
      <form className={s.card} onSubmit={(e) => { e.preventDefault(); if (token.trim() !== '') onToken(token.trim()); }}>
        <h1 className={s.h1}>Sign in to Hullscan</h1>
        {error && <MessageBar intent="error"><MessageBarBody>{error}</MessageBarBody></MessageBar>}
        {oidc && (
          <>
            <Button appearance="primary" as="a" href={`/api/v1/auth/login?returnTo=${encodeURIComponent(window.location.pathname + window.location.search)}`}>Sign in</Button>
            <Text size={200}>or use an API token:</Text>
          </>
        )}
        <Field label="API token" hint="An owner creates one under Access (or hullscan serve prints the first one). Kept for this browser tab only.">
          <Input type="password" value={token} onChange={(_, d) => setToken(d.value)} autoComplete="off" />
        </Field>
        <Button type="submit" appearance={oidc ? 'secondary' : 'primary'} disabled={token.trim() === ''}>Sign in with token</Button>
      </form>
    </Centered>
  );
}
