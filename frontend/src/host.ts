// The Atlassian Connect host (window.AP from all.js), used only when it is there: the pages
// must also work when all.js is blocked, fails to load, or the page is opened outside Jira.
import { useEffect } from 'react';

interface ConnectHost {
  resize?: () => void;
  navigator?: { go: (target: string, context: Record<string, unknown>) => void };
  context?: { getToken?: (callback: (token: string) => void) => void };
  flag?: {
    create: (options: { title: string; body?: string; type: 'success' | 'error'; close: 'auto' | 'manual' }) => unknown;
  };
}

declare global {
  interface Window {
    AP?: ConnectHost;
  }
}

/** How long to wait for the host to hand out a context token before using the page's session token. */
const TOKEN_WAIT_MS = 2000;

/** Set once the host failed to answer (all.js loaded outside Jira): later calls don't wait again. */
let hostSilent = false;

/** A fresh context JWT from the host, or null when there is no host or it does not answer in time. */
export function getContextToken(): Promise<string | null> {
  const getToken = window.AP?.context?.getToken;
  if (!getToken || hostSilent) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      hostSilent = true;
      resolve(null);
    }, TOKEN_WAIT_MS);
    try {
      getToken((token) => {
        clearTimeout(timer);
        resolve(token || null);
      });
    } catch {
      clearTimeout(timer);
      resolve(null);
    }
  });
}

/** Keeps Jira's iframe as tall as the page whenever its content changes size. */
export function useHostResize(): void {
  useEffect(() => {
    const host = window.AP;
    if (!host?.resize || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      try {
        host.resize?.();
      } catch {
        // A host that refuses to resize leaves the iframe as it is; the page still works.
      }
    });
    observer.observe(document.body);
    return () => observer.disconnect();
  }, []);
}

/**
 * Sends the whole browser tab (not just our iframe) to `url`. AP.navigator only accepts pages
 * of the host site, so it is used for those; other sites need a top-level navigation, which a
 * sandboxed iframe may be refused, so the iframe itself navigates as the last resort.
 */
export function navigateTop(url: string, hostSiteUrl: string): void {
  const navigator = window.AP?.navigator;
  if (navigator && sameOrigin(url, hostSiteUrl)) {
    try {
      navigator.go('site', { absoluteUrl: url });
      return;
    } catch {
      // Fall through to a plain navigation.
    }
  }
  try {
    if (!window.top) throw new Error('no top window');
    window.top.location.href = url;
  } catch {
    window.location.href = url;
  }
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/**
 * Shows a flag through Jira; false when there is no host, so the caller shows its own. Success
 * flags go away by themselves; error flags stay until closed, so there is time to read them.
 */
export function showHostFlag(title: string, type: 'success' | 'error' = 'success', body?: string): boolean {
  const flag = window.AP?.flag;
  if (!flag) return false;
  try {
    flag.create({ title, ...(body ? { body } : {}), type, close: type === 'success' ? 'auto' : 'manual' });
    return true;
  } catch {
    return false;
  }
}
