/** Vite build of the web app into dist/, which the node serves at `/` (packages/node/src/api/web.ts). */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One app, a few hundred KB: a single chunk loads fastest from the node and keeps the CSP simple.
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev -w @custos/web` against a node on the default port.
    proxy: { '/v1': 'http://127.0.0.1:7070', '/healthz': 'http://127.0.0.1:7070' },
  },
});
