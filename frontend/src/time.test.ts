import { describe, expect, it } from 'vitest';
import { formatRelative, formatUntil } from './time';

describe('formatRelative', () => {
  const now = new Date('2026-01-15T12:00:00Z');
  it.each([
    ['2026-01-15T11:59:30Z', 'just now'],
    ['2026-01-15T11:57:00Z', '3 minutes ago'],
    ['2026-01-15T09:00:00Z', '3 hours ago'],
    ['2026-01-14T12:00:00Z', 'yesterday'],
    ['2025-12-15T12:00:00Z', 'last month'],
  ])('%s → %s', (iso, text) => expect(formatRelative(iso, now)).toBe(text));

  it('shows a dash for no time', () => {
    expect(formatRelative(null, now)).toBe('—');
    expect(formatRelative('garbage', now)).toBe('—');
  });
});

describe('formatUntil', () => {
  const now = new Date('2026-01-15T12:00:00Z');
  it.each([
    ['2026-01-15T12:00:20Z', 'in 20 seconds'],
    ['2026-01-15T12:05:00Z', 'in 5 minutes'],
    ['2026-01-15T12:00:00Z', 'now'],
    ['2026-01-15T11:50:00Z', 'now'],
  ])('%s → %s', (iso, text) => expect(formatUntil(iso, now)).toBe(text));

  it('shows a dash for no time', () => {
    expect(formatUntil(null, now)).toBe('—');
  });
});
