import { screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Connection, SyncQueue } from '../api';
import { apiError, EMPTY_QUEUE, fakeServer } from '../test/fakeServer';
import { ADMIN, renderPage } from '../test/render';
import { REFRESH_MS } from './SyncQueueTab';

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const ahead = (ms: number) => new Date(Date.now() + ms).toISOString();

const connection = (id: string, name: string, status: Connection['status']): Connection => ({
  id,
  name,
  otherSideUrl: 'https://beta.atlassian.net',
  mode: 'basic',
  localProject: { key: 'TEST', name: 'Test' },
  remoteProject: { key: 'BETA', name: 'Beta project' },
  status,
  issuesInSync: 1,
  lastActivity: null,
});
const CONNECTIONS = {
  connections: [connection('c1', 'alpha_to_beta', 'active'), connection('c2', 'alpha_to_gamma', 'deactivated')],
};

const QUEUE: SyncQueue = {
  summary: [
    { connectionId: 'c1', connectionName: 'alpha_to_beta', outgoing: 1, incoming: 1, oldest: ago(5 * 60_000 + 5000) },
    { connectionId: 'c2', connectionName: 'alpha_to_gamma', outgoing: 1, incoming: 0, oldest: ago(3 * 3600_000) },
  ],
  outgoing: [
    {
      connectionId: 'c1',
      connectionName: 'alpha_to_beta',
      issueKey: 'TEST-1',
      seq: 4,
      attempts: 3,
      lastError: 'The other side did not answer (HTTP 503).',
      createdAt: ago(5 * 60_000 + 5000),
      nextAttemptAt: ahead(2 * 60_000 + 5000),
    },
    {
      connectionId: 'c2',
      connectionName: 'alpha_to_gamma',
      issueKey: 'TEST-2',
      seq: 1,
      attempts: 0,
      lastError: null,
      createdAt: ago(3 * 3600_000),
      nextAttemptAt: ago(3 * 3600_000),
    },
  ],
  incoming: [
    {
      connectionId: 'c1',
      connectionName: 'alpha_to_beta',
      senderIssueKey: 'BETA-7',
      seq: 2,
      receivedAt: ago(60_000 + 5000),
    },
  ],
};

const rowOf = (table: string, text: string) =>
  within(screen.getByRole('table', { name: table }))
    .getByText(text)
    .closest('tr')!;

afterEach(() => {
  vi.useRealTimers();
});

describe('Sync Queue tab', () => {
  it('shows the summary per connection, the outgoing and the incoming changes', async () => {
    fakeServer({ 'GET /api/whoami': ADMIN, 'GET /api/sync/queue': QUEUE, 'GET /api/connections': CONNECTIONS });
    renderPage('admin/sync-queue');
    expect(await screen.findByRole('heading', { name: 'Sync Queue' })).toBeInTheDocument();
    await screen.findByRole('table', { name: 'Sync queue by connection' });

    const beta = rowOf('Sync queue by connection', 'alpha_to_beta');
    expect(
      within(beta)
        .getAllByRole('cell')
        .map((c) => c.textContent),
    ).toEqual(['alpha_to_beta', '1', '1', '5 minutes ago']);
    expect(within(rowOf('Sync queue by connection', 'alpha_to_gamma')).getByText('3 hours ago')).toBeInTheDocument();

    const waiting = rowOf('Outgoing changes', 'TEST-1');
    expect(
      within(waiting)
        .getAllByRole('cell')
        .map((c) => c.textContent),
    ).toEqual([
      'alpha_to_beta',
      'TEST-1',
      '3',
      'The other side did not answer (HTTP 503).',
      '5 minutes ago',
      'in 2 minutes',
    ]);
    // A deactivated connection's changes wait for it, whatever their next attempt says.
    const paused = rowOf('Outgoing changes', 'TEST-2');
    expect(within(paused).getByText('—')).toBeInTheDocument();
    expect(within(paused).getByText('Paused: connection deactivated')).toBeInTheDocument();

    const received = rowOf('Incoming changes', 'BETA-7');
    expect(
      within(received)
        .getAllByRole('cell')
        .map((c) => c.textContent),
    ).toEqual(['alpha_to_beta', 'BETA-7', '1 minute ago']);
  });

  it('says so when nothing waits', async () => {
    fakeServer({ 'GET /api/whoami': ADMIN, 'GET /api/sync/queue': EMPTY_QUEUE, 'GET /api/connections': CONNECTIONS });
    renderPage('admin/sync-queue');
    expect(await screen.findByText('The sync queue is empty')).toBeInTheDocument();
    expect(screen.getByText(/Changes show up here while their connection is deactivated/)).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('says "nothing" for an empty direction', async () => {
    fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/sync/queue': { ...QUEUE, incoming: [] },
      'GET /api/connections': CONNECTIONS,
    });
    renderPage('admin/sync-queue');
    expect(await screen.findByText('Nothing is waiting to be applied.')).toBeInTheDocument();
    expect(screen.queryByRole('table', { name: 'Incoming changes' })).not.toBeInTheDocument();
    expect(screen.getByRole('table', { name: 'Outgoing changes' })).toBeInTheDocument();
  });

  it('refreshes every few seconds while shown, on Refresh, and not once another tab is shown', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let queue = EMPTY_QUEUE;
    const api = fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/sync/queue': () => ({ body: queue }),
      'GET /api/connections': CONNECTIONS,
      'GET /api/sync/errors': { errors: [] },
    });
    const { user } = renderPage('admin/sync-queue');
    expect(await screen.findByText('The sync queue is empty')).toBeInTheDocument();
    expect(api.callsTo('GET /api/sync/queue')).toHaveLength(1);

    queue = QUEUE;
    await vi.advanceTimersByTimeAsync(REFRESH_MS);
    expect(await screen.findByRole('table', { name: 'Outgoing changes' })).toBeInTheDocument();
    expect(api.callsTo('GET /api/sync/queue')).toHaveLength(2);

    queue = EMPTY_QUEUE;
    await user.click(screen.getByRole('button', { name: 'Refresh' }));
    expect(await screen.findByText('The sync queue is empty')).toBeInTheDocument();
    expect(api.callsTo('GET /api/sync/queue')).toHaveLength(3);

    await user.click(screen.getByRole('tab', { name: 'Errors' }));
    await screen.findByText('No sync errors');
    await vi.advanceTimersByTimeAsync(3 * REFRESH_MS);
    expect(api.callsTo('GET /api/sync/queue')).toHaveLength(3);
  });

  it('stops refreshing once it is gone', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const api = fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/sync/queue': EMPTY_QUEUE,
      'GET /api/connections': CONNECTIONS,
    });
    const { unmount } = renderPage('admin/sync-queue');
    await screen.findByText('The sync queue is empty');
    unmount();
    await vi.advanceTimersByTimeAsync(3 * REFRESH_MS);
    expect(api.callsTo('GET /api/sync/queue')).toHaveLength(1);
  });

  it('tells what to do when the queue cannot be read', async () => {
    fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/sync/queue': apiError(500, 'internal', 'The Exalate database is unavailable.'),
      'GET /api/connections': CONNECTIONS,
    });
    renderPage('admin/sync-queue');
    expect(await screen.findByText('The sync queue could not be loaded')).toBeInTheDocument();
    expect(screen.getByText('The Exalate database is unavailable.')).toBeInTheDocument();
    expect(screen.getByText('Reload the page; if it persists, check the app is running.')).toBeInTheDocument();
  });
});
