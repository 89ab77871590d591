// The HTTP contract between these pages and the Exalate server, as typed functions.
// Every call is JSON, authenticated with `Authorization: JWT <token>`; failures arrive as
// `{"error": {"code", "message"}}` with a 4xx/5xx status and surface as `ApiError`, whose
// `message` is written for the user and is shown as it is.

export interface Project {
  id: string;
  key: string;
  name: string;
}

export interface ProjectRef {
  key: string;
  name: string;
}

export type ConnectionStatus = 'pending' | 'active' | 'deactivated' | 'error';

export interface Connection {
  id: string;
  name: string;
  otherSideUrl: string;
  mode: 'basic';
  localProject: ProjectRef | null;
  remoteProject: ProjectRef | null;
  status: ConnectionStatus;
  errorReason?: string;
  issuesInSync: number;
  /** ISO 8601 timestamp. */
  lastActivity: string | null;
}

export interface WhoAmI {
  clientKey: string;
  baseUrl: string;
  accountId: string;
  isAdmin: boolean;
}

export interface Settings {
  exalateUrl: string;
  nodeVersion: string;
}

export interface Discovery {
  kind: 'local' | 'remote';
  destinationUrl: string;
  destinationName?: string;
}

export interface CreateConnectionRequest {
  /** null when the admin ticked "I don't have a URL": the other side comes from the invitation. */
  destinationUrl: string | null;
  mode: 'basic';
  localProjectKey: string;
  /** Local connections only: the second project of this site. */
  remoteProjectKey?: string;
  adminAccess: boolean;
}

export interface CreateConnectionResult {
  connection: Connection;
  /** "Yes, I have admin access": where the browser continues on the destination site. */
  redirectUrl?: string;
  /** "No, I don't have admin access": the code to hand to the destination admin. */
  invitationCode?: string;
}

export interface ConnectionResult {
  connection: Connection;
}

export interface OtherSide {
  otherSideUrl: string;
  otherSideName?: string;
}

export interface FirstSyncResult {
  message: string;
  issueKey: string;
  /** The issue's page on this site, e.g. https://alpha.atlassian.net/browse/TEST-3. */
  issueUrl?: string;
  twinKey?: string;
  twinUrl?: string;
}

export type IssueSyncStatus = 'not_synced' | 'in_progress' | 'synchronized' | 'error';

export interface IssueSync {
  connectionId: string;
  connectionName: string;
  status: IssueSyncStatus;
  twinKey?: string;
  twinUrl?: string;
  /** ISO 8601 timestamp. */
  lastSync?: string;
  error?: string;
}

export interface IssueStatus {
  issueKey: string;
  syncs: IssueSync[];
  /** Connections this issue could be exalated through. */
  connections: { id: string; name: string }[];
}

export interface SyncStatusResult {
  status: IssueSyncStatus;
}

export interface QueueSummary {
  connectionId: string;
  connectionName: string;
  outgoing: number;
  incoming: number;
  /** ISO 8601 timestamp of the oldest waiting change; null when nothing waits. */
  oldest: string | null;
}

/** A change waiting to be sent to the other side. */
export interface OutgoingItem {
  connectionId: string;
  connectionName: string;
  issueKey: string;
  seq: number;
  attempts: number;
  /** Why the last attempt failed; null before the first attempt or after a success. */
  lastError: string | null;
  /** ISO 8601 timestamps. */
  createdAt: string;
  nextAttemptAt: string;
}

/** A change received from the other side and not yet applied to Jira. */
export interface IncomingItem {
  connectionId: string;
  connectionName: string;
  /** The issue key on the other side. */
  senderIssueKey: string;
  seq: number;
  /** ISO 8601 timestamp. */
  receivedAt: string;
}

export interface SyncQueue {
  summary: QueueSummary[];
  outgoing: OutgoingItem[];
  incoming: IncomingItem[];
}

