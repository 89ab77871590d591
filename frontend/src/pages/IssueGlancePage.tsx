// The issue glance: how this issue syncs through each connection, with Exalate and Retry.
import Button from '@atlaskit/button/default/button';
import { ErrorMessage, Label } from '@atlaskit/form';
import SectionMessage from '@atlaskit/section-message';
import Select from '@atlaskit/select';
import Spinner from '@atlaskit/spinner';
import { useCallback, useEffect, useState } from 'react';
import { errorMessage, type IssueStatus, type IssueSync } from '../api';
import { SyncStatusLozenge } from '../components/StatusLozenge';
import { useApi, useConfig } from '../context';
import { formatAbsolute, formatRelative } from '../time';
import { webHref } from '../links';

/** While a sync is in progress the glance polls, for at most POLL_LIMIT × POLL_INTERVAL_MS. */
const POLL_INTERVAL_MS = 3000;
const POLL_LIMIT = 100;

export default function IssueGlancePage() {
  const api = useApi();
  const { issueKey } = useConfig();
  const [status, setStatus] = useState<IssueStatus | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [chosen, setChosen] = useState<string | null>(null);
  const [polls, setPolls] = useState(0);

  const load = useCallback(async () => {
    try {
      setStatus(await api.issueStatus(issueKey));
      setLoadError(null);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, [api, issueKey]);

  useEffect(() => {
    if (issueKey) void load();
  }, [issueKey, load]);

  const inProgress = status?.syncs.some((s) => s.status === 'in_progress') ?? false;
  useEffect(() => {
    if (!inProgress || polls >= POLL_LIMIT) return;
    const timer = setTimeout(() => {
      setPolls((n) => n + 1);
      void load();
    }, POLL_INTERVAL_MS);
    return () => clearTimeout(timer);
  }, [inProgress, polls, status, load]);

  const act = async (action: 'exalate' | 'retry', connectionId: string) => {
    setBusy(true);
    setActionError(null);
    try {
      await (action === 'exalate' ? api.exalateIssue(issueKey, connectionId) : api.retryIssue(issueKey, connectionId));
      setPolls(0);
      await load();
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  if (!issueKey) {
    return (
      <SectionMessage appearance="error">
        <p>Jira did not say which issue this is. Reload the issue.</p>
      </SectionMessage>
    );
  }
  if (loadError) {
    return (
      <SectionMessage appearance="error">
        <p>{loadError}</p>
      </SectionMessage>
    );
  }
  if (!status) return <Spinner label="Loading sync status" />;

  const synced = status.syncs.filter((s) => s.status !== 'not_synced');
  const syncedIds = new Set(synced.map((s) => s.connectionId));
  const available = status.connections.filter((c) => !syncedIds.has(c.id));
  const target = available.find((c) => c.id === chosen) ?? available[0];

  return (
    <div className="stack">
      {synced.map((sync) => (
        <SyncRow key={sync.connectionId} sync={sync} busy={busy} onRetry={() => act('retry', sync.connectionId)} />
      ))}
      {synced.length === 0 && (
        <div>
          <SyncStatusLozenge status="not_synced" />
        </div>
      )}
      {synced.length === 0 && available.length === 0 && (
        <p className="muted">
          No active connection can sync this issue. A Jira admin sets up connections under Apps → Exalate.
        </p>
      )}
      {target && (
        <div className="stack-tight">
          {available.length > 1 && (
            <div>
              <Label htmlFor="glance-connection">Connection</Label>
              <Select
                inputId="glance-connection"
                options={available.map((c) => ({ label: c.name, value: c.id }))}
                value={{ label: target.name, value: target.id }}
                onChange={(option) => setChosen(option?.value ?? null)}
              />
            </div>
          )}
          <div className="row">
            {available.length === 1 && <span className="muted">Connection: {target.name}</span>}
            <Button appearance="primary" onClick={() => act('exalate', target.id)} isLoading={busy}>
              Exalate
            </Button>
          </div>
        </div>
      )}
      {actionError && <ErrorMessage>{actionError}</ErrorMessage>}
    </div>
  );
}

function SyncRow({ sync, busy, onRetry }: { sync: IssueSync; busy: boolean; onRetry: () => void }) {
  const twinHref = webHref(sync.twinUrl);
  return (
    <div className="stack-tight glance-sync">
      <div className="row">
        <SyncStatusLozenge status={sync.status} />
        <strong>{sync.connectionName}</strong>
      </div>
      {sync.twinKey && (
        <div>
          Twin:{' '}
          {twinHref ? (
            <a href={twinHref} target="_blank" rel="noreferrer">
              {sync.twinKey}
            </a>
          ) : (
            sync.twinKey
          )}
        </div>
      )}
      {sync.lastSync && (
        <div className="muted" title={formatAbsolute(sync.lastSync)}>
          Last sync {formatRelative(sync.lastSync)}
        </div>
      )}
      {sync.status === 'error' && (
        <>
          {sync.error && <ErrorMessage>{sync.error}</ErrorMessage>}
          <div>
            <Button onClick={onRetry} isLoading={busy}>
              Retry
            </Button>
          </div>
        </>
      )}
    </div>
  );
}
