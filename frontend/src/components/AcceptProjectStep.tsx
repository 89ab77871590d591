// "Select a project for the incoming sync" on the accepting side: shared by the Accept
// invitation dialog and the accept page that the "Yes, I have admin access" path lands on.
import { ErrorMessage, Label } from '@atlaskit/form';
import Heading from '@atlaskit/heading';
import type { OtherSide } from '../api';
import { ProjectSelect, type ProjectOption } from './ProjectSelect';

interface AcceptProjectStepProps {
  otherSide: OtherSide;
  project: ProjectOption | null;
  onProject: (project: ProjectOption | null) => void;
  error: string | null;
}

export function AcceptProjectStep({ otherSide, project, onProject, error }: AcceptProjectStepProps) {
  return (
    <div className="stack">
      <Heading size="small">Select a project for the incoming sync</Heading>
      <p className="muted">
        Connection with <strong>{otherSide.otherSideName || otherSide.otherSideUrl}</strong>
      </p>
      <p>
        After accepting an invitation for a Basic mode connection, Exalate will be able to sync basic issue fields. The
        sync rules cannot be updated. Exalate will sync the following issue data: summary, description, comments, and
        attachments.
      </p>
      <p>
        Issue types are mirrored. This means that tasks will be synced as tasks, bugs as bugs, and improvements as
        improvements. If an issue type is not included in the basic set, it will be synced as a task.
      </p>
      <div>
        <Label htmlFor="accept-project">
          Please select the project where you want to create entities, received from the other side.*
        </Label>
        <ProjectSelect inputId="accept-project" value={project} onChange={onProject} isInvalid={!!error} />
        {error && <ErrorMessage>{error}</ErrorMessage>}
      </div>
    </div>
  );
}

export const SELECT_PROJECT_ERROR = 'Select a project to continue.';
