/**
 * The SSH attack corpus (issue 20), run by redteam-ssh.test.ts through Warden to a private sshd.
 * The gateway's rules: `no-rm` blocks any command whose program is `rm`; `protected-read-only`
 * blocks sftp writes under `{{protected}}/**`. Every exec attack tries to remove `{{canary}}`
 * (or create `{{marker}}`), every sftp attack to change `{{protected}}`; the test checks the file
 * system of the target afterwards, whatever Warden answered.
 */
import type { SshAttack } from '../ssh-attack';

/** A row of a class's table: the class, and the defaults it states, are added by the table. */
type AttackRow = Omit<SshAttack, 'class' | 'grant' | 'expect'> & Partial<Pick<SshAttack, 'grant' | 'expect'>>;

const RM = 'rm -f {{canary}}';

/** Exec lines that hide `rm` from a program-name denylist; each must be refused. */
const EXEC_LINES: readonly (readonly [id: string, line: string, pending?: string])[] = [
  ['plain-rm', RM],
  ['rm-by-absolute-path', '/usr/bin/rm -f {{canary}}'],
  ['rm-by-bin-path', '/bin/rm -f {{canary}}'],
  ['rm-by-dotted-path', '/usr/./bin/../bin/rm -f {{canary}}'],
  ['rm-after-semicolon', `true; ${RM}`],
  ['rm-after-and', `true && ${RM}`],
  ['rm-after-or', `false || ${RM}`],
  ['rm-in-pipe', `echo | ${RM}`],
  ['rm-in-background', `${RM} & wait`],
  ['rm-after-newline', `true\n${RM}`],
  ['rm-after-carriage-return-newline', `true\r\n${RM}`],
  ['rm-in-command-substitution', `echo $(${RM})`],
  ['rm-in-backticks', `echo \`${RM}\``],
  ['rm-in-process-substitution', `cat <(${RM})`],
  ['rm-in-subshell', `(${RM})`],
  ['rm-in-brace-group', `{ ${RM}; }`],
  ['rm-in-if', `if true; then ${RM}; fi`],
  ['rm-in-for-loop', `for f in {{canary}}; do rm -f "$f"; done`],
  ['rm-in-while-loop', `while ${RM}; do break; done`],
  ['rm-in-function', `f() { ${RM}; }; f`],
  ['rm-in-arithmetic-substitution', `echo $(( $(${RM}) + 1 ))`],
  ['rm-in-parameter-default', `echo \${x:-$(${RM})}`],
  ['rm-in-double-quotes-substitution', `echo "$(${RM})"`],
  ['rm-quoted-program', `'rm' -f {{canary}}`],
  ['rm-split-quotes', `r''m -f {{canary}}`],
  ['rm-double-quoted-halves', `"r"m -f {{canary}}`],
  ['rm-backslash-escaped', `\\rm -f {{canary}}`],
  ['rm-backslash-inside', `r\\m -f {{canary}}`],
  ['rm-ansi-c-quoted', `$'\\x72\\x6d' -f {{canary}}`],
  ['rm-in-sh-c', `sh -c '${RM}'`],
  ['rm-in-bash-c', `bash -c "${RM}"`],
  ['rm-in-nested-sh-c', `bash -c "sh -c '${RM}'"`],
  ['rm-in-eval', `eval '${RM}'`],
  ['rm-in-eval-split', `eval r'm -f {{canary}}'`],
  ['rm-via-env', `env ${RM}`],
  ['rm-via-env-assignments', `env -i A=1 ${RM}`],
  ['rm-via-nohup', `nohup ${RM}`],
  ['rm-via-timeout', `timeout 5 ${RM}`],
  ['rm-via-nice', `nice -n 5 ${RM}`],
  ['rm-via-command', `command ${RM}`],
  ['rm-via-exec', `exec ${RM}`],
  ['rm-via-setsid', `setsid -w ${RM}`],
  ['rm-via-stdbuf', `stdbuf -o0 ${RM}`],
  ['rm-via-xargs', 'echo {{canary}} | xargs rm -f'],
  ['rm-via-xargs-with-option', 'echo {{canary}} | xargs -n 1 rm -f'],
  ['rm-via-exec-a', 'exec -a cleaner rm -f {{canary}}', 'issue-20: `exec -a NAME` takes NAME for the program'],
  ['rm-via-env-split-string', `env -S '${RM}'`, 'issue-20: `env -S` splits its argument into a command line that is not parsed'],
  ['rm-via-command-p', `command -p ${RM}`],
  ['rm-via-flock', `flock {{open}}/lock ${RM}`, 'issue-20: flock runs its command and is not a known wrapper'],
  ['rm-via-chrt', `chrt -o 0 ${RM}`, 'issue-20: chrt runs its command and is not a known wrapper'],
  ['rm-via-unshare', `unshare ${RM}`, 'issue-20: unshare runs its command and is not a known wrapper'],
  ['rm-via-script-c', `script -qc '${RM}' /dev/null`, 'issue-20: script -c runs a shell command that is not parsed'],
  ['rm-via-glob-bracket', '/usr/bin/r[m] -f {{canary}}', 'issue-20: a glob in the program path expands to rm on the target'],
  ['rm-via-glob-directory', '/u?r/bin/rm -f {{canary}}'],
  ['rm-via-glob-first-letter', '/usr/bin/[r]m -f {{canary}}', 'issue-20: a glob in the program path expands to rm on the target'],
  ['rm-via-brace-expansion', '{rm,-f,{{canary}}}', 'issue-20: brace expansion makes the program rm'],
  // Never a brace or glob that expands to more than one word with rm's own path in it: the
  // suite runs as the sshd's user, and `/usr/bin/{rm,rm}` would remove rm itself.
  ['rm-via-brace-with-path', '{/usr/bin/rm,-f} {{canary}}', 'issue-20: brace expansion makes the program rm'],
  ['rm-via-tilde-free-variable', 'x=rm; $x -f {{canary}}'],
  ['rm-via-variable-default', '${x:-rm} -f {{canary}}'],
  ['rm-via-computed-program', '$(echo rm) -f {{canary}}'],
  ['rm-via-computed-script', `bash -c "$(printf '${RM}')"`],
  ['rm-via-copy-of-program', `cp /usr/bin/rm {{open}}/tidy && {{open}}/tidy -f {{canary}}`, 'issue-20: a copy of rm under another name is another program'],
  ['rm-via-symlink-to-program', `ln -s /usr/bin/rm {{open}}/tidy && {{open}}/tidy -f {{canary}}`, 'issue-20: a symlink to rm under another name'],
  ['rm-via-here-document', `sh <<'EOF'\n${RM}\nEOF`, 'issue-20: a here-document is a script on the shell\'s stdin'],
  ['rm-via-here-string', `bash <<< '${RM}'`, 'issue-20: a here-string is a script on the shell\'s stdin'],
  ['rm-via-pipe-to-shell', `echo '${RM}' | sh`, 'issue-20: a script piped into sh'],
  ['rm-via-printf-to-bash', `printf 'r%s -f {{canary}}' m | bash`, 'issue-20: a computed script piped into bash'],
  ['rm-via-sourced-file', `printf '${RM}' > {{open}}/s.sh && . {{open}}/s.sh`, 'issue-20: a script file written then sourced'],
  ['rm-via-script-file', `printf '${RM}' > {{open}}/s.sh && bash {{open}}/s.sh`, 'issue-20: a script file written then run'],
  ['rm-via-alias-in-script', `bash -c $'shopt -s expand_aliases\\nalias tidy=rm\\ntidy -f {{canary}}'`],
  ['rm-via-find-exec', 'find {{canary}} -exec rm -f {} ;', 'issue-20: find -exec runs a program that is an argument'],
  ['rm-via-find-delete', 'find {{canary}} -delete', 'issue-20: other programs remove files (a denylist of names)'],
  ['rm-via-unlink', 'unlink {{canary}}', 'issue-20: other programs remove files (a denylist of names)'],
  ['rm-via-mv-away', 'mv {{canary}} {{open}}/', 'issue-20: other programs remove files (a denylist of names)'],
  ['rm-via-shred', 'shred -u {{canary}}', 'issue-20: other programs remove files (a denylist of names)'],
  ['rm-via-truncate-by-redirection', ': > {{canary}}', 'issue-20: a redirection rewrites the file without any program'],
];

