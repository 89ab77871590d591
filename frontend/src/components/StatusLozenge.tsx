import Lozenge, { type ThemeAppearance } from '@atlaskit/lozenge';
import Tooltip from '@atlaskit/tooltip';
import type { ConnectionStatus, IssueSyncStatus } from '../api';

const LOOK: Record<ConnectionStatus, { text: string; appearance: ThemeAppearance }> = {
  pending: { text: 'Pending', appearance: 'moved' },
  active: { text: 'Active', appearance: 'success' },
  deactivated: { text: 'Deactivated', appearance: 'default' },
  error: { text: 'Error', appearance: 'removed' },
};

export function StatusLozenge({ status, reason }: { status: ConnectionStatus; reason?: string }) {
  const { text, appearance } = LOOK[status];
  const lozenge = <Lozenge appearance={appearance}>{text}</Lozenge>;
  if (status !== 'error' || !reason) return lozenge;
  return (
    <Tooltip content={reason}>
      {(props) => (
        <span {...props} tabIndex={0} aria-label={`Error: ${reason}`}>
          {lozenge}
        </span>
      )}
    </Tooltip>
  );
}

const SYNC_LOOK: Record<IssueSyncStatus, { text: string; appearance: ThemeAppearance }> = {
  not_synced: { text: 'Not synced', appearance: 'default' },
  in_progress: { text: 'In Progress', appearance: 'inprogress' },
  synchronized: { text: 'Synchronized', appearance: 'success' },
  error: { text: 'Error', appearance: 'removed' },
};

/** How an issue syncs through one connection, in the words of the issue panel. */
export function SyncStatusLozenge({ status }: { status: IssueSyncStatus }) {
  const { text, appearance } = SYNC_LOOK[status];
  return <Lozenge appearance={appearance}>{text}</Lozenge>;
}
