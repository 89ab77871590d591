import { describe, expect, it, vi } from 'vitest';
import { ApiError, createApi } from './api';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('createApi', () => {
  it('calls ${base}/api with the session token', async () => {
    const fetch = vi.fn(async () => json(200, { projects: [] }));
    const api = createApi({ base: 'http://exalate.test/', sessionToken: 'meta-token', fetch });
    await api.projects('te st');
    expect(fetch).toHaveBeenCalledWith('http://exalate.test/api/projects?query=te%20st', {
      method: 'GET',
      headers: { Accept: 'application/json', Authorization: 'JWT meta-token' },
      body: undefined,
    });
  });

  it('prefers a fresh host token and falls back to the session token', async () => {
    const fetch = vi.fn(async () => json(200, {}));
    const fresh = vi.fn<() => Promise<string | null>>().mockResolvedValueOnce('host-token').mockResolvedValueOnce(null);
    const api = createApi({ base: 'http://exalate.test', sessionToken: 'meta-token', freshToken: fresh, fetch });
    await api.whoami();
    await api.whoami();
    const auth = fetch.mock.calls.map(
      (call) => ((call as unknown[])[1] as RequestInit).headers as Record<string, string>,
    );
    expect(auth.map((h) => h.Authorization)).toEqual(['JWT host-token', 'JWT meta-token']);
  });

  it('turns error bodies into ApiError with the server message', async () => {
    const onNotAdmin = vi.fn();
    const fetch = vi.fn(async () =>
      json(403, { error: { code: 'not_admin', message: 'Only Jira admins can do that.' } }),
    );
    const api = createApi({ base: 'http://exalate.test', sessionToken: 't', fetch, onNotAdmin });
    const error = await api.connections().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 403, code: 'not_admin', message: 'Only Jira admins can do that.' });
    expect(onNotAdmin).toHaveBeenCalledOnce();
  });

  it('explains answers that are not the error shape, and network failures', async () => {
    const gateway = createApi({
      base: 'http://x',
      sessionToken: 't',
      fetch: async () => new Response('<html>', { status: 502 }),
    });
    await expect(gateway.settings()).rejects.toThrow('The Exalate server answered HTTP 502.');
    const offline = createApi({
      base: 'http://x',
      sessionToken: 't',
      fetch: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    await expect(offline.settings()).rejects.toThrow(/Could not reach the Exalate server/);
  });

  it('sends JSON bodies and accepts 204', async () => {
    const fetch = vi.fn(async () => new Response(null, { status: 204 }));
    const api = createApi({ base: 'http://x', sessionToken: 't', fetch });
    await expect(api.deleteConnection('a/b')).resolves.toBeUndefined();
    expect((fetch.mock.calls[0] as unknown[])[0]).toBe('http://x/api/connections/a%2Fb');

    fetch.mockResolvedValueOnce(json(200, { status: 'in_progress' }));
    await api.exalateIssue('TEST-1', 'c1');
    const init = (fetch.mock.calls[1] as unknown[])[1] as RequestInit;
    expect(init.body).toBe('{"connectionId":"c1"}');
    expect(init.headers).toMatchObject({ 'Content-Type': 'application/json' });
  });
});
