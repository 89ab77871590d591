import SectionMessage from '@atlaskit/section-message';

/** A list that could not be fetched: what failed, the server's reason, and what to do about it. */
export function LoadError({ title, message }: { title: string; message: string }) {
  return (
    <SectionMessage appearance="error" title={title}>
      <p>{message}</p>
      <p>Reload the page; if it persists, check the app is running.</p>
    </SectionMessage>
  );
}
