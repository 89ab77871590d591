// Flags: Jira's own (AP.flag) inside Jira, an Atlaskit flag in this page otherwise.
import { useFlags } from '@atlaskit/flag';
import StatusErrorIcon from '@atlaskit/icon/core/status-error';
import { useCallback } from 'react';
import { showHostFlag } from './host';

export interface NotifyOptions {
  /** 'success' (default) dismisses itself; 'error' stays until closed. */
  appearance?: 'success' | 'error';
  /** A line under the title, e.g. the server's message. */
  description?: string;
}

// Atlaskit's bold error flag folds its description away; Jira shows errors as a plain flag with a
// red icon, so the reason is readable at once.
const errorIcon = (
  <span style={{ display: 'inline-flex', color: 'var(--ds-icon-danger, #C9372C)' }}>
    <StatusErrorIcon label="Error" color="currentColor" />
  </span>
);

export function useNotify(): (title: string, options?: NotifyOptions) => void {
  const { showFlag } = useFlags();
  return useCallback(
    (title: string, { appearance = 'success', description }: NotifyOptions = {}) => {
      if (showHostFlag(title, appearance, description)) return;
      if (appearance === 'error') showFlag({ title, description, icon: errorIcon, isAutoDismiss: false });
      else showFlag({ title, description, appearance, isAutoDismiss: true });
    },
    [showFlag],
  );
}
