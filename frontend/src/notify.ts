// Success flags: Jira's own (AP.flag) inside Jira, an Atlaskit flag in this page otherwise.
import { useFlags } from '@atlaskit/flag';
import { useCallback } from 'react';
import { showHostFlag } from './host';

export function useNotify(): (title: string) => void {
  const { showFlag } = useFlags();
  return useCallback(
    (title: string) => {
      if (!showHostFlag(title)) showFlag({ title, appearance: 'success', isAutoDismiss: true });
    },
    [showFlag],
  );
}
