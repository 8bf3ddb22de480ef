// Builds the web client into web/dist, which the server serves at / (src/http/web-client.ts).
import { resolve } from 'node:path';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  resolve: { alias: { '@tma/sdk': resolve(import.meta.dirname, '../sdk/src/index.ts') } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The CSP allows no inline script: keep every script in a file.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    // `npm run web:dev`: the API and sockets of a local `npm run dev` on port 8000 (with ALLOWED_ORIGINS=http://localhost:5173).
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/socket.io': { target: 'ws://127.0.0.1:8000', ws: true },
    },
  },
});
