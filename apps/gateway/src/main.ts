import { runCli } from './cli';

// The `warden` command. Exit codes: see runCli.
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`warden: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
