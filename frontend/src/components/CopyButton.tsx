import Button from '@atlaskit/button/default/button';
import { ErrorMessage } from '@atlaskit/form';
import { useState } from 'react';
import { errorMessage } from '../api';
import { copyText } from '../clipboard';
import { useNotify } from '../notify';

interface CopyButtonProps {
  text: string;
  children: string;
  /** Flag shown once the text is on the clipboard. */
  copiedTitle: string;
  appearance?: 'default' | 'primary';
}

export function CopyButton({ text, children, copiedTitle, appearance = 'default' }: CopyButtonProps) {
  const notify = useNotify();
  const [error, setError] = useState<string | null>(null);
  const copy = async () => {
    try {
      await copyText(text);
      setError(null);
      notify(copiedTitle);
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <>
      <Button appearance={appearance} onClick={copy} isDisabled={!text}>
        {children}
      </Button>
      {error && <ErrorMessage>{error}</ErrorMessage>}
    </>
  );
}