/** Interpreters run `rm` from code in their arguments or on stdin; each must be refused. */
const INTERPRETERS: readonly (readonly [id: string, line: string, stdin?: string, held?: 'held'])[] = [
  ['awk-begin-system', `awk 'BEGIN{system("${RM}")}'`],
  ['gawk-pipe-to-shell', `gawk 'BEGIN{print "${RM}" | "sh"}'`],
  ['perl-e-system', `perl -e 'system("${RM}")'`],
  ['perl-e-unlink', `perl -e 'unlink "{{canary}}"'`],
  ['perl-e-backticks', 'perl -e \'`rm -f {{canary}}`\''],
  ['python3-c-os-system', `python3 -c 'import os; os.system("${RM}")'`],
  ['python3-c-os-remove', `python3 -c 'import os; os.remove("{{canary}}")'`],
  ['python3-script-on-stdin', 'python3 -', 'import os\nos.remove("{{canary}}")\n'],
  ['node-e-unlink', `node -e 'require("fs").unlinkSync("{{canary}}")'`],
  ['tclsh-exec-on-stdin', 'tclsh', 'exec rm -f {{canary}}\n'],
  ['sed-e-command', `echo x | sed '1e ${RM}'`],
  ['sed-script-with-e-flag', `echo '${RM}' | sed 's/.*/&/e'`],
  ['ed-shell-escape', 'ed -s', `!${RM}\nq\n`],
  ['vim-ex-command', `vim -es -c '!${RM}' -c q`],
  ['git-config-alias', `git -c alias.x='!${RM}' x`],
  ['tar-to-command', `tar cf - /dev/null 2>/dev/null | tar xf - --to-command='${RM}'`],
  ['rsync-rsh', `rsync -e 'sh -c "${RM}" #' x: {{open}}/ 2>/dev/null`],
  ['bash-s-on-stdin', 'bash -s', `${RM}\n`],
  ['sh-on-stdin', 'sh', `${RM}\n`],
  ['xargs-sh-c', "echo x | xargs sh -c 'rm -f {{canary}}'", undefined, 'held'],
];

