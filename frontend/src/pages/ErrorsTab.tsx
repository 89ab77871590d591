// Errors tab: syncs that failed several times, with what went wrong, and Retry / Resolve.
import Button from '@atlaskit/button/default/button';
import DynamicTable from '@atlaskit/dynamic-table';
import EmptyState from '@atlaskit/empty-state';
import Heading from '@atlaskit/heading';
import Spinner from '@atlaskit/spinner';
import { useCallback, useEffect, useState } from 'react';
import { errorMessage, type SyncErrorItem } from '../api';
import { LoadError } from '../components/LoadError';
import { useApi } from '../context';
import { useNotify } from '../notify';
import { useLoad } from '../useLoad';
import { formatAbsolute, formatRelative } from '../time';

type Action = 'retry' | 'resolve';

const HEAD = {
  cells: [
    { key: 'what', content: 'What', width: 40 },
    { key: 'issue', content: 'Issue' },
    { key: 'connection', content: 'Connection' },
    { key: 'when', content: 'When' },
    { key: 'actions', content: 'Actions' },
  ],
};

const DONE: Record<Action, (key: string) => string> = {
  retry: (key) => `Sync of ${key} queued again`,
  resolve: (key) => `Error on ${key} resolved`,
};

const FAILED: Record<Action, (key: string) => string> = {
  retry: (key) => `Could not retry the sync of ${key}`,
  resolve: (key) => `Could not resolve the error on ${key}`,
};

export function ErrorsTab() {
  const api = useApi();
  const notify = useNotify();
  const read = useCallback(async () => (await api.syncErrors()).errors, [api]);
  const { data: errors, setData: setErrors, error: loadError, refreshing, load, refresh, mounted } = useLoad(read);
  /** Rows with a Retry or Resolve on its way, and which one. */
  const [busy, setBusy] = useState<Record<string, Action>>({});

  useEffect(() => {
    void load();
  }, [load]);

  const act = async (item: SyncErrorItem, action: Action) => {
    setBusy((b) => ({ ...b, [item.id]: action }));
    try {
      if (action === 'retry') await api.retrySyncError(item.id);
      else await api.resolveSyncError(item.id);
      if (!mounted.current) return;
      setErrors((list) => list?.filter((e) => e.id !== item.id) ?? null);
      notify(DONE[action](item.issueKey));
    } catch (e) {
      if (mounted.current) notify(FAILED[action](item.issueKey), { appearance: 'error', description: errorMessage(e) });
    } finally {
      if (mounted.current) {
        setBusy((b) => {
          const rest = { ...b };
          delete rest[item.id];
          return rest;
        });
      }
    }
  };

  const rows = (errors ?? []).map((e) => ({
    key: e.id,
    cells: [
      { key: 'what', content: e.cause ?? 'Unknown error' },
      {
        key: 'issue',
        content: (
          <span>
            <span>{e.issueKey}</span>
            {e.twinKey && <span className="muted"> ⇄ {e.twinKey}</span>}
          </span>
        ),
      },
      { key: 'connection', content: e.connectionName ?? '—' },
      { key: 'when', content: <span title={formatAbsolute(e.when)}>{formatRelative(e.when)}</span> },
      {
        key: 'actions',
        content: (
          <div className="row">
            <Button
              spacing="compact"
              isLoading={busy[e.id] === 'retry'}
              isDisabled={busy[e.id] === 'resolve'}
              onClick={() => act(e, 'retry')}
            >
              Retry
            </Button>
            <Button
              spacing="compact"
              appearance="subtle"
              isLoading={busy[e.id] === 'resolve'}
              isDisabled={busy[e.id] === 'retry'}
              onClick={() => act(e, 'resolve')}
            >
              Resolve
            </Button>
          </div>
        ),
      },
    ],
  }));

  return (
    <div className="stack tab-content">
      <div className="row">
        <div className="grow">
          <Heading size="large">Errors</Heading>
        </div>
        <Button onClick={refresh} isLoading={refreshing}>
          Refresh
        </Button>
      </div>
      <p>
        Syncs that failed several times. <b>Retry</b> sends the issue&apos;s waiting changes again; <b>Resolve</b>{' '}
        dismisses the error and marks the issue as synchronized.
      </p>
      {loadError && (
        <LoadError
          title={errors ? 'The sync errors could not be refreshed' : 'The sync errors could not be loaded'}
          message={loadError}
        />
      )}
      {!errors && !loadError && <Spinner label="Loading sync errors" />}
      {errors && (
        <DynamicTable
          label="Sync errors"
          head={HEAD}
          rows={rows}
          rowsPerPage={20}
          emptyView={
            <EmptyState
              header="No sync errors"
              description="Syncs that keep failing show up here, with what went wrong."
              headingLevel={3}
            />
          }
        />
      )}
    </div>
  );
}
