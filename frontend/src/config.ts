// What the server's page shell tells this bundle: which page to render, for which site, and how
// to authenticate back to the server. All of it comes from <meta> tags (see index.html).

export const PAGES = [
  'connections',
  'admin/connections',
  'admin/general-settings',
  'admin/sync-queue',
  'admin/errors',
  'issue-glance',
  'accept',
] as const;

export type PageName = (typeof PAGES)[number];

export interface PageConfig {
  /** null when the shell names a page this bundle does not know. */
  page: PageName | null;
  sessionToken: string;
  /** This Jira site's base URL. */
  site: string;
  /** The app's base URL; API calls go to `${base}/api/...`. */
  base: string;
  /** `accept` page: the connect request sent by the initiating side. */
  acceptRequest: string;
  /** `issue-glance` page: the issue the glance is open on. */
  issueKey: string;
}

export function readConfig(doc: Document = document, search: string = window.location.search): PageConfig {
  const meta = (name: string) => doc.querySelector(`meta[name="${name}"]`)?.getAttribute('content')?.trim() ?? '';
  const query = new URLSearchParams(search);
  const page = meta('exalate-page');
  return {
    page: (PAGES as readonly string[]).includes(page) ? (page as PageName) : null,
    sessionToken: meta('exalate-session'),
    site: meta('exalate-site'),
    base: meta('exalate-base') || window.location.origin,
    acceptRequest: meta('exalate-accept-request') || query.get('request') || '',
    // Jira substitutes {issue.key} into the glance URL's query; the meta is the server's copy.
    issueKey: query.get('issueKey') || meta('exalate-issue-key'),
  };
}
