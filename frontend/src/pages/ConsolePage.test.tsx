import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Connection } from '../api';
import { apiError, EMPTY_QUEUE, fakeServer } from '../test/fakeServer';
import { ADMIN, renderPage } from '../test/render';

const NOT_ADMIN_TEXT =
  'You need Jira admin permission to use Exalate on this site. Ask a Jira administrator to set up connections.';

const active: Connection = {
  id: 'c1',
  name: 'alpha_to_beta',
  otherSideUrl: 'https://beta.atlassian.net',
  mode: 'basic',
  localProject: { key: 'TEST', name: 'Test' },
  remoteProject: { key: 'BETA', name: 'Beta project' },
  status: 'active',
  issuesInSync: 42,
  lastActivity: new Date(Date.now() - 3 * 60_000).toISOString(),
};
const broken: Connection = {
  ...active,
  id: 'c2',
  name: 'alpha_to_gamma',
  otherSideUrl: 'https://gamma.atlassian.net',
  remoteProject: null,
  status: 'error',
  errorReason: 'The other side uninstalled Exalate.',
  issuesInSync: 0,
  lastActivity: null,
};

describe('non-admin', () => {
  it('shows the admin message when whoami says so', async () => {
    fakeServer({ 'GET /api/whoami': { ...ADMIN, isAdmin: false } });
    renderPage('admin/connections');
    expect(await screen.findByText(NOT_ADMIN_TEXT)).toBeInTheDocument();
    expect(screen.queryByRole('tab')).not.toBeInTheDocument();
  });

  it('swaps the whole page for the admin message on any 403 not_admin', async () => {
    fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/connections': apiError(403, 'not_admin', 'Only Jira administrators can manage connections.'),
    });
    renderPage('connections');
    expect(await screen.findByText(NOT_ADMIN_TEXT)).toBeInTheDocument();
    expect(screen.queryByText('Initiate connection')).not.toBeInTheDocument();
  });
});

describe('Connections tab', () => {
  it('lists connections with their status, projects and activity', async () => {
    fakeServer({ 'GET /api/whoami': ADMIN, 'GET /api/connections': { connections: [active, broken] } });
    renderPage('admin/connections');
    const row = (await screen.findByText('alpha_to_beta')).closest('tr')!;
    expect(within(row).getByText('https://beta.atlassian.net')).toBeInTheDocument();
    expect(within(row).getByText('Basic')).toBeInTheDocument();
    expect(within(row).getByText('Test (TEST) ⇄ Beta project (BETA)')).toBeInTheDocument();
    expect(within(row).getByText('Active')).toBeInTheDocument();
    expect(within(row).getByText('42')).toBeInTheDocument();
    expect(within(row).getByText('3 minutes ago')).toBeInTheDocument();
    expect(within(row).getByRole('button', { name: 'Deactivate' })).toBeInTheDocument();

    const errorRow = screen.getByText('alpha_to_gamma').closest('tr')!;
    expect(within(errorRow).getByText('Test (TEST) ⇄ —')).toBeInTheDocument();
    expect(within(errorRow).getByLabelText('Error: The other side uninstalled Exalate.')).toBeInTheDocument();
    expect(within(errorRow).getByRole('button', { name: 'Activate' })).toBeInTheDocument();
  });

  it('shows an empty state without connections', async () => {
    fakeServer({ 'GET /api/whoami': ADMIN, 'GET /api/connections': { connections: [] } });
    renderPage('admin/connections');
    expect(await screen.findByText('No connections yet')).toBeInTheDocument();
  });

  it('deactivates a connection', async () => {
    const api = fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/connections': { connections: [active] },
      'POST /api/connections/c1/deactivate': { connection: { ...active, status: 'deactivated' } },
    });
    const { user } = renderPage('admin/connections');
    await user.click(await screen.findByRole('button', { name: 'Deactivate' }));
    expect(await screen.findByText('Deactivated')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Activate' })).toBeInTheDocument();
    expect(await screen.findByText('Connection alpha_to_beta deactivated')).toBeInTheDocument();
    expect(api.callsTo('POST /api/connections/c1/deactivate')).toHaveLength(1);
  });

  it('deletes a connection after confirmation', async () => {
    let connections = [active];
    const api = fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/connections': () => ({ body: { connections } }),
      'DELETE /api/connections/c1': () => {
        connections = [];
        return { status: 204 };
      },
    });
    const { user } = renderPage('admin/connections');
    await user.click(await screen.findByRole('button', { name: 'Delete' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Delete connection alpha_to_beta?');
    expect(dialog).toHaveTextContent('Synced issues stay as they are; they just stop syncing.');
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));

    expect(await screen.findByText('No connections yet')).toBeInTheDocument();
    expect(api.callsTo('DELETE /api/connections/c1')).toHaveLength(1);
  });
});