export interface SyncErrorItem {
  id: string;
  connectionId: string;
  connectionName: string | null;
  issueKey: string;
  twinKey: string | null;
  /** ISO 8601 timestamp. */
  when: string;
  cause: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const NOT_ADMIN = 'not_admin';

export interface ApiOptions {
  /** The app's base URL (meta `exalate-base`); calls go to `${base}/api/...`. */
  base: string;
  /** Server-minted session token (meta `exalate-session`). */
  sessionToken: string;
  /** A fresher context token from the Connect host, when there is one; null falls back to the session token. */
  freshToken?: () => Promise<string | null>;
  /** Called on any 403 `not_admin`, so the page can swap itself for the "ask an admin" message. */
  onNotAdmin?: () => void;
  fetch?: typeof fetch;
}

type Method = 'GET' | 'POST' | 'DELETE';

const enc = encodeURIComponent;

export function createApi(options: ApiOptions) {
  const base = options.base.replace(/\/+$/, '');

  async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    const token = (await options.freshToken?.()) || options.sessionToken;
    const headers: Record<string, string> = { Accept: 'application/json', Authorization: `JWT ${token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';

    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw new ApiError(
        0,
        'network',
        `Could not reach the Exalate server (${String(cause)}). Check your connection and try again.`,
      );
    }

    if (response.status === 204) return undefined as T;
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (payload as { error?: { code?: string; message?: string } } | null)?.error;
      const code = error?.code ?? 'http_error';
      if (response.status === 403 && code === NOT_ADMIN) options.onNotAdmin?.();
      throw new ApiError(
        response.status,
        code,
        error?.message ?? `The Exalate server answered HTTP ${response.status}.`,
      );
    }
    return payload as T;
  }

  return {
    whoami: () => request<WhoAmI>('GET', '/api/whoami'),
    settings: () => request<Settings>('GET', '/api/settings'),
    projects: (query: string) => request<{ projects: Project[] }>('GET', `/api/projects?query=${enc(query)}`),

    connections: () => request<{ connections: Connection[] }>('GET', '/api/connections'),
    discover: (destinationUrl: string) => request<Discovery>('POST', '/api/connections/discover', { destinationUrl }),
    createConnection: (body: CreateConnectionRequest) =>
      request<CreateConnectionResult>('POST', '/api/connections', body),
    activate: (id: string) => request<ConnectionResult>('POST', `/api/connections/${enc(id)}/activate`),
    deactivate: (id: string) => request<ConnectionResult>('POST', `/api/connections/${enc(id)}/deactivate`),
    deleteConnection: (id: string) => request<void>('DELETE', `/api/connections/${enc(id)}`),
    firstSync: (id: string, issueKey: string) =>
      request<FirstSyncResult>('POST', `/api/connections/${enc(id)}/first-sync`, { issueKey }),

    validateInvitation: (code: string) => request<OtherSide>('POST', '/api/invitations/validate', { code }),
    acceptInvitation: (code: string, projectKey: string) =>
      request<ConnectionResult>('POST', '/api/invitations/accept', { code, projectKey }),

    connectRequest: (requestId: string) => request<OtherSide>('GET', `/api/connect-requests/${enc(requestId)}`),
    acceptConnectRequest: (requestId: string, projectKey: string) =>
      request<ConnectionResult>('POST', `/api/connect-requests/${enc(requestId)}/accept`, { projectKey }),

    issueStatus: (issueKey: string) => request<IssueStatus>('GET', `/api/issues/${enc(issueKey)}/status`),
    exalateIssue: (issueKey: string, connectionId: string) =>
      request<SyncStatusResult>('POST', `/api/issues/${enc(issueKey)}/exalate`, { connectionId }),
    retryIssue: (issueKey: string, connectionId: string) =>
      request<SyncStatusResult>('POST', `/api/issues/${enc(issueKey)}/retry`, { connectionId }),

    syncQueue: () => request<SyncQueue>('GET', '/api/sync/queue'),
    syncErrors: () => request<{ errors: SyncErrorItem[] }>('GET', '/api/sync/errors'),
    retrySyncError: (id: string) => request<SyncStatusResult>('POST', `/api/sync/errors/${enc(id)}/retry`),
    resolveSyncError: (id: string) => request<void>('POST', `/api/sync/errors/${enc(id)}/resolve`),
  };
}

export type Api = ReturnType<typeof createApi>;

/** The text to show for any failure: the server's message, or the thrown error's. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
