import '@testing-library/jest-dom/vitest';
import '../featureFlags';
import { cleanup, configure } from '@testing-library/react';
import { afterEach, vi } from 'vitest';

// CI machines are small and run the suites one after another under load: first renders of
// Atlaskit pages in jsdom can take longer than Testing Library's 1 s default to settle.
configure({ asyncUtilTimeout: 5000 });

// jsdom has no matchMedia; Atlaskit asks it for the colour scheme and reduced motion.
Object.defineProperty(window, 'matchMedia', {
  writable: true,
  value: (query: string) => ({
    matches: false,
    media: query,
    onchange: null,
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    addListener: () => undefined,
    removeListener: () => undefined,
    dispatchEvent: () => false,
  }),
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});
