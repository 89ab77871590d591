import { Label } from '@atlaskit/form';
import Heading from '@atlaskit/heading';
import SectionMessage from '@atlaskit/section-message';
import Spinner from '@atlaskit/spinner';
import Textfield from '@atlaskit/textfield';
import { useEffect, useState } from 'react';
import { errorMessage, type Settings } from '../api';
import { CopyButton } from '../components/CopyButton';
import { useApi } from '../context';

export function GeneralSettingsTab() {
  const api = useApi();
  const [settings, setSettings] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.settings().then(
      (s) => live && setSettings(s),
      (e) => live && setError(errorMessage(e)),
    );
    return () => {
      live = false;
    };
  }, [api]);

  return (
    <div className="stack tab-content">
      <Heading size="large">General Settings</Heading>
      {error && (
        <SectionMessage appearance="error">
          <p>{error}</p>
        </SectionMessage>
      )}
      {!settings && !error && <Spinner label="Loading settings" />}
      {settings && (
        <>
          <div>
            <Label htmlFor="exalate-url">Exalate URL</Label>
            <div className="row">
              <div className="grow">
                <Textfield id="exalate-url" value={settings.exalateUrl} isReadOnly isMonospaced />
              </div>
              <CopyButton text={settings.exalateUrl} fieldId="exalate-url" copiedTitle="Exalate URL copied">
                Copy
              </CopyButton>
            </div>
            <p className="muted">
              Give this URL to the admin of another instance: they enter it as the Destination instance URL to connect
              with this instance.
            </p>
          </div>
          <div>
            <Label htmlFor="node-version">Node version</Label>
            <Textfield id="node-version" value={settings.nodeVersion} isReadOnly />
          </div>
        </>
      )}
    </div>
  );
}
