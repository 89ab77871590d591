// Sync Queue tab: changes waiting to go to the other side, and changes received but not yet
// applied to Jira. Refreshes itself every few seconds while the tab is shown.
import Button from '@atlaskit/button/default/button';
import DynamicTable from '@atlaskit/dynamic-table';
import EmptyState from '@atlaskit/empty-state';
import Heading from '@atlaskit/heading';
import Spinner from '@atlaskit/spinner';
import { useCallback, useEffect } from 'react';
import { type ConnectionStatus, type OutgoingItem } from '../api';
import { LoadError } from '../components/LoadError';
import { useApi } from '../context';
import { formatAbsolute, formatRelative, formatUntil } from '../time';
import { useLoad } from '../useLoad';

export const REFRESH_MS = 5000;

const SUMMARY_HEAD = {
  cells: [
    { key: 'connection', content: 'Connection' },
    { key: 'outgoing', content: 'Outgoing' },
    { key: 'incoming', content: 'Incoming' },
    { key: 'oldest', content: 'Oldest waiting' },
  ],
};

const OUTGOING_HEAD = {
  cells: [
    { key: 'connection', content: 'Connection' },
    { key: 'issue', content: 'Issue key' },
    { key: 'attempts', content: 'Attempts' },
    { key: 'last-error', content: 'Last error', width: 35 },
    { key: 'since', content: 'Waiting since' },
    { key: 'next', content: 'Next attempt' },
  ],
};

const INCOMING_HEAD = {
  cells: [
    { key: 'connection', content: 'Connection' },
    { key: 'issue', content: 'Issue on the other side' },
    { key: 'received', content: 'Received' },
  ],
};

/** Outgoing changes of a connection that is not active wait for it to be activated. */
const PAUSED: Partial<Record<ConnectionStatus, string>> = {
  pending: 'Paused: connection pending',
  deactivated: 'Paused: connection deactivated',
  error: 'Paused: connection in error',
};

const Ago = ({ iso }: { iso: string | null }) => <span title={formatAbsolute(iso)}>{formatRelative(iso)}</span>;

function NextAttempt({ item, status }: { item: OutgoingItem; status: ConnectionStatus | undefined }) {
  const paused = status && PAUSED[status];
  if (paused) return <span>{paused}</span>;
  return <span title={formatAbsolute(item.nextAttemptAt)}>{formatUntil(item.nextAttemptAt)}</span>;
}

type Row = { key: string; cells: { key: string; content: React.ReactNode }[] };

/** One list of waiting changes: a heading, then its table or a line saying it is empty. */
function QueueSection(props: {
  title: string;
  empty: string;
  label: string;
  head: typeof OUTGOING_HEAD | typeof INCOMING_HEAD;
  rows: Row[];
}) {
  return (
    <section className="stack-tight">
      <Heading size="small" as="h3">
        {props.title}
      </Heading>
      {props.rows.length === 0 ? (
        <p className="muted">{props.empty}</p>
      ) : (
        <DynamicTable label={props.label} head={props.head} rowsPerPage={20} rows={props.rows} />
      )}
    </section>
  );
}

export function SyncQueueTab({ isActive = true }: { isActive?: boolean }) {
  const api = useApi();
  const read = useCallback(async () => {
    const [q, c] = await Promise.all([api.syncQueue(), api.connections().catch(() => null)]);
    /** Connection statuses, to say why outgoing changes wait; null when they could not be read. */
    const statuses = c && new Map<string, ConnectionStatus>(c.connections.map((x) => [x.id, x.status]));
    return { queue: q, statuses };
  }, [api]);
  const { data, error, refreshing, load, refresh } = useLoad(read);
  const queue = data?.queue ?? null;
  const statuses = data?.statuses ?? null;

  useEffect(() => {
    if (!isActive) return;
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [isActive, load]);

  const isEmpty = queue !== null && queue.outgoing.length === 0 && queue.incoming.length === 0;

  return (
    <div className="stack tab-content">
      <div className="row">
        <div className="grow">
          <Heading size="large">Sync Queue</Heading>
        </div>
        <Button onClick={refresh} isLoading={refreshing}>
          Refresh
        </Button>
      </div>
      <p>
        Changes waiting to be sent to the other side, and changes received from it that are not yet applied to Jira.
        This page updates every {REFRESH_MS / 1000} seconds.
      </p>
      {error && (
        <LoadError
          title={queue ? 'The sync queue could not be refreshed' : 'The sync queue could not be loaded'}
          message={error}
        />
      )}
      {!queue && !error && <Spinner label="Loading the sync queue" />}
      {isEmpty && (
        <EmptyState
          header="The sync queue is empty"
          description="Every change has reached the other side and every received change is applied. Changes show up here while their connection is deactivated or the other side cannot be reached."
          headingLevel={3}
        />
      )}
      {queue && !isEmpty && (
        <>
          <section className="stack-tight">
            <Heading size="small" as="h3">
              By connection
            </Heading>
            <DynamicTable
              label="Sync queue by connection"
              head={SUMMARY_HEAD}
              rows={queue.summary.map((s) => ({
                key: s.connectionId,
                cells: [
                  { key: 'connection', content: s.connectionName },
                  { key: 'outgoing', content: s.outgoing },
                  { key: 'incoming', content: s.incoming },
                  { key: 'oldest', content: <Ago iso={s.oldest} /> },
                ],
              }))}
            />
          </section>
          <QueueSection
            title="Outgoing"
            empty="Nothing is waiting to be sent."
            label="Outgoing changes"
            head={OUTGOING_HEAD}
            rows={queue.outgoing.map((o) => ({
              key: `${o.connectionId}/${o.issueKey}/${o.seq}`,
              cells: [
                { key: 'connection', content: o.connectionName },
                { key: 'issue', content: o.issueKey },
                { key: 'attempts', content: o.attempts },
                { key: 'last-error', content: o.lastError ?? '—' },
                { key: 'since', content: <Ago iso={o.createdAt} /> },
                { key: 'next', content: <NextAttempt item={o} status={statuses?.get(o.connectionId)} /> },
              ],
            }))}
          />
          <QueueSection
            title="Incoming"
            empty="Nothing is waiting to be applied."
            label="Incoming changes"
            head={INCOMING_HEAD}
            rows={queue.incoming.map((i) => ({
              key: `${i.connectionId}/${i.senderIssueKey}/${i.seq}`,
              cells: [
                { key: 'connection', content: i.connectionName },
                { key: 'issue', content: i.senderIssueKey },
                { key: 'received', content: <Ago iso={i.receivedAt} /> },
              ],
            }))}
          />
        </>
      )}
    </div>
  );
}
