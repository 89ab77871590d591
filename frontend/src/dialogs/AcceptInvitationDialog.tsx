// "Accept invitation": paste the code from the other admin, pick the project, Confirm.
import Button from '@atlaskit/button/default/button';
import { ErrorMessage, Label } from '@atlaskit/form';
import ChevronLeftIcon from '@atlaskit/icon/core/chevron-left';
import ModalDialog, { ModalBody, ModalFooter, ModalHeader, ModalTitle } from '@atlaskit/modal-dialog';
import SectionMessage from '@atlaskit/section-message';
import TextArea from '@atlaskit/textarea';
import { useState } from 'react';
import { errorMessage, type Connection, type OtherSide } from '../api';
import { AcceptProjectStep, SELECT_PROJECT_ERROR } from '../components/AcceptProjectStep';
import type { ProjectOption } from '../components/ProjectSelect';
import { SuccessScreen } from '../components/SuccessScreen';
import { useApi } from '../context';

type Step = 'code' | 'project' | 'success';

export default function AcceptInvitationDialog({ onClose }: { onClose: () => void }) {
  const api = useApi();
  const [step, setStep] = useState<Step>('code');
  const [code, setCode] = useState('');
  const [codeError, setCodeError] = useState<string | null>(null);
  const [otherSide, setOtherSide] = useState<OtherSide | null>(null);
  const [project, setProject] = useState<ProjectOption | null>(null);
  const [projectError, setProjectError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [connection, setConnection] = useState<Connection | null>(null);

  const validate = async () => {
    if (!code.trim()) {
      setCodeError('Paste the invitation code you received from the other admin.');
      return;
    }
    setBusy(true);
    try {
      setOtherSide(await api.validateInvitation(code.trim()));
      setCodeError(null);
      setStep('project');
    } catch (e) {
      setCodeError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const confirm = async () => {
    if (!project) {
      setProjectError(SELECT_PROJECT_ERROR);
      return;
    }
    setProjectError(null);
    setError(null);
    setBusy(true);
    try {
      setConnection((await api.acceptInvitation(code.trim(), project.value)).connection);
      setStep('success');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  let body;
  let actions;
  switch (step) {
    case 'code':
      body = (
        <div>
          <Label htmlFor="invitation-code-input">Invitation code</Label>
          <TextArea
            id="invitation-code-input"
            value={code}
            onChange={(e) => {
              setCode(e.currentTarget.value);
              setCodeError(null);
            }}
            isMonospaced
            isInvalid={!!codeError}
            minimumRows={4}
            placeholder="Paste the invitation code here"
          />
          {codeError && <ErrorMessage>{codeError}</ErrorMessage>}
        </div>
      );
      actions = (
        <Button appearance="primary" onClick={validate} isLoading={busy}>
          Next
        </Button>
      );
      break;
    case 'project':
      body = otherSide && (
        <AcceptProjectStep otherSide={otherSide} project={project} onProject={setProject} error={projectError} />
      );
      actions = (
        <>
          <Button appearance="subtle" iconBefore={ChevronLeftIcon} onClick={() => setStep('code')} isDisabled={busy}>
            Previous
          </Button>
          <Button appearance="primary" onClick={confirm} isLoading={busy}>
            Confirm
          </Button>
        </>
      );
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
        <ModalTitle>{step === 'success' ? 'Exalate' : 'Accept invitation'}</ModalTitle>
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
