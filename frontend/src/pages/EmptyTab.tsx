import EmptyState from '@atlaskit/empty-state';
import Heading from '@atlaskit/heading';

export function EmptyTab({ title, description }: { title: string; description: string }) {
  return (
    <div className="stack tab-content">
      <Heading size="large">{title}</Heading>
      <EmptyState header="Nothing here yet" description={description} headingLevel={3} />
    </div>
  );
}
