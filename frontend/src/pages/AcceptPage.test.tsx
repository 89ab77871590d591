import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { apiError, fakeServer } from '../test/fakeServer';
import { PROJECTS, renderPage, SITE } from '../test/render';
import { pick } from '../test/select';

const ACCEPT_LABEL = 'Please select the project where you want to create entities, received from the other side.*';

describe('accept page (destination of "Yes, I have admin access")', () => {
  it('stops at the admin check and shows nothing else', async () => {
    const api = fakeServer({
      'GET /api/connect-requests/r1': apiError(403, 'not_admin', 'You are not a Jira administrator of this site.'),
    });
    renderPage('accept', { acceptRequest: 'r1' });
    expect(
      await screen.findByText(
        `You need Jira administrator permission on this site to accept the connection. Ask a Jira admin of ${SITE} to accept it, or use an invitation code instead.`,
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText('Select a project for the incoming sync')).not.toBeInTheDocument();
    expect(screen.queryByRole('button')).not.toBeInTheDocument();
    expect(api.calls).toHaveLength(1);
  });

  it('lets an admin pick the project and Confirm', async () => {
    const api = fakeServer({
      'GET /api/connect-requests/r1': { otherSideUrl: 'https://beta.atlassian.net' },
      'GET /api/projects': PROJECTS,
      'POST /api/connect-requests/r1/accept': {
        connection: {
          id: 'c2',
          name: 'beta_to_alpha',
          otherSideUrl: 'https://beta.atlassian.net',
          mode: 'basic',
          localProject: { key: 'OPS', name: 'Operations' },
          remoteProject: { key: 'TEST', name: 'Test' },
          status: 'active',
          issuesInSync: 0,
          lastActivity: null,
        },
      },
    });
    const { user } = renderPage('accept', { acceptRequest: 'r1' });
    expect(await screen.findByText('Accept invitation')).toBeInTheDocument();
    expect(screen.getByText('Select a project for the incoming sync')).toBeInTheDocument();
    expect(screen.getByText('https://beta.atlassian.net')).toBeInTheDocument();
    await pick(user, ACCEPT_LABEL, 'Operations (OPS)');
    await user.click(screen.getByRole('button', { name: 'Confirm' }));

    expect(await screen.findByText('Connection established successfully ✓')).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Exalate' })).toBeInTheDocument();
    expect(
      screen.getByLabelText(/Please enter an issue key from the project Operations \(OPS\) to proceed/),
    ).toHaveValue('OPS-1');
    expect(api.callsTo('POST /api/connect-requests/r1/accept')[0].body).toEqual({ projectKey: 'OPS' });
  });
});
