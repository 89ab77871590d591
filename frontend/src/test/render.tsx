import { render } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from '../App';
import type { PageConfig, PageName } from '../config';

export const SITE = 'https://alpha.atlassian.net';
export const BASE = 'http://exalate.test';

export function renderPage(page: PageName, extra: Partial<PageConfig> = {}) {
  const user = userEvent.setup();
  const config: PageConfig = {
    page,
    sessionToken: 'session-jwt',
    site: SITE,
    base: BASE,
    acceptRequest: '',
    issueKey: '',
    ...extra,
  };
  return { user, ...render(<App config={config} />) };
}

export const ADMIN = { clientKey: 'alpha', baseUrl: SITE, accountId: 'acc-1', isAdmin: true };

export const PROJECTS = {
  projects: [
    { id: '10000', key: 'TEST', name: 'Test' },
    { id: '10001', key: 'OPS', name: 'Operations' },
  ],
};
