#!/usr/bin/env node
'use strict';
// The `warden` command: the compiled CLI (built by `npm install` / `npm run build`).
try {
  require.resolve('../dist/main.js');
} catch {
  process.stderr.write('warden: the gateway is not built yet; run `npm run build` in the repository first\n');
  process.exit(2);
}
require('../dist/main.js');
