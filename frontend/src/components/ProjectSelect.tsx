// Searchable picker over this site's Jira projects (GET /api/projects?query=).
import { ErrorMessage } from '@atlaskit/form';
import { AsyncSelect } from '@atlaskit/select';
import { useCallback, useState } from 'react';
import { errorMessage, type Project } from '../api';
import { useApi } from '../context';

export interface ProjectOption {
  label: string;
  value: string;
}

export const projectLabel = (project: { key: string; name: string }): string => `${project.name} (${project.key})`;

const toOption = (project: Project): ProjectOption => ({ label: projectLabel(project), value: project.key });

interface ProjectSelectProps {
  inputId: string;
  value: ProjectOption | null;
  onChange: (value: ProjectOption | null) => void;
  isInvalid?: boolean;
}

export function ProjectSelect({ inputId, value, onChange, isInvalid }: ProjectSelectProps) {
  const api = useApi();
  const [loadError, setLoadError] = useState<string | null>(null);
  const loadOptions = useCallback(
    async (query: string) => {
      try {
        const { projects } = await api.projects(query);
        setLoadError(null);
        return projects.map(toOption);
      } catch (e) {
        setLoadError(errorMessage(e));
        return [];
      }
    },
    [api],
  );

  return (
    <>
      <AsyncSelect<ProjectOption>
        inputId={inputId}
        placeholder="Select Project"
        cacheOptions
        defaultOptions
        loadOptions={loadOptions}
        value={value}
        onChange={(option) => onChange(option)}
        isInvalid={isInvalid}
        noOptionsMessage={() => 'No projects found'}
        // The wizard lives in a scrolling modal body: render the menu above it instead of clipped inside.
        menuPortalTarget={document.body}
        styles={{ menuPortal: (base) => ({ ...base, zIndex: 1000 }) }}
      />
      {loadError && <ErrorMessage>{loadError}</ErrorMessage>}
    </>
  );
}
