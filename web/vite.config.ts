// The portal's build: Vite's built-in JSX transform (no plugin), assets under /assets/ with content
// hashes (served immutable by src/api/static.ts).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: 'dist', emptyOutDir: true, assetsDir: 'assets', sourcemap: false, chunkSizeWarningLimit: 2000,
    rollupOptions: {
      // Fluent UI marks its modules 'use client' (for React Server Components); meaningless in an SPA bundle.
      onwarn(w, warn) {
        if (w.code !== 'MODULE_LEVEL_DIRECTIVE') warn(w);
      },
    },
  },
});
