// Step 4: the two ways to reach the destination — redirect there, or hand over an invitation.
import Heading from '@atlaskit/heading';
import { ChoiceCard } from '../../components/ChoiceCard';

interface AdminAccessStepProps {
  adminAccess: boolean;
  onChange: (adminAccess: boolean) => void;
}

export function AdminAccessStep({ adminAccess, onChange }: AdminAccessStepProps) {
  const select = (value: string) => onChange(value === 'yes');
  return (
    <div className="stack">
      <Heading size="small">Do you have admin access to the destination instance?</Heading>
      <div className="choice-cards" role="radiogroup" aria-label="Admin access to the destination instance">
        <ChoiceCard
          name="admin-access"
          value="yes"
          title={
            <>
              <span aria-hidden="true">✓ </span>Yes, I have admin access
            </>
          }
          isSelected={adminAccess}
          onSelect={select}
        >
          <ul>
            <li>You will be redirected to the destination instance to establish the connection</li>
          </ul>
        </ChoiceCard>
        <ChoiceCard
          name="admin-access"
          value="no"
          title={
            <>
              <span aria-hidden="true">⊘ </span>No, I don't have admin access
            </>
          }
          isSelected={!adminAccess}
          onSelect={select}
        >
          <ul>
            <li>
              You will generate an invitation and send it to the destination instance admin to establish the connection
            </li>
          </ul>
        </ChoiceCard>
      </div>
    </div>
  );
}
