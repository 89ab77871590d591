// The destination side of "Yes, I have admin access": Jira opens this page full-size on the
// destination site. The server checks the signed-in user is a Jira admin of this site before
// it says anything about the request, so a 403 here means: not an admin, nothing was changed.
import Button from '@atlaskit/button/default/button';
import Heading from '@atlaskit/heading';
import SectionMessage from '@atlaskit/section-message';
import Spinner from '@atlaskit/spinner';
import { useEffect, useState } from 'react';
import { ApiError, errorMessage, type Connection, type OtherSide } from '../api';
import { AcceptProjectStep, SELECT_PROJECT_ERROR } from '../components/AcceptProjectStep';
import type { ProjectOption } from '../components/ProjectSelect';
import { SuccessScreen } from '../components/SuccessScreen';
import { useApi, useConfig } from '../context';

type Load =
  | { state: 'loading' }
  | { state: 'ready'; otherSide: OtherSide }
  | { state: 'forbidden' }
  | { state: 'failed'; message: string };

export default function AcceptPage() {
  const api = useApi();
  const { acceptRequest, site } = useConfig();
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [project, setProject] = useState<ProjectOption | null>(null);
  const [projectError, setProjectError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [connection, setConnection] = useState<Connection | null>(null);

  useEffect(() => {
    if (!acceptRequest) {
      setLoad({
        state: 'failed',
        message: 'This link has no connection request. Start again from the instance that initiated the connection.',
      });
      return;
    }
    let live = true;
    api.connectRequest(acceptRequest).then(
      (otherSide) => live && setLoad({ state: 'ready', otherSide }),
      (e) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 403) setLoad({ state: 'forbidden' });
        else setLoad({ state: 'failed', message: errorMessage(e) });
      },
    );
    return () => {
      live = false;
    };
  }, [api, acceptRequest]);

  const confirm = async () => {
    if (!project) {
      setProjectError(SELECT_PROJECT_ERROR);
      return;
    }
    setProjectError(null);
    setError(null);
    setBusy(true);
    try {
      setConnection((await api.acceptConnectRequest(acceptRequest, project.value)).connection);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  switch (load.state) {
    case 'loading':
      return <Spinner size="large" label="Checking the connection request" />;
    case 'forbidden':
      return (
        <SectionMessage appearance="error" title="Jira administrator permission needed">
          <p>
            You need Jira administrator permission on this site to accept the connection. Ask a Jira admin of {site} to
            accept it, or use an invitation code instead.
          </p>
        </SectionMessage>
      );
    case 'failed':
      return (
        <SectionMessage appearance="error" title="This connection request cannot be accepted">
          <p>{load.message}</p>
        </SectionMessage>
      );
    case 'ready':
      if (connection) {
        return (
          <div className="stack narrow">
            <Heading size="large">Exalate</Heading>
            <SuccessScreen connection={connection} />
          </div>
        );
      }
      return (
        <div className="stack narrow">
          <Heading size="large">Accept invitation</Heading>
          <AcceptProjectStep otherSide={load.otherSide} project={project} onProject={setProject} error={projectError} />
          {error && (
            <SectionMessage appearance="error">
              <p>{error}</p>
            </SectionMessage>
          )}
          <div className="row row-end">
            <Button appearance="primary" onClick={confirm} isLoading={busy}>
              Confirm
            </Button>
          </div>
        </div>
      );
  }
}