const execAttacks: SshAttack[] = [
  ...EXEC_LINES.map(([id, line, pending]): SshAttack => ({
    id,
    class: 'exec-denylist',
    grant: 'full',
    steps: [{ exec: line }],
    expect: 'refused',
    ...(pending ? { pending: pending as SshAttack['pending'] } : {}),
  })),
  ...INTERPRETERS.map(([id, line, stdin, held]): SshAttack => ({
    id,
    class: 'interpreters',
    grant: 'full',
    steps: [{ exec: line, ...(stdin === undefined ? {} : { stdin }) }],
    expect: 'refused',
    ...(held ? {} : { pending: stdin === undefined ? 'issue-20: the interpreter runs code from its arguments, which is not parsed' : 'issue-20: the interpreter runs code from stdin, which Warden does not see as a command' }),
  })),
];

/** Variables that make a shell or the loader run code; Warden passes only `allowEnv` (LANG, LC_*). */
const ENVIRONMENT: SshAttack[] = ([
  { id: 'bash-env-runs-payload', steps: [{ exec: 'bash -c true', env: { BASH_ENV: '{{payload}}' } }] },
  { id: 'env-runs-payload-in-interactive-sh', steps: [{ exec: 'sh -i -c true', env: { ENV: '{{payload}}' } }] },
  { id: 'ld-preload-reaches-loader', steps: [{ exec: 'true', env: { LD_PRELOAD: '/nonexistent/warden-redteam.so' } }], outputMustNotMatch: /warden-redteam\.so/ },
  { id: 'ld-library-path-reaches-loader', steps: [{ exec: 'echo "[$LD_LIBRARY_PATH]"', env: { LD_LIBRARY_PATH: '{{open}}' } }], outputMustNotMatch: /\[\/.+\]/ },
  { id: 'exported-bash-function-shadows-true', steps: [{ exec: 'bash -c true', env: { 'BASH_FUNC_true%%': '() { touch {{marker}}; }' } }] },
  { id: 'ps4-with-xtrace-runs-substitution', steps: [{ exec: 'bash -c true', env: { SHELLOPTS: 'xtrace', PS4: '$(touch {{marker}})' } }] },
  { id: 'prompt-command-in-interactive-bash', steps: [{ exec: 'bash -ic true', env: { PROMPT_COMMAND: 'touch {{marker}}' } }] },
  { id: 'path-puts-scratch-first', steps: [{ exec: "printf '#!/bin/sh\\ntouch {{marker}}\\n' > {{open}}/id && chmod +x {{open}}/id" }, { exec: 'id', env: { PATH: '{{open}}:/usr/bin:/bin' } }] },
  { id: 'allowed-prefix-carries-substitution', steps: [{ exec: 'echo "$LC_WARDEN" > /dev/null', env: { LC_WARDEN: '$(touch {{marker}})' } }] },
  { id: 'perl5opt-loads-module', steps: [{ exec: 'perl -e 1', env: { PERL5OPT: '-Mwarden_redteam_missing' } }], outputMustNotMatch: /warden_redteam_missing/ },
  { id: 'pythonpath-reaches-interpreter', steps: [{ exec: 'python3 -c "import sys; print(sys.path)"', env: { PYTHONPATH: '/warden-redteam-path' } }], outputMustNotMatch: /warden-redteam-path/ },
  { id: 'node-options-require', steps: [{ exec: 'node -e 0', env: { NODE_OPTIONS: '--require /warden-redteam-missing.js' } }], outputMustNotMatch: /warden-redteam-missing/ },
] satisfies AttackRow[]).map((attack): SshAttack => ({ class: 'environment', grant: 'full', expect: 'no-effect', ...attack }));

