/**
 * An address worth a link: an ordinary web page. Twin addresses come from the other side of a
 * connection (another organisation's node), so one that would run script (`javascript:`) or
 * open anything else is shown as text, never as a link.
 */
export function webHref(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}
