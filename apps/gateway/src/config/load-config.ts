import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WardenError } from '@warden/core';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { configSchema, type GatewayConfig } from './config-schema';

/** A configuration error that names the file, line and column. */
export class ConfigFileError extends WardenError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
    message: string,
  ) {
    super('config', `${file}${line === undefined ? '' : `:${line}:${column ?? 1}`}: ${message}`);
  }
}

export interface LoadedConfig {
  readonly config: GatewayConfig;
  /** Maps a path inside the configuration to `file:line:column` for errors found later (adapters). */
  readonly locate: (configPath: readonly (string | number)[], message: string) => ConfigFileError;
}

/** Reads, interpolates and validates a YAML configuration file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError(file, undefined, undefined, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseConfig(text, file, env);
}

/**
 * Parses configuration text. `${env:NAME}` and `${file:PATH}` (relative to the file) in string
 * values are replaced, so secrets stay out of the file.
 */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locateOffset = (offset: number | undefined, message: string) => {
    if (offset === undefined) return new ConfigFileError(file, undefined, undefined, message);
    const { line, col } = lineCounter.linePos(offset);
    return new ConfigFileError(file, line, col, message);
  };
  const firstError = document.errors[0];
  if (firstError) throw locateOffset(firstError.pos[0], firstError.message.split('\n')[0] ?? 'invalid YAML');

  const locate = (configPath: readonly (string | number)[], message: string) =>
    locateOffset(offsetOf(document, configPath), `${formatPath(configPath)}: ${message}`);

  let js: unknown;
  try {
    js = document.toJS();
  } catch (error) {
    // The YAML library refuses alias bombs ("billion laughs") with a ReferenceError; name the file.
    const reason = error instanceof ReferenceError && /alias/i.test(error.message) ? 'the configuration uses too many aliases (anchors expanded too often)' : `cannot read the YAML: ${(error as Error).message}`;
    throw new ConfigFileError(file, undefined, undefined, reason);
  }
  const raw = interpolate(js, [], { env, baseDir: path.dirname(path.resolve(file)), locate });
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw locate(issue.path as (string | number)[], issue.message);
  }
  const names = new Set<string>();
  parsed.data.connections.forEach((connection, index) => {
    if (names.has(connection.name)) throw locate(['connections', index, 'name'], `duplicate connection name "${connection.name}"`);
    names.add(connection.name);
  });
  parsed.data.grants.forEach((grant, index) => {
    if (!names.has(grant.connection)) throw locate(['grants', index, 'connection'], `no connection named "${grant.connection}"`);
  });
  const masked = new Set<string>();
  parsed.data.masking.forEach((entry, index) => {
    if (!names.has(entry.connection)) throw locate(['masking', index, 'connection'], `no connection named "${entry.connection}"`);
    if (masked.has(entry.connection)) throw locate(['masking', index, 'connection'], `masking for "${entry.connection}" is configured twice`);
    masked.add(entry.connection);
  });
  return { config: parsed.data, locate };
}

interface InterpolationContext {
  readonly env: NodeJS.ProcessEnv;
  readonly baseDir: string;
  readonly locate: LoadedConfig['locate'];
}

function interpolate(value: unknown, at: (string | number)[], context: InterpolationContext): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{(env|file):([^}]+)\}/g, (_match, kind: string, name: string) => {
      if (kind === 'env') {
        const found = context.env[name];
        if (found === undefined) throw context.locate(at, `environment variable ${name} is not set`);
        return found;
      }
      try {
        return readFileSync(path.resolve(context.baseDir, name), 'utf8').trimEnd();
      } catch {
        throw context.locate(at, `cannot read file ${name}`);
      }
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, [...at, index], context));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, [...at, key], context)]));
  }
  return value;
}

/** The source offset of the deepest node along `configPath` that exists. */
function offsetOf(document: Document, configPath: readonly (string | number)[]): number | undefined {
  for (let length = configPath.length; length >= 0; length--) {
    const node = document.getIn(configPath.slice(0, length), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return undefined;
}

function formatPath(configPath: readonly (string | number)[]): string {
  return configPath.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '') || '(top level)';
}
