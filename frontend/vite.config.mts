import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The Rust server serves dist/ at /assets/app/ (the page shells reference the built files there).
  base: '/assets/app/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // dist/.vite/manifest.json tells the server's page shells which hashed files to link (README: "Serving").
    manifest: true,
  },
  server: {
    // `npm run dev`: index.html leaves exalate-base empty, so API calls go to the dev server,
    // which passes them on to an Exalate server on its default address (config/default.toml).
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    css: false,
    // Room for the 5 s waits of src/test/setup.ts on a loaded machine.
    testTimeout: 20000,
  },
});
