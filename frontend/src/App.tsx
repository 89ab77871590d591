// Picks the page named by the server's shell and gives it the API client. Pages are loaded
// on demand so the issue glance does not download the admin console.
import SectionMessage from '@atlaskit/section-message';
import Spinner from '@atlaskit/spinner';
import { lazy, Suspense, useMemo, useState } from 'react';
import { createApi } from './api';
import type { PageConfig, PageName } from './config';
import { NotAdminMessage } from './components/NotAdminMessage';
import { AppContext } from './context';
import { getContextToken, useHostResize } from './host';

const ConsolePage = lazy(() => import('./pages/ConsolePage'));
const AcceptPage = lazy(() => import('./pages/AcceptPage'));
const IssueGlancePage = lazy(() => import('./pages/IssueGlancePage'));

export function App({ config }: { config: PageConfig }) {
  const [notAdmin, setNotAdmin] = useState(false);
  useHostResize();

  const api = useMemo(
    () =>
      createApi({
        base: config.base,
        sessionToken: config.sessionToken,
        freshToken: getContextToken,
        // The accept page explains a missing admin permission in its own words.
        onNotAdmin: config.page === 'accept' ? undefined : () => setNotAdmin(true),
      }),
    [config],
  );
  const context = useMemo(() => ({ api, config }), [api, config]);

  return (
    <AppContext.Provider value={context}>
      <div className={config.page === 'issue-glance' ? 'exalate-glance' : 'exalate-page'}>
        {notAdmin ? (
          <NotAdminMessage />
        ) : (
          <Suspense fallback={<Spinner size="large" label="Loading" />}>
            <Page page={config.page} />
          </Suspense>
        )}
      </div>
    </AppContext.Provider>
  );
}

function Page({ page }: { page: PageName | null }) {
  switch (page) {
    case 'connections':
    case 'admin/connections':
      return <ConsolePage initialTab="connections" />;
    case 'admin/general-settings':
      return <ConsolePage initialTab="general-settings" />;
    case 'admin/sync-queue':
      return <ConsolePage initialTab="sync-queue" />;
    case 'admin/errors':
      return <ConsolePage initialTab="errors" />;
    case 'accept':
      return <AcceptPage />;
    case 'issue-glance':
      return <IssueGlancePage />;
    case null:
      return (
        <SectionMessage appearance="error" title="Unknown page">
          <p>This Exalate page does not exist. Open Exalate from the Apps menu.</p>
        </SectionMessage>
      );
  }
}
