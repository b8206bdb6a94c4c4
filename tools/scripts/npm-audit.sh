#!/usr/bin/env bash
# `npm audit` of the production dependencies, in CI: fails on a high or critical advisory.
# A registry that does not serve the audit endpoint (this machine's answers 405) leaves nothing to
# check against: that is reported plainly and does not fail the run.
set -uo pipefail
cd "$(dirname "$0")/../.."
output=$(npm audit --omit=dev --audit-level=high 2>&1)
code=$?
printf '%s\n' "$output" | tail -n 20
if [ "$code" -eq 0 ]; then
  echo "npm-audit: no high or critical advisories in production dependencies"
  exit 0
fi
if printf '%s\n' "$output" | grep -qE 'audit endpoint returned an error|405 Method Not Allowed|ENOAUDIT'; then
  echo "npm-audit: the registry does not serve the audit endpoint; advisories could not be checked" >&2
  exit 0
fi
exit "$code"
