import type { ReactNode } from 'react';
import { Page } from '../components/layout';
import { Empty } from '../components/data';
import { Link } from '../router';

export function NotFound(): ReactNode {
  return (
    <Page title="Page not found">
      <Empty title="There is no page at this address.">
        <Link to="/">Go to the overview</Link>
      </Empty>
    </Page>
  );
}
