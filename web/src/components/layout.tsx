/** The portal's frame: a header, the navigation (a menu button on a narrow window), the page. */
import { Button, Text, Tooltip, makeStyles, mergeClasses, tokens } from '@fluentui/react-components';
import { useEffect, useState, type ReactNode } from 'react';
import { navigate, useLocation } from '../router';

export interface NavItem {
  to: string;
  label: string;
  ownerOnly?: boolean;
}

export const NAV: NavItem[] = [
  { to: '/', label: 'Overview' },
  { to: '/recommendations', label: 'Recommendations' },
  { to: '/node-pools', label: 'Node pools' },
  { to: '/alerts', label: 'Security alerts' },
  { to: '/exemptions', label: 'Exemptions' },
  { to: '/scans', label: 'Scans' },
  { to: '/settings', label: 'Environment settings' },
  { to: '/audit', label: 'Audit log', ownerOnly: true },
  { to: '/access', label: 'Access', ownerOnly: true },
];

const NARROW = '@media (max-width: 800px)';

const useStyles = makeStyles({
  root: { minHeight: '100vh', display: 'grid', gridTemplateRows: 'auto 1fr', gridTemplateColumns: '220px minmax(0, 1fr)', backgroundColor: tokens.colorNeutralBackground2, [NARROW]: { gridTemplateColumns: 'minmax(0, 1fr)' } },
  header: {
    gridColumn: '1 / -1', display: 'flex', alignItems: 'center', gap: tokens.spacingHorizontalM, padding: `${tokens.spacingVerticalS} ${tokens.spacingHorizontalL}`,
    backgroundColor: tokens.colorNeutralBackground1, color: tokens.colorNeutralForeground1, borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, boxShadow: tokens.shadow2,
  },
  brand: { fontWeight: tokens.fontWeightSemibold, fontSize: tokens.fontSizeBase400, color: tokens.colorBrandForeground1, textDecorationLine: 'none' },
  spacer: { flexGrow: 1 },
  who: { color: tokens.colorNeutralForeground2, [NARROW]: { display: 'none' } },
  onBrand: {},
  menu: { display: 'none', [NARROW]: { display: 'inline-flex' } },
  nav: { backgroundColor: tokens.colorNeutralBackground1, borderRight: `1px solid ${tokens.colorNeutralStroke2}`, padding: `${tokens.spacingVerticalM} 0`, [NARROW]: { display: 'none' } },
  navOpen: { [NARROW]: { display: 'block', gridColumn: '1 / -1', borderRight: 'none', borderBottom: `1px solid ${tokens.colorNeutralStroke2}` } },
  list: { listStyleType: 'none', margin: 0, padding: 0 },
  item: {
    display: 'block', padding: `${tokens.spacingVerticalSNudge} ${tokens.spacingHorizontalL}`, color: tokens.colorNeutralForeground1, textDecorationLine: 'none', borderLeft: '3px solid transparent',
    ':hover': { backgroundColor: tokens.colorNeutralBackground1Hover },
    ':focus-visible': { outline: `2px solid ${tokens.colorStrokeFocus2}`, outlineOffset: '-2px' },
  },
  active: { borderLeft: `3px solid ${tokens.colorBrandStroke1}`, backgroundColor: tokens.colorNeutralBackground1Selected, fontWeight: tokens.fontWeightSemibold },
  main: { padding: tokens.spacingHorizontalXL, minWidth: 0, [NARROW]: { padding: tokens.spacingHorizontalM } },
  skip: { position: 'absolute', left: '-9999px', ':focus': { left: tokens.spacingHorizontalS, top: tokens.spacingVerticalS, zIndex: 100, padding: tokens.spacingHorizontalS, backgroundColor: tokens.colorNeutralBackground1, color: tokens.colorNeutralForeground1 } },
});

function isActive(path: string, to: string): boolean {
  return to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`);
}

export function Layout({ who, isOwner, dark, onTheme, onSignOut, children }: { who: string; isOwner: boolean; dark: boolean; onTheme: () => void; onSignOut?: () => void; children: ReactNode }): ReactNode {
  const s = useStyles();
  const loc = useLocation();
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [loc.path]);
  return (
    <div className={s.root}>
      <a className={s.skip} href="#main">Skip to content</a>
      <header className={s.header}>
        <Button className={mergeClasses(s.menu, s.onBrand)} appearance="transparent" aria-expanded={open} aria-controls="portal-nav" onClick={() => setOpen(!open)}>
          Menu
        </Button>
        <a className={s.brand} href="/" onClick={(e) => { e.preventDefault(); navigate('/'); }}>Hullscan</a>
        <Text className={s.who} size={200}>Kubernetes node protection · agentless</Text>
        <span className={s.spacer} />
        <Text className={s.who} size={200}>{who}</Text>
        <Tooltip content={dark ? 'Switch to the light theme' : 'Switch to the dark theme'} relationship="label">
          <Button className={s.onBrand} appearance="transparent" onClick={onTheme}>{dark ? 'Light' : 'Dark'}</Button>
        </Tooltip>
        {onSignOut && <Button className={s.onBrand} appearance="transparent" onClick={onSignOut}>Sign out</Button>}
      </header>
      <nav id="portal-nav" aria-label="Portal" className={mergeClasses(s.nav, open && s.navOpen)}>
        <ul className={s.list}>
          {NAV.filter((n) => !n.ownerOnly || isOwner).map((n) => {
            const active = isActive(loc.path, n.to);
            return (
              <li key={n.to}>
                <a className={mergeClasses(s.item, active && s.active)} href={n.to} aria-current={active ? 'page' : undefined} onClick={(e) => { e.preventDefault(); navigate(n.to); }}>
                  {n.label}
                </a>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" className={s.main} tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

const usePageStyles = makeStyles({
  head: { display: 'flex', flexWrap: 'wrap', alignItems: 'baseline', gap: tokens.spacingHorizontalM, marginBottom: tokens.spacingVerticalM },
  crumbs: { display: 'flex', gap: tokens.spacingHorizontalXS, flexWrap: 'wrap', color: tokens.colorNeutralForeground2, marginBottom: tokens.spacingVerticalXS },
  h1: { margin: 0, fontSize: tokens.fontSizeBase600, lineHeight: tokens.lineHeightBase600, fontWeight: tokens.fontWeightSemibold },
  body: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalL },
});

export function Page({ title, crumbs, actions, children }: { title: string; crumbs?: ReactNode; actions?: ReactNode; children: ReactNode }): ReactNode {
  const s = usePageStyles();
  useEffect(() => {
    document.title = `${title} · Hullscan`;
  }, [title]);
  return (
    <>
      {crumbs && <div className={s.crumbs}>{crumbs}</div>}
      <div className={s.head}>
        <h1 className={s.h1}>{title}</h1>
        {actions}
      </div>
      <div className={s.body}>{children}</div>
    </>
  );
}

const useCardStyles = makeStyles({
  card: { backgroundColor: tokens.colorNeutralBackground1, borderRadius: tokens.borderRadiusMedium, boxShadow: tokens.shadow2, padding: tokens.spacingHorizontalL, minWidth: 0 },
  h2: { margin: `0 0 ${tokens.spacingVerticalS} 0`, fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold },
});

export function Section({ title, children, id }: { title?: string; children: ReactNode; id?: string }): ReactNode {
  const s = useCardStyles();
  return (
    <section className={s.card} aria-labelledby={title && id ? id : undefined}>
      {title && <h2 className={s.h2} id={id}>{title}</h2>}
      {children}
    </section>
  );
}
