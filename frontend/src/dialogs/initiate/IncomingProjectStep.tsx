// Step 3: "Select a project for the incoming sync". A local connection links two projects of
// this site, so it asks for both here and needs no admin-access step.
import { ErrorMessage, Label } from '@atlaskit/form';
import Heading from '@atlaskit/heading';
import { ProjectSelect, type ProjectOption } from '../../components/ProjectSelect';

export interface ProjectErrors {
  project?: string;
  other?: string;
}

interface IncomingProjectStepProps {
  isLocal: boolean;
  project: ProjectOption | null;
  onProject: (project: ProjectOption | null) => void;
  otherProject: ProjectOption | null;
  onOtherProject: (project: ProjectOption | null) => void;
  errors: ProjectErrors;
}

export function IncomingProjectStep(props: IncomingProjectStepProps) {
  const { isLocal, project, onProject, otherProject, onOtherProject, errors } = props;
  return (
    <div className="stack">
      <Heading size="small">Select a project for the incoming sync</Heading>
      <p>
        Exalate generates default sync rules to synchronize basic issue fields. By default the following issue data will
        be synchronized: summary, description, comments, attachments and issue types.
      </p>
      <div>
        <Label htmlFor="incoming-project">
          Please select the project where you want to create issues, received from the other side.*
        </Label>
        <ProjectSelect inputId="incoming-project" value={project} onChange={onProject} isInvalid={!!errors.project} />
        {errors.project && <ErrorMessage>{errors.project}</ErrorMessage>}
      </div>
      {isLocal && (
        <div>
          <Label htmlFor="other-project">Select the project for the other side of this local connection.*</Label>
          <ProjectSelect
            inputId="other-project"
            value={otherProject}
            onChange={onOtherProject}
            isInvalid={!!errors.other}
          />
          {errors.other && <ErrorMessage>{errors.other}</ErrorMessage>}
        </div>
      )}
    </div>
  );
}
