// Copying from inside Jira's iframe: the async Clipboard API needs the `clipboard-write`
// permission, which the host iframe may not grant, so fall back to the old execCommand path.

export async function copyText(text: string): Promise<void> {
  try {
    if (!navigator.clipboard?.writeText) throw new Error('no async clipboard');
    await navigator.clipboard.writeText(text);
  } catch {
    copyWithExecCommand(text);
  }
}

function copyWithExecCommand(text: string): void {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  const previous = document.activeElement;
  document.body.appendChild(area);
  area.focus();
  area.select();
  try {
    if (!document.execCommand('copy'))
      throw new Error('The browser refused to copy. Select the text and copy it by hand.');
  } finally {
    area.remove();
    // Give focus back to the Copy button, so keyboard users stay where they were.
    if (previous instanceof HTMLElement) previous.focus();
  }
}