describe('General Settings tab', () => {
  const server = () =>
    fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/connections': { connections: [] },
      'GET /api/settings': { exalateUrl: 'https://exalate.example.com/t/alpha-1234', nodeVersion: '0.1.0' },
    });

  it('copies the Exalate URL with the Clipboard API', async () => {
    server();
    const { user } = renderPage('admin/general-settings');
    // user-event installs its own clipboard stub; replace its writeText to observe the call.
    const writeText = vi.spyOn(navigator.clipboard, 'writeText').mockResolvedValue();
    expect(await screen.findByLabelText('Exalate URL')).toHaveValue('https://exalate.example.com/t/alpha-1234');
    expect(screen.getByLabelText('Node version')).toHaveValue('0.1.0');
    await user.click(screen.getByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith('https://exalate.example.com/t/alpha-1234');
    expect(await screen.findByText('Exalate URL copied')).toBeInTheDocument();
  });

  it('falls back to execCommand when the Clipboard API is refused', async () => {
    server();
    const { user } = renderPage('admin/general-settings');
    vi.spyOn(navigator.clipboard, 'writeText').mockRejectedValue(new DOMException('denied', 'NotAllowedError'));
    let copied = '';
    let copiedFrom: Element | null = null;
    // jsdom has no execCommand at all; the test's own document gets one for this test only.
    const execCommand = vi.fn(() => {
      copiedFrom = document.activeElement;
      const field = copiedFrom as HTMLInputElement;
      copied = field.value.slice(field.selectionStart ?? 0, field.selectionEnd ?? 0);
      return true;
    });
    Object.defineProperty(document, 'execCommand', { value: execCommand, configurable: true });
    onTestFinished(() => {
      delete (document as { execCommand?: unknown }).execCommand;
    });
    await user.click(await screen.findByRole('button', { name: 'Copy' }));
    await waitFor(() => expect(execCommand).toHaveBeenCalledWith('copy'));
    expect(copied).toBe('https://exalate.example.com/t/alpha-1234');
    // Copied from the visible field that shows the URL (selected whole), not a hidden one.
    expect(copiedFrom).toBe(screen.getByLabelText('Exalate URL'));
    expect(await screen.findByText('Exalate URL copied')).toBeInTheDocument();
  });
});

describe('Sync Queue and Errors tabs', () => {
  it('switch client-side', async () => {
    fakeServer({
      'GET /api/whoami': ADMIN,
      'GET /api/connections': { connections: [] },
      'GET /api/sync/queue': EMPTY_QUEUE,
      'GET /api/sync/errors': { errors: [] },
    });
    const { user } = renderPage('admin/connections');
    await user.click(await screen.findByRole('tab', { name: 'Sync Queue' }));
    expect(await screen.findByText('The sync queue is empty')).toBeInTheDocument();
    await user.click(screen.getByRole('tab', { name: 'Errors' }));
    expect(await screen.findByText('No sync errors')).toBeInTheDocument();
  });
});
