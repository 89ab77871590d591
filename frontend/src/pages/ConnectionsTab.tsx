// Connections tab: the list of this site's connections and the two ways to make one.
import Button from '@atlaskit/button/default/button';
import DynamicTable from '@atlaskit/dynamic-table';
import EmptyState from '@atlaskit/empty-state';
import Heading from '@atlaskit/heading';
import { ModalTransition } from '@atlaskit/modal-dialog';
import SectionMessage from '@atlaskit/section-message';
import { useCallback, useEffect, useState } from 'react';
import { errorMessage, type Connection } from '../api';
import { projectLabel } from '../components/ProjectSelect';
import { StatusLozenge } from '../components/StatusLozenge';
import { useApi } from '../context';
import AcceptInvitationDialog from '../dialogs/AcceptInvitationDialog';
import DeleteConnectionDialog from '../dialogs/DeleteConnectionDialog';
import InitiateConnectionDialog from '../dialogs/InitiateConnectionDialog';
import { useNotify } from '../notify';
import { formatAbsolute, formatRelative } from '../time';

type Dialog = { kind: 'initiate' } | { kind: 'accept' } | { kind: 'delete'; connection: Connection } | null;

const HEAD = {
  cells: [
    { key: 'name', content: 'Name' },
    { key: 'other-side', content: 'Other side' },
    { key: 'mode', content: 'Mode' },
    { key: 'projects', content: 'Projects' },
    { key: 'status', content: 'Status' },
    { key: 'issues', content: 'Issues in sync' },
    { key: 'activity', content: 'Last activity' },
    { key: 'actions', content: 'Actions' },
  ],
};

const projectOrDash = (project: Connection['localProject']) => (project ? projectLabel(project) : '—');

export function ConnectionsTab() {
  const api = useApi();
  const notify = useNotify();
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [busyId, setBusyId] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setConnections((await api.connections()).connections);
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);

  const closeDialog = () => {
    setDialog(null);
    // Whatever the dialog did (created, accepted, deleted), the list shows the server's truth.
    void load();
  };

  const toggle = async (connection: Connection) => {
    const activate = connection.status !== 'active';
    setBusyId(connection.id);
    try {
      const { connection: updated } = activate
        ? await api.activate(connection.id)
        : await api.deactivate(connection.id);
      setConnections((list) => list?.map((c) => (c.id === updated.id ? updated : c)) ?? null);
      setError(null);
      notify(`Connection ${connection.name} ${activate ? 'activated' : 'deactivated'}`);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusyId(null);
    }
  };

  const rows = (connections ?? []).map((c) => ({
    key: c.id,
    cells: [
      { key: 'name', content: c.name },
      { key: 'other-side', content: c.otherSideUrl },
      { key: 'mode', content: 'Basic' },
      { key: 'projects', content: `${projectOrDash(c.localProject)} ⇄ ${projectOrDash(c.remoteProject)}` },
      { key: 'status', content: <StatusLozenge status={c.status} reason={c.errorReason} /> },
      { key: 'issues', content: c.issuesInSync },
      {
        key: 'activity',
        content: <span title={formatAbsolute(c.lastActivity)}>{formatRelative(c.lastActivity)}</span>,
      },
      {
        key: 'actions',
        content: (
          <div className="row">
            {/* A pending connection waits for the other side; only it can make it active. */}
            {c.status !== 'pending' && (
              <Button spacing="compact" isLoading={busyId === c.id} onClick={() => toggle(c)}>
                {c.status === 'active' ? 'Deactivate' : 'Activate'}
              </Button>
            )}
            <Button spacing="compact" appearance="subtle" onClick={() => setDialog({ kind: 'delete', connection: c })}>
              Delete
            </Button>
          </div>
        ),
      },
    ],
  }));

  return (
    <div className="stack tab-content">
      <div className="row">
        <div className="grow">
          <Heading size="large">Connections</Heading>
        </div>
        <Button appearance="primary" onClick={() => setDialog({ kind: 'initiate' })}>
          Initiate connection
        </Button>
        <Button onClick={() => setDialog({ kind: 'accept' })}>Accept invitation</Button>
      </div>
      <p>Connection defines synchronization behavior, including communication details, sync rules, and scope.</p>
      {error && (
        <SectionMessage appearance="error">
          <p>{error}</p>
        </SectionMessage>
      )}
      <DynamicTable
        head={HEAD}
        rows={rows}
        isLoading={connections === null && !error}
        emptyView={
          <EmptyState
            header="No connections yet"
            description="Initiate a connection to another instance, or accept an invitation you received."
            headingLevel={3}
          />
        }
      />
      <ModalTransition>
        {dialog?.kind === 'initiate' && <InitiateConnectionDialog onClose={closeDialog} />}
        {dialog?.kind === 'accept' && <AcceptInvitationDialog onClose={closeDialog} />}
        {dialog?.kind === 'delete' && (
          <DeleteConnectionDialog
            connection={dialog.connection}
            onClose={closeDialog}
            onDeleted={() => notify(`Connection ${dialog.connection.name} deleted`)}
          />
        )}
      </ModalTransition>
    </div>
  );
}
