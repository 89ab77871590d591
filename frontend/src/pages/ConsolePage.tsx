// The Exalate console: Connections | General Settings | Sync Queue | Errors. Jira opens it on
// any of the four admin pages; the tabs then switch here without reloading the iframe.
import { FlagsProvider } from '@atlaskit/flag';
import SectionMessage from '@atlaskit/section-message';
import Spinner from '@atlaskit/spinner';
import Tabs, { Tab, TabList, TabPanel } from '@atlaskit/tabs';
import { useEffect, useState } from 'react';
import { errorMessage } from '../api';
import { NotAdminMessage } from '../components/NotAdminMessage';
import { useApi } from '../context';
import { ConnectionsTab } from './ConnectionsTab';
import { ErrorsTab } from './ErrorsTab';
import { GeneralSettingsTab } from './GeneralSettingsTab';
import { SyncQueueTab } from './SyncQueueTab';

export type ConsoleTab = 'connections' | 'general-settings' | 'sync-queue' | 'errors';

const TABS: ConsoleTab[] = ['connections', 'general-settings', 'sync-queue', 'errors'];

type Access =
  { state: 'checking' } | { state: 'admin' } | { state: 'not-admin' } | { state: 'failed'; message: string };

export default function ConsolePage({ initialTab }: { initialTab: ConsoleTab }) {
  const api = useApi();
  const [access, setAccess] = useState<Access>({ state: 'checking' });
  const [selected, setSelected] = useState(TABS.indexOf(initialTab));

  useEffect(() => {
    let live = true;
    api.whoami().then(
      (me) => live && setAccess({ state: me.isAdmin ? 'admin' : 'not-admin' }),
      (e) => live && setAccess({ state: 'failed', message: errorMessage(e) }),
    );
    return () => {
      live = false;
    };
  }, [api]);

  switch (access.state) {
    case 'checking':
      return <Spinner size="large" label="Loading Exalate" />;
    case 'not-admin':
      return <NotAdminMessage />;
    case 'failed':
      return (
        <SectionMessage appearance="error" title="Exalate could not load">
          <p>{access.message}</p>
        </SectionMessage>
      );
    case 'admin':
      // Flags (Copy, Activate, Delete, Retry…) are only raised here; the other pages do without the code.
      return (
        <FlagsProvider>
          <Tabs id="exalate-console" selected={selected} onChange={setSelected}>
            <TabList>
              <Tab>Connections</Tab>
              <Tab>General Settings</Tab>
              <Tab>Sync Queue</Tab>
              <Tab>Errors</Tab>
            </TabList>
            <TabPanel>
              <ConnectionsTab />
            </TabPanel>
            <TabPanel>
              <GeneralSettingsTab />
            </TabPanel>
            <TabPanel>
              {/* Panels stay mounted once visited: the queue only polls while it is the one shown. */}
              <SyncQueueTab isActive={TABS[selected] === 'sync-queue'} />
            </TabPanel>
            <TabPanel>
              <ErrorsTab />
            </TabPanel>
          </Tabs>
        </FlagsProvider>
      );
  }
}
