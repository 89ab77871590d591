// "Connection established successfully ✓": the last screen of every path, with the first sync.
// After Exalate it shows how the sync goes and, at the bottom, links to both issues (this side's,
// and its twin on the other side once that exists), updated as the sync moves on.
import Button from '@atlaskit/button/default/button';
import { ErrorMessage, Label } from '@atlaskit/form';
import Heading from '@atlaskit/heading';
import SectionMessage from '@atlaskit/section-message';
import Textfield from '@atlaskit/textfield';
import { useEffect, useRef, useState } from 'react';
import { errorMessage, type Connection, type FirstSyncResult, type IssueSync } from '../api';
import { useApi } from '../context';
import { projectLabel } from './ProjectSelect';
import { SyncStatusLozenge } from './StatusLozenge';
import { webHref } from '../links';

type Outcome = { ok: true; result: FirstSyncResult; run: number } | { ok: false; message: string };

export function SuccessScreen({ connection }: { connection: Connection }) {
  const api = useApi();
  const project = connection.localProject;
  const [issueKey, setIssueKey] = useState(project ? `${project.key}-1` : '');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const runs = useRef(0);

  const exalate = async () => {
    setBusy(true);
    setOutcome(null);
    try {
      const result = await api.firstSync(connection.id, issueKey.trim());
      runs.current += 1;
      setOutcome({ ok: true, result, run: runs.current });
    } catch (e) {
      setOutcome({ ok: false, message: errorMessage(e) });
    } finally {
      setBusy(false);
    }
  };

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
        // A new Exalate starts a new watch (and ends the previous one's polling).
        <FirstSyncStatus key={outcome.run} connectionId={connection.id} result={outcome.result} />
      )}
      {outcome?.ok === false && (
        <SectionMessage appearance="error">
          <p>{outcome.message}</p>
        </SectionMessage>
      )}
    </div>
  );
}

/** The sync is polled this often for the first FAST_POLLS answers, then every SLOW_POLL_MS. */
export const POLL_MS = 1000;
export const SLOW_POLL_MS = 5000;
const FAST_POLLS = 60;

const isFinal = (sync: IssueSync | null) => sync?.status === 'synchronized' || sync?.status === 'error';

/** The first issue's sync through this connection, and the links to both issues. */
function FirstSyncStatus({ connectionId, result }: { connectionId: string; result: FirstSyncResult }) {
  const api = useApi();
  const [sync, setSync] = useState<IssueSync | null>(null);
  const [pollError, setPollError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let polls = 0;
    const poll = async () => {
      let mine: IssueSync | null = null;
      try {
        const status = await api.issueStatus(result.issueKey);
        if (!live) return;
        mine = status.syncs.find((s) => s.connectionId === connectionId) ?? null;
        setSync(mine);
        setPollError(null);
      } catch (e) {
        if (!live) return;
        setPollError(errorMessage(e));
      }
      if (isFinal(mine)) return;
      polls += 1;
      timer = setTimeout(poll, polls < FAST_POLLS ? POLL_MS : SLOW_POLL_MS);
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, connectionId, result.issueKey]);

  // Until the first answer: the sync was just queued, so it is in progress.
  const status = sync?.status ?? 'in_progress';
  const twinKey = sync?.twinKey ?? result.twinKey;
  const twinUrl = sync?.twinUrl ?? result.twinUrl;
  return (
    <section className="first-sync stack-tight" aria-label="First sync">
      <p>{result.message}</p>
      <div className="row" aria-live="polite">
        <span className="muted">Sync status</span>
        <SyncStatusLozenge status={status} />
      </div>
      {status === 'error' && sync?.error && <ErrorMessage>{sync.error}</ErrorMessage>}
      {pollError && <ErrorMessage>{pollError}</ErrorMessage>}
      <div className="first-sync__links">
        <div>
          <div className="muted">This instance</div>
          <IssueLink issueKey={result.issueKey} url={result.issueUrl} />
        </div>
        <span className="first-sync__arrow" aria-hidden="true">
          ⇄
        </span>
        <div aria-live="polite">
          <div className="muted">Other instance</div>
          {twinKey ? (
            <IssueLink issueKey={twinKey} url={twinUrl} />
          ) : (
            <span className="muted">{status === 'error' ? 'Not created' : 'Being created…'}</span>
          )}
        </div>
      </div>
    </section>
  );
}

/** An issue key, linked to its page in a new tab when the address is an ordinary web page. */
function IssueLink({ issueKey, url }: { issueKey: string; url?: string }) {
  const href = webHref(url);
  if (!href) return <strong>{issueKey}</strong>;
  return (
    <a href={href} target="_blank" rel="noreferrer">
      <strong>{issueKey}</strong>
    </a>
  );
}