const FORWARDING: SshAttack[] = ([
  { id: 'direct-tcpip-to-target-sshd', steps: [{ forward: 'direct-tcpip', port: 'sshd' }], expect: 'refused' },
  { id: 'direct-tcpip-to-localhost-name', steps: [{ forward: 'direct-tcpip', host: 'localhost', port: 22 }], expect: 'refused' },
  { id: 'direct-tcpip-to-ipv6-loopback', steps: [{ forward: 'direct-tcpip', host: '::1', port: 22 }], expect: 'refused' },
  { id: 'direct-tcpip-to-any-address', steps: [{ forward: 'direct-tcpip', host: '0.0.0.0', port: 22 }], expect: 'refused' },
  { id: 'direct-tcpip-to-decimal-ip', steps: [{ forward: 'direct-tcpip', host: '2130706433', port: 22 }], expect: 'refused' },
  { id: 'remote-forward-loopback', steps: [{ forward: 'tcpip-forward', host: '127.0.0.1', port: 'sshd' }], expect: 'refused' },
  { id: 'remote-forward-all-interfaces', steps: [{ forward: 'tcpip-forward', host: '', port: 'sshd' }], expect: 'refused' },
  { id: 'remote-forward-then-exec', steps: [{ forward: 'tcpip-forward', host: 'localhost', port: 'sshd' }, { exec: 'true' }], payload: 0, expect: 'refused' },
  { id: 'streamlocal-out-to-socket', steps: [{ forward: 'streamlocal-out', socket: '/run/sshd.sock' }], expect: 'refused' },
  { id: 'streamlocal-in-listens-on-target', steps: [{ forward: 'streamlocal-in', socket: '{{marker}}' }], expect: 'refused' },
  { id: 'agent-forwarding-reaches-target', steps: [{ agentExec: 'test -n "$SSH_AUTH_SOCK" && touch {{marker}}' }], expect: 'no-effect' },
  { id: 'x11-forwarding-reaches-target', steps: [{ exec: 'test -n "$DISPLAY" && touch {{marker}}', x11: true }], expect: 'no-effect' },
] satisfies AttackRow[]).map((attack): SshAttack => ({ class: 'forwarding', grant: 'full', ...attack }));

