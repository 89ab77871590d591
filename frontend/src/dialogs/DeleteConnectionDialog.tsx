import Button from '@atlaskit/button/default/button';
import ModalDialog, { ModalBody, ModalFooter, ModalHeader, ModalTitle } from '@atlaskit/modal-dialog';
import SectionMessage from '@atlaskit/section-message';
import { useState } from 'react';
import { errorMessage, type Connection } from '../api';
import { useApi } from '../context';

interface DeleteConnectionDialogProps {
  connection: Connection;
  onClose: () => void;
  onDeleted: () => void;
}

export default function DeleteConnectionDialog({ connection, onClose, onDeleted }: DeleteConnectionDialogProps) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const remove = async () => {
    setBusy(true);
    try {
      await api.deleteConnection(connection.id);
      onDeleted();
      onClose();
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };

  return (
    <ModalDialog onClose={onClose} width="small">
      <ModalHeader>
        <ModalTitle appearance="danger">Delete connection {connection.name}?</ModalTitle>
      </ModalHeader>
      <ModalBody>
        <p>Synced issues stay as they are; they just stop syncing.</p>
        {error && (
          <SectionMessage appearance="error">
            <p>{error}</p>
          </SectionMessage>
        )}
      </ModalBody>
      <ModalFooter>
        <Button appearance="subtle" onClick={onClose}>
          Cancel
        </Button>
        <Button appearance="danger" onClick={remove} isLoading={busy}>
          Delete
        </Button>
      </ModalFooter>
    </ModalDialog>
  );
}
