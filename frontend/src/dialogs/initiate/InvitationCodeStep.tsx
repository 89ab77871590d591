// The end of the "No, I don't have admin access" path: the code to send to the other admin.
import { Label } from '@atlaskit/form';
import TextArea from '@atlaskit/textarea';
import { CopyButton } from '../../components/CopyButton';

export function InvitationCodeStep({ code }: { code: string }) {
  return (
    <div className="stack">
      <div>
        <Label htmlFor="invitation-code">Invitation code</Label>
        <TextArea id="invitation-code" value={code} isReadOnly isMonospaced minimumRows={4} resize="none" />
      </div>
      <div className="row">
        <CopyButton text={code} fieldId="invitation-code" copiedTitle="Invitation code copied" appearance="primary">
          Copy invitation code
        </CopyButton>
      </div>
      <p>
        Send the invitation code to the destination instance admin. They accept it under Accept invitation in Exalate.
      </p>
    </div>
  );
}
