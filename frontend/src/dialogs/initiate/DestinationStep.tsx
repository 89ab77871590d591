// Step 1 (and the read-only summary above step 2): where to connect to.
import IconButton from '@atlaskit/button/icon/button';
import { Checkbox } from '@atlaskit/checkbox';
import { ErrorMessage, HelperMessage, Label } from '@atlaskit/form';
import InformationCircleIcon from '@atlaskit/icon/core/information-circle';
import Textfield from '@atlaskit/textfield';
import type { Discovery } from '../../api';

export const DESTINATION_INFO =
  'The link to the instance you want to set up a connection with. You can enter the link of that instance or the ' +
  'Exalate URL from the General Settings tab in the Exalate admin panel. If you enter the URL of your own instance, ' +
  'Exalate sets up a local connection between 2 projects of your instance.';

interface DestinationStepProps {
  url: string;
  noUrl: boolean;
  onUrl: (url: string) => void;
  onNoUrl: (noUrl: boolean) => void;
  error: string | null;
  /** Shown read-only once the destination is known. */
  isReadOnly?: boolean;
  discovery?: Discovery | null;
}

export function DestinationStep({ url, noUrl, onUrl, onNoUrl, error, isReadOnly, discovery }: DestinationStepProps) {
  return (
    <div className="stack-tight">
      <div className="field-label-with-info">
        <Label htmlFor="destination-url">Destination instance URL</Label>
        <IconButton
          icon={InformationCircleIcon}
          label="About the destination instance URL"
          appearance="subtle"
          spacing="compact"
          isTooltipDisabled={false}
          tooltip={{ content: DESTINATION_INFO }}
        />
      </div>
      <Textfield
        id="destination-url"
        type="url"
        placeholder="https://example.atlassian.net"
        value={noUrl ? '' : url}
        onChange={(e) => onUrl(e.currentTarget.value)}
        isDisabled={noUrl}
        isReadOnly={isReadOnly}
        isInvalid={!!error}
      />
      {error && <ErrorMessage>{error}</ErrorMessage>}
      {discovery && <HelperMessage>{describe(discovery)}</HelperMessage>}
      <Checkbox
        label="I don't have a URL"
        isChecked={noUrl}
        isDisabled={isReadOnly}
        onChange={(e) => onNoUrl(e.currentTarget.checked)}
      />
    </div>
  );
}

function describe(discovery: Discovery): string {
  if (discovery.kind === 'local')
    return 'This is your own instance: Exalate sets up a local connection between 2 projects of your instance.';
  return `Destination: ${discovery.destinationName || discovery.destinationUrl}`;
}
