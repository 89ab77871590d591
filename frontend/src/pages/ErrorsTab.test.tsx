import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { SyncErrorItem } from '../api';
import { apiError, fakeServer, syncErrorRoutes } from '../test/fakeServer';
import { ADMIN, renderPage } from '../test/render';

const failure = (id: string, issueKey: string, extra: Partial<SyncErrorItem> = {}): SyncErrorItem => ({
  id,
  connectionId: 'c1',
  connectionName: 'alpha_to_beta',
  issueKey,
  twinKey: null,
  when: new Date(Date.now() - 3 * 60_000 - 5000).toISOString(),
  cause: 'The other side answered HTTP 500 when creating the twin.',
  ...extra,
});

const ERRORS = () => [
  failure('1', 'TEST-1', { twinKey: 'BETA-7' }),
  failure('2', 'TEST-2', { cause: 'Project BETA has no issue type Bug or Task.' }),
];

const rowOf = (issueKey: string) =>
  within(screen.getByRole('table', { name: 'Sync errors' }))
    .getByText(issueKey)
    .closest('tr')!;

describe('Errors tab', () => {
  it('lists the errors with what, issue, twin, connection and when', async () => {
    fakeServer({ 'GET /api/whoami': ADMIN, ...syncErrorRoutes(ERRORS()) });
    renderPage('admin/errors');
    expect(await screen.findByRole('heading', { name: 'Errors' })).toBeInTheDocument();
    await screen.findByRole('table', { name: 'Sync errors' });

    const first = rowOf('TEST-1');
    expect(within(first).getByText('The other side answered HTTP 500 when creating the twin.')).toBeInTheDocument();
    expect(within(first).getByText('⇄ BETA-7')).toBeInTheDocument();
    expect(within(first).getByText('alpha_to_beta')).toBeInTheDocument();
    expect(within(first).getByText('3 minutes ago')).toBeInTheDocument();
    expect(within(first).getByRole('button', { name: 'Retry' })).toBeInTheDocument();
    expect(within(first).getByRole('button', { name: 'Resolve' })).toBeInTheDocument();

    const second = rowOf('TEST-2');
    expect(within(second).getByText('Project BETA has no issue type Bug or Task.')).toBeInTheDocument();
    expect(within(second).queryByText(/⇄/)).not.toBeInTheDocument();
  });

  it('shows an empty state without errors', async () => {
    fakeServer({ 'GET /api/whoami': ADMIN, 'GET /api/sync/errors': { errors: [] } });
    renderPage('admin/errors');
    expect(await screen.findByText('No sync errors')).toBeInTheDocument();
    expect(screen.getByText('Syncs that keep failing show up here, with what went wrong.')).toBeInTheDocument();
  });

  it('retries a sync: the error leaves the list', async () => {
    const errors = ERRORS();
    const api = fakeServer({ 'GET /api/whoami': ADMIN, ...syncErrorRoutes(errors) });
    const { user } = renderPage('admin/errors');
    await screen.findByRole('table', { name: 'Sync errors' });
    await user.click(within(rowOf('TEST-1')).getByRole('button', { name: 'Retry' }));

    expect(await screen.findByText('Sync of TEST-1 queued again')).toBeInTheDocument();
    expect(screen.queryByText('TEST-1')).not.toBeInTheDocument();
    expect(rowOf('TEST-2')).toBeInTheDocument();
    expect(api.callsTo('POST /api/sync/errors/1/retry')).toHaveLength(1);
    expect(api.callsTo('POST /api/sync/errors/1/resolve')).toHaveLength(0);
    expect(errors.map((e) => e.id)).toEqual(['2']);
  });

  it('resolves an error: it leaves the list', async () => {
    const errors = ERRORS();
    const api = fakeServer({ 'GET /api/whoami': ADMIN, ...syncErrorRoutes(errors) });
    const { user } = renderPage('admin/errors');
    await screen.findByRole('table', { name: 'Sync errors' });
    await user.click(within(rowOf('TEST-2')).getByRole('button', { name: 'Resolve' }));

    expect(await screen.findByText('Error on TEST-2 resolved')).toBeInTheDocument();
    expect(screen.queryByText('TEST-2')).not.toBeInTheDocument();
    expect(api.callsTo('POST /api/sync/errors/2/resolve')).toHaveLength(1);

    await user.click(within(rowOf('TEST-1')).getByRole('button', { name: 'Resolve' }));
    expect(await screen.findByText('No sync errors')).toBeInTheDocument();
  });

  it('keeps the row busy while the answer is on its way', async () => {
    let answer: (value: { status: number }) => void = () => undefined;
    fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/sync/errors': { errors: ERRORS() },
      'POST /api/sync/errors/1/resolve': () => new Promise((resolve) => (answer = resolve)),
    });
    const { user } = renderPage('admin/errors');
    await screen.findByRole('table', { name: 'Sync errors' });
    await user.click(within(rowOf('TEST-1')).getByRole('button', { name: 'Resolve' }));
    expect(within(rowOf('TEST-1')).getByRole('button', { name: 'Retry' })).toBeDisabled();
    expect(within(rowOf('TEST-2')).getByRole('button', { name: 'Retry' })).toBeEnabled();
    answer({ status: 204 });
    expect(await screen.findByText('Error on TEST-1 resolved')).toBeInTheDocument();
    expect(screen.queryByText('TEST-1')).not.toBeInTheDocument();
  });

  it('shows why a retry failed and keeps the row', async () => {
    fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/sync/errors': { errors: ERRORS() },
      'POST /api/sync/errors/1/retry': apiError(
        409,
        'connection_inactive',
        'The connection alpha_to_beta is deactivated.',
      ),
    });
    const { user } = renderPage('admin/errors');
    await screen.findByRole('table', { name: 'Sync errors' });
    await user.click(within(rowOf('TEST-1')).getByRole('button', { name: 'Retry' }));

    expect(await screen.findByText('Could not retry the sync of TEST-1')).toBeInTheDocument();
    expect(screen.getByText('The connection alpha_to_beta is deactivated.')).toBeInTheDocument();
    expect(within(rowOf('TEST-1')).getByRole('button', { name: 'Retry' })).toBeEnabled();
  });

  it('tells what to do when the errors cannot be read', async () => {
    fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/sync/errors': apiError(502, 'bad_gateway', 'The Exalate server answered HTTP 502.'),
    });
    renderPage('admin/errors');
    expect(await screen.findByText('The sync errors could not be loaded')).toBeInTheDocument();
    expect(screen.getByText('The Exalate server answered HTTP 502.')).toBeInTheDocument();
    expect(screen.getByText('Reload the page; if it persists, check the app is running.')).toBeInTheDocument();
  });
});
