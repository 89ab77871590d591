import { screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Connection } from '../api';
import { navigateTop } from '../host';
import { apiError, fakeServer } from '../test/fakeServer';
import { ADMIN, PROJECTS, renderPage, SITE } from '../test/render';
import { pick } from '../test/select';
import { DESTINATION_INFO } from './initiate/DestinationStep';

vi.mock('../host', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../host')>()),
  navigateTop: vi.fn(),
}));

const INCOMING_LABEL = 'Please select the project where you want to create issues, received from the other side.*';

const connection = (over: Partial<Connection> = {}): Connection => ({
  id: 'c1',
  name: 'alpha_to_beta',
  otherSideUrl: 'https://beta.atlassian.net',
  mode: 'basic',
  localProject: { key: 'TEST', name: 'Test' },
  remoteProject: null,
  status: 'pending',
  issuesInSync: 0,
  lastActivity: null,
  ...over,
});

function server(extra: Record<string, unknown> = {}) {
  return fakeServer({
    'GET /api/whoami': ADMIN,
    'GET /api/connections': { connections: [] },
    'GET /api/projects': PROJECTS,
    'POST /api/connections/discover': {
      kind: 'remote',
      destinationUrl: 'https://beta.atlassian.net',
      destinationName: 'Beta',
    },
    ...extra,
  });
}

async function openWizard() {
  const page = renderPage('admin/connections');
  await page.user.click(await screen.findByRole('button', { name: 'Initiate connection' }));
  const dialog = await screen.findByRole('dialog');
  expect(within(dialog).getByText('Initiate connection')).toBeInTheDocument();
  return { ...page, dialog };
}

/** Steps 1–3 of the remote path, ending on "Do you have admin access to the destination instance?". */
async function walkToAccessStep() {
  const page = await openWizard();
  const { user } = page;
  await user.type(screen.getByLabelText('Destination instance URL'), 'https://beta.atlassian.net');
  await user.click(screen.getByRole('button', { name: 'Next' }));

  expect(await screen.findByText('Choose the configuration type')).toBeInTheDocument();
  expect(screen.getByText('Automatic configuration of basic fields')).toBeInTheDocument();
  expect(screen.getByText('Low-code, visual interface')).toBeInTheDocument();
  expect(screen.getByText('Groovy-based scripting')).toBeInTheDocument();
  expect(screen.getAllByText('Not available in this version')).toHaveLength(2);
  expect(screen.getByRole('radio', { name: 'Basic' })).toBeChecked();
  expect(screen.getByRole('radio', { name: 'Visual' })).toBeDisabled();
  expect(screen.getByRole('radio', { name: 'Script' })).toBeDisabled();
  await user.click(screen.getByRole('button', { name: 'Next' }));

  expect(await screen.findByText('Select a project for the incoming sync')).toBeInTheDocument();
  expect(
    screen.getByText(
      'Exalate generates default sync rules to synchronize basic issue fields. By default the following issue data will be synchronized: summary, description, comments, attachments and issue types.',
    ),
  ).toBeInTheDocument();
  await user.click(screen.getByRole('button', { name: 'Next' }));
  expect(await screen.findByText('Select a project to continue.')).toBeInTheDocument();
  await pick(user, INCOMING_LABEL, 'Test (TEST)');
  await user.click(screen.getByRole('button', { name: 'Next' }));

  expect(await screen.findByText('Do you have admin access to the destination instance?')).toBeInTheDocument();
  expect(
    screen.getByText('You will be redirected to the destination instance to establish the connection'),
  ).toBeInTheDocument();
  expect(
    screen.getByText(
      'You will generate an invitation and send it to the destination instance admin to establish the connection',
    ),
  ).toBeInTheDocument();
  return page;
}

