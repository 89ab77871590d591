// A stand-in for the Exalate server: routes "METHOD /path" to canned answers and records calls.
import { vi } from 'vitest';
import type { SyncErrorItem, SyncQueue } from '../api';

interface Call {
  method: string;
  path: string;
  body: unknown;
  authorization: string | undefined;
}

type Answer = { status?: number; body?: unknown };
type Route = unknown | ((body: any, url: URL) => Answer | Promise<Answer>);

/** A route answering with the server's error shape. */
export const apiError = (status: number, code: string, message: string) => (): Answer => ({
  status,
  body: { error: { code, message } },
});

/** Answers with the value itself, or with what a function route returns; unknown routes get a 404. */
export function fakeServer(routes: Record<string, Route>) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const method = init.method ?? 'GET';
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ method, path: url.pathname + url.search, body, authorization: headers.Authorization });

    const key = `${method} ${url.pathname}`;
    if (!(key in routes)) return respond(apiError(404, 'not_found', `No fake route for ${key}`)());
    const route = routes[key];
    return respond(typeof route === 'function' ? await route(body, url) : { body: route });
  });
  vi.stubGlobal('fetch', fetchMock);
  return {
    calls,
    /** The calls made to one "METHOD /path" (query ignored). */
    callsTo: (key: string) => calls.filter((c) => `${c.method} ${c.path.split('?')[0]}` === key),
  };
}

function respond({ status = 200, body }: Answer): Response {
  if (status === 204) return new Response(null, { status });
  return new Response(JSON.stringify(body ?? null), { status, headers: { 'Content-Type': 'application/json' } });
}

/** `GET /api/sync/queue` with nothing waiting. */
export const EMPTY_QUEUE: SyncQueue = { summary: [], outgoing: [], incoming: [] };

/**
 * The Errors tab's endpoints over `errors`, which the test keeps: Retry and Resolve take the error
 * off the list, as the server does, and answer as it does.
 */
export function syncErrorRoutes(errors: SyncErrorItem[]): Record<string, Route> {
  const routes: Record<string, Route> = { 'GET /api/sync/errors': () => ({ body: { errors: [...errors] } }) };
  for (const { id } of errors) {
    const drop = () => {
      const at = errors.findIndex((e) => e.id === id);
      if (at >= 0) errors.splice(at, 1);
    };
    routes[`POST /api/sync/errors/${id}/retry`] = () => {
      drop();
      return { body: { status: 'in_progress' } };
    };
    routes[`POST /api/sync/errors/${id}/resolve`] = () => {
      drop();
      return { status: 204 };
    };
  }
  return routes;
}