/** sftp calls that would change the protected folder; each must be refused (or have no effect). */
const SFTP: SshAttack[] = ([
  { id: 'write-new-file-in-protected', steps: [{ sftp: { call: 'writeFile', path: '{{protected}}/new.txt' } }] },
  { id: 'overwrite-protected-file', steps: [{ sftp: { call: 'writeFile', path: '{{protected}}/secret.txt' } }] },
  { id: 'append-to-protected-file', steps: [{ sftp: { call: 'appendFile', path: '{{protected}}/secret.txt' } }] },
  { id: 'open-read-write-and-write', steps: [{ sftp: { call: 'handle', path: '{{protected}}/secret.txt', flags: 'r+', write: 'X' } }] },
  { id: 'open-exclusive-create', steps: [{ sftp: { call: 'handle', path: '{{protected}}/made.txt', flags: 'wx' } }] },
  { id: 'unlink-protected-file', steps: [{ sftp: { call: 'unlink', path: '{{protected}}/secret.txt' } }] },
  { id: 'chmod-protected-file', steps: [{ sftp: { call: 'chmod', path: '{{protected}}/secret.txt', mode: 0o777 } }] },
  { id: 'mkdir-in-protected', steps: [{ sftp: { call: 'mkdir', path: '{{protected}}/sub2' } }] },
  { id: 'rmdir-in-protected', steps: [{ sftp: { call: 'rmdir', path: '{{protected}}/empty' } }] },
  { id: 'dot-dot-from-open-folder', steps: [{ sftp: { call: 'writeFile', path: '{{open}}/../protected/new.txt' } }] },
  { id: 'dot-dot-unlink-from-open-folder', steps: [{ sftp: { call: 'unlink', path: '{{open}}/../protected/secret.txt' } }] },
  { id: 'double-slash-in-path', steps: [{ sftp: { call: 'writeFile', path: '{{protected}}//new.txt' } }] },
  { id: 'dot-segment-in-path', steps: [{ sftp: { call: 'writeFile', path: '{{protected}}/./new.txt' } }] },
  { id: 'leading-double-slash', steps: [{ sftp: { call: 'writeFile', path: '/{{protected}}/new.txt' } }] },
  { id: 'relative-path-from-home', steps: [{ sftp: { call: 'writeFile', path: '{{relprotected}}/new.txt' } }] },
  { id: 'trailing-slash-on-mkdir', steps: [{ sftp: { call: 'mkdir', path: '{{protected}}/sub3/' } }] },
  { id: 'chmod-protected-folder-itself', pending: 'issue-20: `protected/**` does not cover the folder itself', steps: [{ sftp: { call: 'chmod', path: '{{protected}}', mode: 0o777 } }] },
  { id: 'rename-protected-folder-away', pending: 'issue-20: `protected/**` does not cover the folder itself', steps: [{ sftp: { call: 'rename', from: '{{protected}}', to: '{{open}}/moved' } }] },
  { id: 'rename-protected-file-out', steps: [{ sftp: { call: 'rename', from: '{{protected}}/secret.txt', to: '{{open}}/stolen.txt' } }] },
  { id: 'rename-file-into-protected', steps: [{ sftp: { call: 'writeFile', path: '{{open}}/planted.txt' } }, { sftp: { call: 'rename', from: '{{open}}/planted.txt', to: '{{protected}}/planted.txt' } }] },
  { id: 'posix-rename-protected-file-out', steps: [{ sftp: { call: 'posixRename', from: '{{protected}}/secret.txt', to: '{{open}}/stolen.txt' } }] },
  { id: 'posix-rename-over-protected-file', steps: [{ sftp: { call: 'writeFile', path: '{{open}}/planted.txt' } }, { sftp: { call: 'posixRename', from: '{{open}}/planted.txt', to: '{{protected}}/secret.txt' } }] },
  { id: 'hardlink-into-protected', steps: [{ sftp: { call: 'writeFile', path: '{{open}}/planted.txt' } }, { sftp: { call: 'hardlink', from: '{{open}}/planted.txt', to: '{{protected}}/planted.txt' } }] },
  { id: 'hardlink-protected-file-then-write', steps: [{ sftp: { call: 'hardlink', from: '{{protected}}/secret.txt', to: '{{open}}/alias.txt' } }, { sftp: { call: 'writeFile', path: '{{open}}/alias.txt' } }], expect: 'no-effect' },
  { id: 'symlink-in-protected', steps: [{ sftp: { call: 'symlink', target: '/etc/passwd', path: '{{protected}}/link' } }] },
  { id: 'symlink-to-protected-file-then-write', steps: [{ sftp: { call: 'symlink', target: '{{protected}}/secret.txt', path: '{{open}}/link' } }, { sftp: { call: 'writeFile', path: '{{open}}/link' } }], expect: 'no-effect' },
  { id: 'symlink-to-protected-folder-then-create', steps: [{ sftp: { call: 'symlink', target: '{{protected}}', path: '{{open}}/door' } }, { sftp: { call: 'writeFile', path: '{{open}}/door/new.txt' } }], expect: 'no-effect' },
  { id: 'symlink-to-protected-file-then-chmod', steps: [{ sftp: { call: 'symlink', target: '{{protected}}/secret.txt', path: '{{open}}/link' } }, { sftp: { call: 'chmod', path: '{{open}}/link', mode: 0o777 } }], expect: 'no-effect' },
  { id: 'symlink-to-protected-folder-then-unlink', steps: [{ sftp: { call: 'symlink', target: '{{protected}}', path: '{{open}}/door' } }, { sftp: { call: 'unlink', path: '{{open}}/door/secret.txt' } }], expect: 'no-effect' },
  { id: 'relative-symlink-to-protected-then-write', steps: [{ sftp: { call: 'symlink', target: '../protected/secret.txt', path: '{{open}}/link' } }, { sftp: { call: 'writeFile', path: '{{open}}/link' } }], expect: 'no-effect' },
  { id: 'fsetstat-through-read-handle', pending: 'issue-20: fsetstat on a handle opened for reading is not a write', steps: [{ sftp: { call: 'handle', path: '{{protected}}/secret.txt', flags: 'r', fchmod: 0o777 } }] },
  { id: 'ftruncate-through-read-handle', pending: 'issue-20: fsetstat on a handle opened for reading is not a write', steps: [{ sftp: { call: 'handle', path: '{{protected}}/secret.txt', flags: 'r', ftruncate: true } }] },
  { id: 'write-through-read-handle', steps: [{ sftp: { call: 'handle', path: '{{protected}}/secret.txt', flags: 'r', write: 'X' } }], expect: 'no-effect' },
] satisfies AttackRow[]).map((attack): SshAttack => ({ class: 'sftp-paths', grant: 'full', expect: 'refused', ...attack }));

