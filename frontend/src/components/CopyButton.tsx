import Button from '@atlaskit/button/default/button';
import { HelperMessage } from '@atlaskit/form';
import { useEffect, useRef, useState } from 'react';
import { copyShortcut, copyText, type CopyField } from '../clipboard';
import { useNotify } from '../notify';

interface CopyButtonProps {
  text: string;
  /**
   * The id of the visible read-only field that shows `text`. Where the frame may not use the
   * Clipboard API, the text is selected there and copied from it, or left selected for Ctrl+C.
   */
  fieldId: string;
  children: string;
  /** Flag shown once the text is on the clipboard (and only then). */
  copiedTitle: string;
  appearance?: 'default' | 'primary';
}

export function CopyButton({ text, fieldId, children, copiedTitle, appearance = 'default' }: CopyButtonProps) {
  const notify = useNotify();
  const [manual, setManual] = useState(false);
  // The copy event execCommand('copy') fires is this button's own: it is told below, once.
  const copying = useRef(false);

  const copy = async () => {
    copying.current = true;
    try {
      const outcome = await copyText(text, findField(fieldId));
      setManual(outcome === 'manual');
      if (outcome === 'copied') notify(copiedTitle);
    } finally {
      copying.current = false;
    }
  };

  // Copying by hand from the selected field is a copy too: say so when it happens.
  useEffect(() => {
    const field = findField(fieldId);
    if (!manual || !field) return;
    const onCopy = () => {
      if (copying.current) return;
      setManual(false);
      notify(copiedTitle);
    };
    field.addEventListener('copy', onCopy);
    return () => field.removeEventListener('copy', onCopy);
  }, [manual, fieldId, copiedTitle, notify]);

  return (
    <>
      <Button appearance={appearance} onClick={copy} isDisabled={!text}>
        {children}
      </Button>
      <div role="status">{manual && <HelperMessage>Press {copyShortcut()} to copy</HelperMessage>}</div>
    </>
  );
}

function findField(id: string): CopyField | null {
  const el = document.getElementById(id);
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement ? el : null;
}