describe('Initiate connection wizard', () => {
  beforeEach(() => vi.mocked(navigateTop).mockClear());

  it('"Yes, I have admin access" sends the browser to the destination', async () => {
    const api = server({
      'POST /api/connections': {
        connection: connection(),
        redirectUrl: 'https://beta.atlassian.net/plugins/servlet/ac/exalate/accept?request=r1',
      },
    });
    const { user } = await walkToAccessStep();
    expect(screen.getByRole('radio', { name: 'Yes, I have admin access' })).toBeChecked();
    await user.click(screen.getByRole('button', { name: 'Initiate' }));

    await waitFor(() =>
      expect(navigateTop).toHaveBeenCalledWith(
        'https://beta.atlassian.net/plugins/servlet/ac/exalate/accept?request=r1',
        SITE,
      ),
    );
    expect(api.callsTo('POST /api/connections/discover')[0].body).toEqual({
      destinationUrl: 'https://beta.atlassian.net',
    });
    expect(api.callsTo('POST /api/connections')[0].body).toEqual({
      destinationUrl: 'https://beta.atlassian.net',
      mode: 'basic',
      localProjectKey: 'TEST',
      adminAccess: true,
    });
    expect(api.calls.every((c) => c.authorization === 'JWT session-jwt')).toBe(true);
  });

  it('"No, I don\'t have admin access" shows the invitation code to copy', async () => {
    const api = server({ 'POST /api/connections': { connection: connection(), invitationCode: 'EXA-INVITE-123' } });
    const { user } = await walkToAccessStep();
    await user.click(screen.getByRole('radio', { name: "No, I don't have admin access" }));
    await user.click(screen.getByRole('button', { name: 'Initiate' }));

    expect(await screen.findByDisplayValue('EXA-INVITE-123')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Copy invitation code' })).toBeInTheDocument();
    expect(
      screen.getByText(
        'Send the invitation code to the destination instance admin. They accept it under Accept invitation in Exalate.',
      ),
    ).toBeInTheDocument();
    expect(api.callsTo('POST /api/connections')[0].body).toMatchObject({ adminAccess: false, localProjectKey: 'TEST' });
    expect(navigateTop).not.toHaveBeenCalled();
  });

  it('explains the destination URL in the ⓘ tooltip', async () => {
    server();
    const { user } = await openWizard();
    await user.hover(screen.getByRole('button', { name: 'About the destination instance URL' }));
    expect(await screen.findByText(DESTINATION_INFO)).toBeInTheDocument();
    expect(DESTINATION_INFO).toBe(
      'The link to the instance you want to set up a connection with. You can enter the link of that instance or the Exalate URL from the General Settings tab in the Exalate admin panel. If you enter the URL of your own instance, Exalate sets up a local connection between 2 projects of your instance.',
    );
  });

  it('shows the discover error under the URL field', async () => {
    server({
      'POST /api/connections/discover': apiError(
        400,
        'bad_destination',
        'https://nowhere.example is not a Jira Cloud site or an Exalate URL.',
      ),
    });
    const { user } = await openWizard();
    await user.type(screen.getByLabelText('Destination instance URL'), 'https://nowhere.example');
    await user.click(screen.getByRole('button', { name: 'Next' }));
    expect(
      await screen.findByText('https://nowhere.example is not a Jira Cloud site or an Exalate URL.'),
    ).toBeInTheDocument();
    expect(screen.queryByText('Choose the configuration type')).not.toBeInTheDocument();
  });

  it('"I don\'t have a URL" goes straight to the invitation', async () => {
    const api = server({ 'POST /api/connections': { connection: connection(), invitationCode: 'EXA-NO-URL' } });
    const { user } = await openWizard();
    await user.click(screen.getByRole('checkbox', { name: "I don't have a URL" }));
    expect(screen.getByLabelText('Destination instance URL')).toBeDisabled();
    await user.click(screen.getByRole('button', { name: 'Next' }));
    await user.click(await screen.findByRole('button', { name: 'Next' }));
    await pick(user, INCOMING_LABEL, 'Test (TEST)');
    await user.click(screen.getByRole('button', { name: 'Initiate' }));

    expect(await screen.findByDisplayValue('EXA-NO-URL')).toBeInTheDocument();
    expect(api.callsTo('POST /api/connections/discover')).toHaveLength(0);
    expect(api.callsTo('POST /api/connections')[0].body).toEqual({
      destinationUrl: null,
      mode: 'basic',
      localProjectKey: 'TEST',
      adminAccess: false,
    });
  });

  it('a local connection asks for both projects and ends on the first sync', async () => {
    const api = server({
      'POST /api/connections/discover': { kind: 'local', destinationUrl: SITE },
      'POST /api/connections': {
        connection: connection({
          status: 'active',
          otherSideUrl: SITE,
          remoteProject: { key: 'OPS', name: 'Operations' },
        }),
      },
      'POST /api/connections/c1/first-sync': {
        message: 'TEST-1 is syncing to OPS-7.',
        issueKey: 'TEST-1',
        twinKey: 'OPS-7',
      },
    });
    const { user } = await openWizard();
    await user.type(screen.getByLabelText('Destination instance URL'), SITE);
    await user.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText(/local connection between 2 projects of your instance/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Next' }));
    await pick(user, INCOMING_LABEL, 'Test (TEST)');
    await pick(user, 'Select the project for the other side of this local connection.*', 'Operations (OPS)');
    await user.click(screen.getByRole('button', { name: 'Initiate' }));

    expect(await screen.findByText('Connection established successfully ✓')).toBeInTheDocument();
    expect(within(screen.getByRole('dialog')).getByRole('heading', { name: 'Exalate' })).toBeInTheDocument();
    expect(screen.getByText('Sync your first issue to see how it works.')).toBeInTheDocument();
    expect(screen.getByLabelText(/Please enter an issue key from the project Test \(TEST\) to proceed/)).toHaveValue(
      'TEST-1',
    );
    expect(api.callsTo('POST /api/connections')[0].body).toEqual({
      destinationUrl: SITE,
      mode: 'basic',
      localProjectKey: 'TEST',
      remoteProjectKey: 'OPS',
      adminAccess: true,
    });

    await user.click(screen.getByRole('button', { name: 'Exalate' }));
    expect(await screen.findByText('TEST-1 is syncing to OPS-7.')).toBeInTheDocument();
    expect(api.callsTo('POST /api/connections/c1/first-sync')[0].body).toEqual({ issueKey: 'TEST-1' });
  });
});
