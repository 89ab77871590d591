// Copying from inside Jira's iframe. The async Clipboard API needs the `clipboard-write`
// permissions policy, which a Connect app's iframe is not given (Jira does not put
// `allow="clipboard-write"` on it), so there the text is selected in its visible field and
// `document.execCommand('copy')` is tried. The field must be the one the user sees: inside an
// Atlaskit modal only elements in the dialog can hold the focus (a hidden textarea appended to
// <body> never gets it, so nothing would be selected and nothing copied).

/** 'copied': the text is on the clipboard. 'manual': it is selected in its field, for Ctrl+C. */
export type CopyOutcome = 'copied' | 'manual';

export type CopyField = HTMLInputElement | HTMLTextAreaElement;

/**
 * Puts `text` on the clipboard. Falls back to selecting it in `field` (the visible read-only
 * field that shows it) and `execCommand('copy')`; when that is refused too, the text is left
 * selected in the focused field and the answer is 'manual'. Never claims a copy that did not happen.
 */
export async function copyText(text: string, field: CopyField | null): Promise<CopyOutcome> {
  // Where the frame may not write, don't even ask: the fallback then runs straight from the click,
  // while the browser still counts it as the user's gesture.
  if (asyncClipboardAllowed()) {
    try {
      await navigator.clipboard.writeText(text);
      return 'copied';
    } catch {
      // Refused (permission, policy, no focus): try the old way below.
    }
  }
  if (!field) return 'manual';
  return copyFromField(field) ? 'copied' : 'manual';
}

function asyncClipboardAllowed(): boolean {
  if (typeof navigator === 'undefined' || typeof navigator.clipboard?.writeText !== 'function') return false;
  // Chromium tells whether the frame's permissions policy allows the feature; other browsers
  // don't have the API and gate the clipboard on the click instead.
  const policy = (document as PolicyDocument).permissionsPolicy ?? (document as PolicyDocument).featurePolicy;
  if (policy && typeof policy.allowsFeature === 'function') {
    try {
      return policy.allowsFeature('clipboard-write');
    } catch {
      return true;
    }
  }
  return true;
}

interface PolicyDocument extends Document {
  permissionsPolicy?: { allowsFeature?: (feature: string) => boolean };
  featurePolicy?: { allowsFeature?: (feature: string) => boolean };
}

/** Selects the whole field and asks the browser to copy the selection; true only when it did. */
function copyFromField(field: CopyField): boolean {
  const previous = document.activeElement;
  selectAll(field);
  let copied = false;
  try {
    copied = typeof document.execCommand === 'function' && document.execCommand('copy');
  } catch {
    copied = false;
  }
  // After a copy, give the focus back to the Copy button, so keyboard users stay where they
  // were. Otherwise the field keeps it, with the text selected, ready for Ctrl+C.
  if (copied && previous instanceof HTMLElement && previous !== field) previous.focus();
  return copied;
}

export function selectAll(field: CopyField): void {
  field.focus();
  field.select();
  try {
    field.setSelectionRange(0, field.value.length);
  } catch {
    // Some input types have no selection range; select() already did what it could.
  }
}

/** The keys to press to copy by hand: ⌘C on a Mac, Ctrl+C elsewhere. */
export function copyShortcut(): string {
  const platform =
    (navigator as Navigator & { userAgentData?: { platform?: string } }).userAgentData?.platform ??
    navigator.platform ??
    '';
  return /mac|iphone|ipad/i.test(platform) ? '⌘C' : 'Ctrl+C';
}
