import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
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

/** The "No, I don't have admin access" path up to the invitation code; returns its field. */
async function walkToInvitation(code: string) {
  server({ 'POST /api/connections': { connection: connection(), invitationCode: code } });
  const page = await walkToAccessStep();
  await page.user.click(screen.getByRole('radio', { name: "No, I don't have admin access" }));
  await page.user.click(screen.getByRole('button', { name: 'Initiate' }));
  const field = (await screen.findByDisplayValue(code)) as HTMLTextAreaElement;
  return { ...page, field };
}

/**
 * Gives jsdom (which has none) a `document.execCommand` for this test: `answer` is what it returns;
 * it records what was focused and selected when it ran, i.e. what the browser would have copied.
 */
function stubExecCommand(answer: boolean) {
  const seen: { active: Element | null; selected: string }[] = [];
  const execCommand = vi.fn(() => {
    const active = document.activeElement;
    const field = active as HTMLTextAreaElement | null;
    const selected =
      field && typeof field.value === 'string'
        ? field.value.slice(field.selectionStart ?? 0, field.selectionEnd ?? 0)
        : '';
    seen.push({ active, selected });
    return answer;
  });
  Object.defineProperty(document, 'execCommand', { value: execCommand, configurable: true });
  onTestFinished(() => {
    delete (document as { execCommand?: unknown }).execCommand;
  });
  return { execCommand, seen };
}

/** Chromium's answer to "may this frame use clipboard-write?", as in Jira's Connect iframe. */
function stubPermissionsPolicy(allowed: boolean) {
  Object.defineProperty(document, 'featurePolicy', {
    value: { allowsFeature: (feature: string) => (feature === 'clipboard-write' ? allowed : true) },
    configurable: true,
  });
  onTestFinished(() => {
    delete (document as { featurePolicy?: unknown }).featurePolicy;
  });
}

describe('Copy invitation code', () => {
  it('copies with the Clipboard API where the frame allows it', async () => {
    const { user, field } = await walkToInvitation('EXA-INVITE-1');
    const writeText = vi.spyOn(navigator.clipboard, 'writeText').mockResolvedValue();
    expect(field).toHaveAttribute('readonly');
    expect(within(screen.getByRole('dialog')).getByLabelText('Invitation code')).toBe(field);
    await user.click(screen.getByRole('button', { name: 'Copy invitation code' }));
    expect(writeText).toHaveBeenCalledWith('EXA-INVITE-1');
    expect(await screen.findByText('Invitation code copied')).toBeInTheDocument();
    expect(screen.queryByText('Press Ctrl+C to copy')).not.toBeInTheDocument();
  });

  it("inside Jira's iframe, copies from the code's own field in the dialog", async () => {
    stubPermissionsPolicy(false);
    const { user, field } = await walkToInvitation('EXA-INVITE-2');
    const writeText = vi.spyOn(navigator.clipboard, 'writeText');
    const { execCommand, seen } = stubExecCommand(true);
    const button = screen.getByRole('button', { name: 'Copy invitation code' });
    await user.click(button);

    await waitFor(() => expect(execCommand).toHaveBeenCalledWith('copy'));
    // The policy says no: the Clipboard API is not even tried.
    expect(writeText).not.toHaveBeenCalled();
    // What was selected is the whole code, in the visible field inside the dialog.
    expect(seen).toEqual([{ active: field, selected: 'EXA-INVITE-2' }]);
    expect(screen.getByRole('dialog')).toContainElement(field);
    expect(await screen.findByText('Invitation code copied')).toBeInTheDocument();
    expect(document.activeElement).toBe(button);
  });

  it('falls back to execCommand when the Clipboard API refuses', async () => {
    const { user, field } = await walkToInvitation('EXA-INVITE-3');
    vi.spyOn(navigator.clipboard, 'writeText').mockRejectedValue(new DOMException('denied', 'NotAllowedError'));
    const { seen } = stubExecCommand(true);
    await user.click(screen.getByRole('button', { name: 'Copy invitation code' }));
    expect(await screen.findByText('Invitation code copied')).toBeInTheDocument();
    expect(seen).toEqual([{ active: field, selected: 'EXA-INVITE-3' }]);
  });

  it('says "Press Ctrl+C to copy", with the code selected, when nothing could copy', async () => {
    stubPermissionsPolicy(false);
    const { user, field } = await walkToInvitation('EXA-INVITE-4');
    stubExecCommand(false);
    await user.click(screen.getByRole('button', { name: 'Copy invitation code' }));

    expect(await screen.findByText('Press Ctrl+C to copy')).toBeInTheDocument();
    expect(screen.queryByText('Invitation code copied')).not.toBeInTheDocument();
    expect(document.activeElement).toBe(field);
    expect(field.value.slice(field.selectionStart, field.selectionEnd)).toBe('EXA-INVITE-4');

    // The admin presses Ctrl+C in the field: that is a copy, and now it says so.
    fireEvent.copy(field);
    expect(await screen.findByText('Invitation code copied')).toBeInTheDocument();
    expect(screen.queryByText('Press Ctrl+C to copy')).not.toBeInTheDocument();
  });

  it('does not claim a copy when execCommand throws', async () => {
    const { user } = await walkToInvitation('EXA-INVITE-5');
    vi.spyOn(navigator.clipboard, 'writeText').mockRejectedValue(new DOMException('denied', 'NotAllowedError'));
    Object.defineProperty(document, 'execCommand', {
      value: () => {
        throw new Error('not supported');
      },
      configurable: true,
    });
    onTestFinished(() => {
      delete (document as { execCommand?: unknown }).execCommand;
    });
    await user.click(screen.getByRole('button', { name: 'Copy invitation code' }));
    expect(await screen.findByText('Press Ctrl+C to copy')).toBeInTheDocument();
    expect(screen.queryByText('Invitation code copied')).not.toBeInTheDocument();
  });
});

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
        issueUrl: `${SITE}/browse/TEST-1`,
        twinKey: 'OPS-7',
      },
      'GET /api/issues/TEST-1/status': {
        issueKey: 'TEST-1',
        syncs: [
          {
            connectionId: 'c1',
            connectionName: 'TEST_to_OPS',
            status: 'synchronized',
            twinKey: 'OPS-7',
            twinUrl: `${SITE}/browse/OPS-7`,
          },
        ],
        connections: [{ id: 'c1', name: 'TEST_to_OPS' }],
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
    // Both issues are on this site: each links to its own page.
    expect(await screen.findByText('Synchronized')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'TEST-1' })).toHaveAttribute('href', `${SITE}/browse/TEST-1`);
    expect(screen.getByRole('link', { name: 'OPS-7' })).toHaveAttribute('href', `${SITE}/browse/OPS-7`);
  });
});
