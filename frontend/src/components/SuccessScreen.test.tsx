import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { createApi, type Connection, type IssueStatus, type IssueSync } from '../api';
import { AppContext } from '../context';
import { fakeServer } from '../test/fakeServer';
import { BASE, SITE } from '../test/render';
import { POLL_MS, SuccessScreen } from './SuccessScreen';

const CONNECTION: Connection = {
  id: 'c1',
  name: 'alpha_to_beta',
  otherSideUrl: 'https://beta.atlassian.net',
  mode: 'basic',
  localProject: { key: 'TEST', name: 'Test' },
  remoteProject: { key: 'SUP', name: 'Support' },
  status: 'active',
  issuesInSync: 0,
  lastActivity: null,
};

const FIRST_SYNC = {
  issueKey: 'TEST-3',
  issueUrl: `${SITE}/browse/TEST-3`,
  message: 'TEST-3 is being synchronized. Open it to follow its status in the Exalate panel.',
};

/** GET /api/issues/TEST-3/status answering `answers` in turn (the last one from then on). */
function statusRoute(answers: Partial<IssueSync>[], others: IssueSync[] = []) {
  let n = 0;
  return () => {
    const sync = answers[Math.min(n++, answers.length - 1)];
    const body: IssueStatus = {
      issueKey: 'TEST-3',
      syncs: [...others, { connectionId: 'c1', connectionName: 'alpha_to_beta', status: 'in_progress', ...sync }],
      connections: [{ id: 'c1', name: 'alpha_to_beta' }],
    };
    return { body };
  };
}

function renderScreen(routes: Record<string, unknown>) {
  const api = fakeServer(routes);
  const user = userEvent.setup();
  const context = {
    api: createApi({ base: BASE, sessionToken: 'session-jwt' }),
    config: {
      page: 'admin/connections' as const,
      sessionToken: 'session-jwt',
      site: SITE,
      base: BASE,
      acceptRequest: '',
      issueKey: '',
    },
  };
  const view = render(
    <AppContext.Provider value={context}>
      <SuccessScreen connection={CONNECTION} />
    </AppContext.Provider>,
  );
  return { api, user, ...view };
}

const firstSync = () => screen.findByRole('region', { name: 'First sync' });
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

describe('Success screen: the first sync', () => {
  it('shows the status and both issues, updating as the sync goes, without a reload', async () => {
    const { api, user } = renderScreen({
      'POST /api/connections/c1/first-sync': FIRST_SYNC,
      'GET /api/issues/TEST-3/status': statusRoute(
        [
          { status: 'in_progress' },
          {
            status: 'synchronized',
            twinKey: 'SUP-7',
            twinUrl: 'https://beta.atlassian.net/browse/SUP-7',
            lastSync: '2026-01-15T10:00:00Z',
          },
        ],
        // Another connection's sync of the same issue is not this screen's.
        [{ connectionId: 'c2', connectionName: 'alpha_to_gamma', status: 'error', error: 'Not this one' }],
      ),
    });
    const issueKey = screen.getByLabelText(/Please enter an issue key from the project Test \(TEST\) to proceed/);
    await user.clear(issueKey);
    await user.type(issueKey, 'TEST-3');
    await user.click(screen.getByRole('button', { name: 'Exalate' }));

    const box = await firstSync();
    expect(within(box).getByText(FIRST_SYNC.message)).toBeInTheDocument();
    expect(within(box).getByText('In Progress')).toBeInTheDocument();
    const local = within(box).getByRole('link', { name: 'TEST-3' });
    expect(local).toHaveAttribute('href', 'https://alpha.atlassian.net/browse/TEST-3');
    expect(local).toHaveAttribute('target', '_blank');
    expect(local).toHaveAttribute('rel', 'noreferrer');
    expect(within(box).getByText('Being created…')).toBeInTheDocument();

    // The next poll (about a second later) finds the twin.
    const twin = await within(box).findByRole('link', { name: 'SUP-7' }, { timeout: POLL_MS * 4 });
    expect(twin).toHaveAttribute('href', 'https://beta.atlassian.net/browse/SUP-7');
    expect(twin).toHaveAttribute('target', '_blank');
    expect(twin).toHaveAttribute('rel', 'noreferrer');
    expect(within(box).getByText('Synchronized')).toBeInTheDocument();
    expect(screen.queryByText('Not this one')).not.toBeInTheDocument();
    expect(api.callsTo('POST /api/connections/c1/first-sync')[0].body).toEqual({ issueKey: 'TEST-3' });

    // Synchronized is final: polling stops.
    const polls = api.callsTo('GET /api/issues/TEST-3/status').length;
    expect(polls).toBe(2);
    await sleep(POLL_MS * 1.5);
    expect(api.callsTo('GET /api/issues/TEST-3/status')).toHaveLength(polls);
  });

  it('shows an error, and stops polling', async () => {
    const { api, user } = renderScreen({
      'POST /api/connections/c1/first-sync': FIRST_SYNC,
      'GET /api/issues/TEST-3/status': statusRoute([
        { status: 'error', error: 'Project SUP does not exist on the other side.' },
      ]),
    });
    await user.click(screen.getByRole('button', { name: 'Exalate' }));
    const box = await firstSync();
    expect(await within(box).findByText('Error')).toBeInTheDocument();
    expect(within(box).getByText('Project SUP does not exist on the other side.')).toBeInTheDocument();
    expect(within(box).getByText('Not created')).toBeInTheDocument();
    await sleep(POLL_MS * 1.5);
    expect(api.callsTo('GET /api/issues/TEST-3/status')).toHaveLength(1);
  });

  it('stops polling when the screen closes', async () => {
    const { api, user, unmount } = renderScreen({
      'POST /api/connections/c1/first-sync': FIRST_SYNC,
      'GET /api/issues/TEST-3/status': statusRoute([{ status: 'in_progress' }]),
    });
    await user.click(screen.getByRole('button', { name: 'Exalate' }));
    await waitFor(() => expect(api.callsTo('GET /api/issues/TEST-3/status')).toHaveLength(1));
    unmount();
    await sleep(POLL_MS * 1.5);
    expect(api.callsTo('GET /api/issues/TEST-3/status')).toHaveLength(1);
  });

  it('shows addresses that are not web pages as text, never as links', async () => {
    const { user } = renderScreen({
      'POST /api/connections/c1/first-sync': { ...FIRST_SYNC, issueUrl: 'javascript:alert(1)' },
      'GET /api/issues/TEST-3/status': statusRoute([
        { status: 'synchronized', twinKey: 'SUP-7', twinUrl: 'javascript:alert(document.domain)' },
      ]),
    });
    await user.click(screen.getByRole('button', { name: 'Exalate' }));
    const box = await firstSync();
    expect(await within(box).findByText('SUP-7')).toBeInTheDocument();
    expect(within(box).getByText('TEST-3')).toBeInTheDocument();
    expect(within(box).queryAllByRole('link')).toHaveLength(0);
  });
});
