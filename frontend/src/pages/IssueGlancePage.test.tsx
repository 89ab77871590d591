import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { IssueStatus } from '../api';
import { apiError, fakeServer } from '../test/fakeServer';
import { renderPage } from '../test/render';
import { pick } from '../test/select';

const renderGlance = () => renderPage('issue-glance', { issueKey: 'TEST-1' });
const notSynced: IssueStatus = { issueKey: 'TEST-1', syncs: [], connections: [{ id: 'c1', name: 'alpha_to_beta' }] };

/** TEST-1 synchronized over alpha_to_beta with twin BETA-7 at `twinUrl`, last synced at `lastSync`. */
function synchronizedWith(twinUrl: string, lastSync: Date): IssueStatus {
  return {
    ...notSynced,
    syncs: [
      {
        connectionId: 'c1',
        connectionName: 'alpha_to_beta',
        status: 'synchronized',
        twinKey: 'BETA-7',
        twinUrl,
        lastSync: lastSync.toISOString(),
      },
    ],
  };
}

describe('issue glance', () => {
  it('offers Exalate for an issue that is not synced, then shows the sync', async () => {
    let status = notSynced;
    const api = fakeServer({
      'GET /api/issues/TEST-1/status': () => ({ body: status }),
      'POST /api/issues/TEST-1/exalate': () => {
        status = {
          ...notSynced,
          syncs: [{ connectionId: 'c1', connectionName: 'alpha_to_beta', status: 'in_progress' }],
        };
        return { body: { status: 'in_progress' } };
      },
    });
    const { user } = renderGlance();
    expect(await screen.findByText('Not synced')).toBeInTheDocument();
    expect(screen.getByText('Connection: alpha_to_beta')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Exalate' }));

    expect(await screen.findByText('In Progress')).toBeInTheDocument();
    expect(api.callsTo('POST /api/issues/TEST-1/exalate')[0].body).toEqual({ connectionId: 'c1' });
    expect(screen.queryByRole('button', { name: 'Exalate' })).not.toBeInTheDocument();
  });

  it('lets the user pick the connection when there are several', async () => {
    const api = fakeServer({
      'GET /api/issues/TEST-1/status': {
        ...notSynced,
        connections: [
          { id: 'c1', name: 'alpha_to_beta' },
          { id: 'c2', name: 'alpha_to_gamma' },
        ],
      },
      'POST /api/issues/TEST-1/exalate': { status: 'in_progress' },
    });
    const { user } = renderGlance();
    await pick(user, 'Connection', 'alpha_to_gamma');
    await user.click(screen.getByRole('button', { name: 'Exalate' }));
    await screen.findByText('Not synced');
    expect(api.callsTo('POST /api/issues/TEST-1/exalate')[0].body).toEqual({ connectionId: 'c2' });
  });

  it('shows a synchronized issue with its twin and last sync', async () => {
    fakeServer({
      'GET /api/issues/TEST-1/status': synchronizedWith(
        'https://beta.atlassian.net/browse/BETA-7',
        new Date(Date.now() - 2 * 3600_000),
      ),
    });
    renderGlance();
    expect(await screen.findByText('Synchronized')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'BETA-7' })).toHaveAttribute(
      'href',
      'https://beta.atlassian.net/browse/BETA-7',
    );
    expect(screen.getByText('Last sync 2 hours ago')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Exalate' })).not.toBeInTheDocument();
  });

  it('shows a twin address that is not a web page as text, never as a link', async () => {
    fakeServer({
      'GET /api/issues/TEST-1/status': synchronizedWith('javascript:alert(document.cookie)', new Date()),
    });
    renderGlance();
    expect(await screen.findByText('Twin: BETA-7')).toBeInTheDocument();
    expect(screen.queryByRole('link')).not.toBeInTheDocument();
  });

  it('shows the error and retries', async () => {
    const api = fakeServer({
      'GET /api/issues/TEST-1/status': {
        ...notSynced,
        syncs: [
          {
            connectionId: 'c1',
            connectionName: 'alpha_to_beta',
            status: 'error',
            error: 'Project BETA has no issue type Bug or Task.',
          },
        ],
      },
      'POST /api/issues/TEST-1/retry': apiError(409, 'still_failing', 'The other side is still unreachable.'),
    });
    const { user } = renderGlance();
    expect(await screen.findByText('Error')).toBeInTheDocument();
    expect(screen.getByText('Project BETA has no issue type Bug or Task.')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByText('The other side is still unreachable.')).toBeInTheDocument();
    expect(api.callsTo('POST /api/issues/TEST-1/retry')[0].body).toEqual({ connectionId: 'c1' });
  });

  it('says so when no connection can sync the issue', async () => {
    fakeServer({ 'GET /api/issues/TEST-1/status': { ...notSynced, connections: [] } });
    renderGlance();
    expect(await screen.findByText(/No active connection can sync this issue/)).toBeInTheDocument();
  });
});
