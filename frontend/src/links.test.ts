import { describe, expect, it } from 'vitest';
import { webHref } from './links';

describe('webHref', () => {
  it('keeps web pages and drops everything else', () => {
    expect(webHref('https://beta.atlassian.net/browse/SUP-1')).toBe('https://beta.atlassian.net/browse/SUP-1');
    expect(webHref('http://127.0.0.1:8102/browse/SUP-1')).toBe('http://127.0.0.1:8102/browse/SUP-1');
    for (const bad of [
      'javascript:alert(1)',
      ' JavaScript:alert(1)',
      'data:text/html,<script>',
      'vbscript:x',
      '/browse/SUP-1',
      '',
      null,
      undefined,
    ]) {
      expect(webHref(bad)).toBeUndefined();
    }
  });
});
