import type { ConnectionDefault, PolicyConfig } from '@warden/core';
import type { GatewayConfig } from './config-schema';

/** The policy part of a validated configuration, as the core's `PolicyEngine` takes it. */
export function policyConfigOf(config: GatewayConfig): PolicyConfig {
  const connectionDefaults: Record<string, ConnectionDefault> = {};
  for (const connection of config.connections) {
    connectionDefaults[connection.name] = {
      effect: connection.defaultEffect,
      ...(connection.defaultApprovers ? { approvers: connection.defaultApprovers } : {}),
    };
  }
  return { grants: config.grants, rules: config.rules, connectionDefaults };
}
