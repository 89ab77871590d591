import { afterEach, describe, expect, it, vi } from 'vitest';
import { getContextToken, navigateTop, showHostFlag } from './host';

afterEach(() => {
  delete window.AP;
});

describe('Connect host helpers without all.js', () => {
  it('have no token and no flag', async () => {
    await expect(getContextToken()).resolves.toBeNull();
    expect(showHostFlag('Saved')).toBe(false);
  });
});

describe('Connect host helpers with all.js', () => {
  it('use the host token and flags', async () => {
    const create = vi.fn();
    window.AP = { context: { getToken: (callback) => callback('ctx-token') }, flag: { create } };
    await expect(getContextToken()).resolves.toBe('ctx-token');
    expect(showHostFlag('Saved')).toBe(true);
    expect(create).toHaveBeenCalledWith({ title: 'Saved', type: 'success', close: 'auto' });
    expect(showHostFlag('Retry failed', 'error', 'The other side is down.')).toBe(true);
    expect(create).toHaveBeenLastCalledWith({
      title: 'Retry failed',
      body: 'The other side is down.',
      type: 'error',
      close: 'manual',
    });
  });

  it('navigate pages of the host site through AP.navigator', () => {
    const go = vi.fn();
    window.AP = { navigator: { go } };
    navigateTop('https://alpha.atlassian.net/plugins/servlet/ac/exalate/x', 'https://alpha.atlassian.net');
    expect(go).toHaveBeenCalledWith('site', {
      absoluteUrl: 'https://alpha.atlassian.net/plugins/servlet/ac/exalate/x',
    });
  });
});
