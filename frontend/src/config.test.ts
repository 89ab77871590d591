import { describe, expect, it } from 'vitest';
import { readConfig } from './config';

function shell(metas: Record<string, string>): Document {
  const doc = document.implementation.createHTMLDocument();
  for (const [name, content] of Object.entries(metas)) {
    const meta = doc.createElement('meta');
    meta.name = name;
    meta.content = content;
    doc.head.appendChild(meta);
  }
  return doc;
}

describe('readConfig', () => {
  it('reads the page shell metas', () => {
    const config = readConfig(
      shell({
        'exalate-session': 'jwt',
        'exalate-page': 'admin/connections',
        'exalate-site': 'https://alpha.atlassian.net',
        'exalate-base': 'http://127.0.0.1:8080',
        'exalate-accept-request': 'r1',
      }),
      '',
    );
    expect(config).toEqual({
      page: 'admin/connections',
      sessionToken: 'jwt',
      site: 'https://alpha.atlassian.net',
      base: 'http://127.0.0.1:8080',
      acceptRequest: 'r1',
      issueKey: '',
    });
  });

  it('takes the issue key from the query first, and rejects unknown pages', () => {
    const config = readConfig(shell({ 'exalate-page': 'nope', 'exalate-issue-key': 'META-1' }), '?issueKey=TEST-5');
    expect(config.page).toBeNull();
    expect(config.issueKey).toBe('TEST-5');
    expect(readConfig(shell({ 'exalate-issue-key': 'META-1' }), '').issueKey).toBe('META-1');
  });
});
