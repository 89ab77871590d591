// "Initiate connection": destination → configuration type → project → admin access, then
// either a redirect to the destination ("Yes"), an invitation code ("No", or no URL at all),
// or — for a local connection — the connection itself.
import Button from '@atlaskit/button/default/button';
import ChevronLeftIcon from '@atlaskit/icon/core/chevron-left';
import ModalDialog, { ModalBody, ModalFooter, ModalHeader, ModalTitle } from '@atlaskit/modal-dialog';
import SectionMessage from '@atlaskit/section-message';
import { useState } from 'react';
import { errorMessage, type Connection, type Discovery } from '../api';
import { SELECT_PROJECT_ERROR } from '../components/AcceptProjectStep';
import type { ProjectOption } from '../components/ProjectSelect';
import { SuccessScreen } from '../components/SuccessScreen';
import { useApi, useConfig } from '../context';
import { navigateTop } from '../host';
import { AdminAccessStep } from './initiate/AdminAccessStep';
import { ConfigurationTypeStep } from './initiate/ConfigurationTypeStep';
import { DestinationStep } from './initiate/DestinationStep';
import { IncomingProjectStep, type ProjectErrors } from './initiate/IncomingProjectStep';
import { InvitationCodeStep } from './initiate/InvitationCodeStep';

type Step = 'destination' | 'type' | 'project' | 'access' | 'invitation' | 'success';

export default function InitiateConnectionDialog({ onClose }: { onClose: () => void }) {
  const api = useApi();
  const { site } = useConfig();
  const [step, setStep] = useState<Step>('destination');
  const [url, setUrl] = useState('');
  const [noUrl, setNoUrl] = useState(false);
  const [urlError, setUrlError] = useState<string | null>(null);
  const [discovery, setDiscovery] = useState<Discovery | null>(null);
  const [project, setProject] = useState<ProjectOption | null>(null);
  const [otherProject, setOtherProject] = useState<ProjectOption | null>(null);
  const [projectErrors, setProjectErrors] = useState<ProjectErrors>({});
  const [adminAccess, setAdminAccess] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [invitationCode, setInvitationCode] = useState('');
  const [connection, setConnection] = useState<Connection | null>(null);

  const isLocal = discovery?.kind === 'local';
  // Without a URL there is nobody to redirect to: the invitation is the only way.
  const initiatesFromProjectStep = isLocal || noUrl;

  const go = (next: Step) => {
    setError(null);
    setStep(next);
  };

  const discover = async () => {
    if (noUrl) {
      setDiscovery(null);
      go('type');
      return;
    }
    const destination = url.trim();
    if (!destination) {
      setUrlError('Enter the destination instance URL, or select "I don\'t have a URL".');
      return;
    }
    setBusy(true);
    try {
      setDiscovery(await api.discover(destination));
      setUrlError(null);
      go('type');
    } catch (e) {
      setUrlError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const checkProjects = (): boolean => {
    const errors: ProjectErrors = { project: project ? undefined : SELECT_PROJECT_ERROR };
    if (isLocal) {
      if (!otherProject) errors.other = SELECT_PROJECT_ERROR;
      else if (otherProject.value === project?.value) errors.other = 'A local connection links two different projects.';
    }
    setProjectErrors(errors);
    return !errors.project && !errors.other;
  };

  const initiate = async () => {
    if (!project) return;
    const redirect = !initiatesFromProjectStep && adminAccess;
    setBusy(true);
    setError(null);
    try {
      const result = await api.createConnection({
        destinationUrl: discovery?.destinationUrl ?? null,
        mode: 'basic',
        localProjectKey: project.value,
        remoteProjectKey: isLocal ? otherProject?.value : undefined,
        adminAccess: isLocal || redirect,
      });
      if (isLocal) {
        setConnection(result.connection);
        go('success');
      } else if (redirect) {
        if (!result.redirectUrl)
          throw new Error(
            'The server did not say where to continue. Try again, or choose "No, I don\'t have admin access".',
          );
        // The browser leaves this page: keep the spinner until it does.
        navigateTop(result.redirectUrl, site);
        return;
      } else {
        setInvitationCode(result.invitationCode ?? '');
        go('invitation');
      }
    } catch (e) {
      setError(errorMessage(e));
    }
    setBusy(false);
  };

  const previous = (to: Step) => (
    <Button appearance="subtle" iconBefore={ChevronLeftIcon} onClick={() => go(to)} isDisabled={busy}>
      Previous
    </Button>
  );
  const primary = (label: string, onClick: () => void) => (
    <Button appearance="primary" onClick={onClick} isLoading={busy}>
      {label}
    </Button>
  );

  const destination = (isReadOnly: boolean) => (
    <DestinationStep
      url={url}
      noUrl={noUrl}
      onUrl={(value) => {
        setUrl(value);
        setUrlError(null);
      }}
      onNoUrl={(value) => {
        setNoUrl(value);
        setUrlError(null);
      }}
      error={urlError}
      isReadOnly={isReadOnly}
      discovery={isReadOnly ? discovery : null}
    />
  );

  let body;
  let actions;
  switch (step) {
    case 'destination':
      body = destination(false);
      actions = primary('Next', discover);
      break;
    case 'type':
      body = (
        <div className="stack">
          {destination(true)}
          <ConfigurationTypeStep />
        </div>
      );
      actions = (
        <>
          {previous('destination')}
          {primary('Next', () => go('project'))}
        </>
      );
      break;
    case 'project':
      body = (
        <IncomingProjectStep
          isLocal={isLocal}
          project={project}
          onProject={setProject}
          otherProject={otherProject}
          onOtherProject={setOtherProject}
          errors={projectErrors}
        />
      );
      actions = (
        <>
          {previous('type')}
          {initiatesFromProjectStep
            ? primary('Initiate', () => checkProjects() && initiate())
            : primary('Next', () => checkProjects() && go('access'))}
        </>
      );
      break;
    case 'access':
      body = <AdminAccessStep adminAccess={adminAccess} onChange={setAdminAccess} />;
      actions = (
        <>
          {previous('project')}
          {primary('Initiate', initiate)}
        </>
      );
      break;
    case 'invitation':
      body = <InvitationCodeStep code={invitationCode} />;
      actions = primary('Done', onClose);
      break;
    case 'success':
      body = connection && <SuccessScreen connection={connection} />;
      actions = (
        <Button appearance="subtle" onClick={onClose}>
          Close
        </Button>
      );
      break;
  }

  return (
    <ModalDialog onClose={onClose} width="medium" shouldCloseOnOverlayClick={false}>
      <ModalHeader hasCloseButton>
        <ModalTitle>{step === 'success' ? 'Exalate' : 'Initiate connection'}</ModalTitle>
      </ModalHeader>
      <ModalBody>
        <div className="stack">
          {body}
          {error && (
            <SectionMessage appearance="error">
              <p>{error}</p>
            </SectionMessage>
          )}
        </div>
      </ModalBody>
      <ModalFooter>{actions}</ModalFooter>
    </ModalDialog>
  );
}
