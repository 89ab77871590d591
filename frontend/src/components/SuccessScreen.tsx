// "Connection established successfully ✓": the last screen of every path, with the first sync.
import Button from '@atlaskit/button/default/button';
import { Label } from '@atlaskit/form';
import Heading from '@atlaskit/heading';
import SectionMessage from '@atlaskit/section-message';
import Textfield from '@atlaskit/textfield';
import { useState } from 'react';
import { errorMessage, type Connection, type FirstSyncResult } from '../api';
import { useApi } from '../context';
import { projectLabel } from './ProjectSelect';
import { webHref } from '../links';

type Outcome = { ok: true; result: FirstSyncResult } | { ok: false; message: string };

export function SuccessScreen({ connection }: { connection: Connection }) {
  const api = useApi();
  const project = connection.localProject;
  const [issueKey, setIssueKey] = useState(project ? `${project.key}-1` : '');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const exalate = async () => {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome({ ok: true, result: await api.firstSync(connection.id, issueKey.trim()) });
    } catch (e) {
      setOutcome({ ok: false, message: errorMessage(e) });
    } finally {
      setBusy(false);
    }
  };

  const twinHref = outcome?.ok === true ? webHref(outcome.result.twinUrl) : undefined;
  return (
    <div className="stack">
      <Heading size="medium">Connection established successfully ✓</Heading>
      <p>Sync your first issue to see how it works.</p>
      <div>
        <Label htmlFor="first-sync-issue">
          {project ? (
            <>
              Please enter an issue key from the project <strong>{projectLabel(project)}</strong> to proceed
            </>
          ) : (
            'Please enter an issue key to proceed'
          )}
        </Label>
        <div className="row">
          <div className="grow">
            <Textfield id="first-sync-issue" value={issueKey} onChange={(e) => setIssueKey(e.currentTarget.value)} />
          </div>
          <Button appearance="primary" onClick={exalate} isLoading={busy} isDisabled={!issueKey.trim()}>
            Exalate
          </Button>
        </div>
      </div>
      {outcome?.ok === true && (
        <SectionMessage appearance="success">
          <p>{outcome.result.message}</p>
          {outcome.result.twinKey && (
            <p>
              {outcome.result.issueKey} ⇄{' '}
              {twinHref ? (
                <a href={twinHref} target="_blank" rel="noreferrer">
                  {outcome.result.twinKey}
                </a>
              ) : (
                outcome.result.twinKey
              )}
            </p>
          )}
        </SectionMessage>
      )}
      {outcome?.ok === false && (
        <SectionMessage appearance="error">
          <p>{outcome.message}</p>
        </SectionMessage>
      )}
    </div>
  );
}
