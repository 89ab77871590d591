import SectionMessage from '@atlaskit/section-message';

export function NotAdminMessage() {
  return (
    <SectionMessage appearance="warning" title="Jira admin permission needed">
      <p>You need Jira admin permission to use Exalate on this site. Ask a Jira administrator to set up connections.</p>
    </SectionMessage>
  );
}
