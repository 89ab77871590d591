import Lozenge, { type ThemeAppearance } from '@atlaskit/lozenge';
import Tooltip from '@atlaskit/tooltip';
import type { ConnectionStatus } from '../api';

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