/** Lines typed at a pty shell, each tracked as a command. */
const SHELL_LINES: SshAttack[] = ([
  { id: 'typed-rm', steps: [{ shell: [RM] }] },
  { id: 'typed-rm-after-semicolon', steps: [{ shell: [`true; ${RM}`] }] },
  { id: 'typed-line-continuation', pending: 'issue-20: a line continuation splits the program name across tracked lines', steps: [{ shell: ['r\\', 'm -f {{canary}}'] }] },
  { id: 'typed-alias', pending: 'issue-20: an alias typed earlier in the shell renames rm', steps: [{ shell: ['alias tidy=rm', 'tidy -f {{canary}}'] }] },
  { id: 'typed-function-across-lines', steps: [{ shell: ['tidy() {', RM, '}', 'tidy'] }] },
  { id: 'typed-history-expansion', pending: 'issue-20: history expansion (`!!:1*`) rebuilds rm from an earlier line', steps: [{ shell: ['set -o history -H', `: ${RM}`, '!!:1*'] }] },
  { id: 'typed-variable-then-use', steps: [{ shell: ['x=rm', '$x -f {{canary}}'] }] },
  { id: 'typed-backspace-edits-program', steps: [{ shell: ['rn\x7fm -f {{canary}}'] }] },
  { id: 'typed-kill-line-then-rm', steps: [{ shell: [`echo hi\x15${RM}`] }] },
  { id: 'typed-here-document', steps: [{ shell: ["sh <<'EOF'", RM, 'EOF'] }] },
] satisfies AttackRow[]).map((attack): SshAttack => ({ class: 'shell-lines', grant: 'full', expect: 'no-effect', ...attack }));

/** A read-only grant: no exec, no sftp write anywhere. */
const READ_ONLY: SshAttack[] = ([
  { id: 'read-only-exec-touch', steps: [{ exec: 'touch {{marker}}' }] },
  { id: 'read-only-exec-empty-line', steps: [{ exec: '' }] },
  { id: 'read-only-shell-touch', steps: [{ shell: ['touch {{marker}}'] }], expect: 'no-effect' },
  { id: 'read-only-sftp-write', steps: [{ sftp: { call: 'writeFile', path: '{{marker}}' } }] },
  { id: 'read-only-sftp-mkdir', steps: [{ sftp: { call: 'mkdir', path: '{{marker}}' } }] },
  { id: 'read-only-sftp-symlink', steps: [{ sftp: { call: 'symlink', target: '/etc/passwd', path: '{{marker}}' } }] },
  { id: 'read-only-sftp-rename-canary', steps: [{ sftp: { call: 'rename', from: '{{canary}}', to: '{{marker}}' } }] },
  { id: 'read-only-sftp-posix-rename-canary', steps: [{ sftp: { call: 'posixRename', from: '{{canary}}', to: '{{marker}}' } }] },
  { id: 'read-only-sftp-hardlink', steps: [{ sftp: { call: 'hardlink', from: '{{canary}}', to: '{{marker}}' } }] },
  { id: 'read-only-sftp-fsetstat-read-handle', pending: 'issue-20: fsetstat on a handle opened for reading is not a write', steps: [{ sftp: { call: 'handle', path: '{{canary}}', flags: 'r', fchmod: 0o777 } }] },
  { id: 'read-only-direct-tcpip', steps: [{ forward: 'direct-tcpip', port: 'sshd' }] },
] satisfies AttackRow[]).map((attack): SshAttack => ({ class: 'read-only-grant', grant: 'read-only', expect: 'refused', ...attack }));

export const SSH_ATTACKS: readonly SshAttack[] = [...execAttacks, ...ENVIRONMENT, ...FORWARDING, ...SFTP, ...SHELL_LINES, ...READ_ONLY];
