import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { apiError, fakeServer } from '../test/fakeServer';
import { ADMIN, PROJECTS, renderPage } from '../test/render';
import { pick } from '../test/select';

const ACCEPT_LABEL = 'Please select the project where you want to create entities, received from the other side.*';

function server(extra: Record<string, unknown> = {}) {
  return fakeServer({
    'GET /api/whoami': ADMIN,
    'GET /api/connections': { connections: [] },
    'GET /api/projects': PROJECTS,
    ...extra,
  });
}

async function openDialog() {
  const page = renderPage('admin/connections');
  await page.user.click(await screen.findByRole('button', { name: 'Accept invitation' }));
  expect(await screen.findByRole('dialog')).toHaveTextContent('Accept invitation');
  return page;
}

describe('Accept invitation dialog', () => {
  it('shows why a code is refused', async () => {
    server({
      'POST /api/invitations/validate': apiError(410, 'invitation_used', 'This invitation code was already used.'),
    });
    const { user } = await openDialog();
    await user.type(screen.getByLabelText('Invitation code'), 'EXA-USED');
    await user.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText('This invitation code was already used.')).toBeInTheDocument();
    expect(screen.queryByText('Select a project for the incoming sync')).not.toBeInTheDocument();
  });

  it('accepts a code into the chosen project and offers the first sync', async () => {
    const api = server({
      'POST /api/invitations/validate': { otherSideUrl: 'https://beta.atlassian.net', otherSideName: 'Beta' },
      'POST /api/invitations/accept': {
        connection: {
          id: 'c9',
          name: 'beta_to_alpha',
          otherSideUrl: 'https://beta.atlassian.net',
          mode: 'basic',
          localProject: { key: 'TEST', name: 'Test' },
          remoteProject: { key: 'BETA', name: 'Beta project' },
          status: 'active',
          issuesInSync: 0,
          lastActivity: null,
        },
      },
      'POST /api/connections/c9/first-sync': apiError(404, 'issue_not_found', 'Issue TEST-9 does not exist'),
    });
    const { user } = await openDialog();
    await user.type(screen.getByLabelText('Invitation code'), 'EXA-GOOD');
    await user.click(screen.getByRole('button', { name: 'Next' }));

    expect(await screen.findByText('Select a project for the incoming sync')).toBeInTheDocument();
    expect(
      screen.getByText(
        'After accepting an invitation for a Basic mode connection, Exalate will be able to sync basic issue fields. The sync rules cannot be updated. Exalate will sync the following issue data: summary, description, comments, and attachments.',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        'Issue types are mirrored. This means that tasks will be synced as tasks, bugs as bugs, and improvements as improvements. If an issue type is not included in the basic set, it will be synced as a task.',
      ),
    ).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('Select a project to continue.')).toBeInTheDocument();
    await pick(user, ACCEPT_LABEL, 'Test (TEST)');
    await user.click(screen.getByRole('button', { name: 'Confirm' }));

    expect(await screen.findByText('Connection established successfully ✓')).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Exalate' })).toBeInTheDocument();
    const issueKey = screen.getByLabelText(/Please enter an issue key from the project Test \(TEST\) to proceed/);
    expect(issueKey).toHaveValue('TEST-1');
    expect(api.callsTo('POST /api/invitations/accept')[0].body).toEqual({ code: 'EXA-GOOD', projectKey: 'TEST' });

    await user.clear(issueKey);
    await user.type(issueKey, 'TEST-9');
    await user.click(screen.getByRole('button', { name: 'Exalate' }));
    expect(await screen.findByText('Issue TEST-9 does not exist')).toBeInTheDocument();
  });
});
