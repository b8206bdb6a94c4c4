import type { Action } from '@warden/core';

/**
 * The action of each statement node type whose action does not depend on its contents (those
 * that do are decided in `classify-statement.ts`). A node type that is in neither place is
 * `unknown`: a statement nobody mapped is never assumed to be harmless.
 *
 * Node types are libpg-query's (PostgreSQL's `parsenodes.h`), e.g. `{ "DropStmt": {...} }`.
 */
export const STATEMENT_ACTIONS: Readonly<Record<string, Action>> = {
  // Reads. Cursors were judged when declared.
  VariableShowStmt: 'read',
  FetchStmt: 'read',
  ClosePortalStmt: 'read',
  ListenStmt: 'read',
  UnlistenStmt: 'read',

  // Writes.
  InsertStmt: 'write',
  UpdateStmt: 'write',
  DeleteStmt: 'write',
  MergeStmt: 'write',
  NotifyStmt: 'write',
  // A table lock blocks other sessions' writes (or reads) until the transaction ends.
  LockStmt: 'write',

  // Schema changes.
  CreateStmt: 'ddl',
  CreateTableAsStmt: 'ddl',
  CreateForeignTableStmt: 'ddl',
  ImportForeignSchemaStmt: 'ddl',
  RenameStmt: 'ddl',
  CommentStmt: 'ddl',
  IndexStmt: 'ddl',
  ViewStmt: 'ddl',
  RuleStmt: 'ddl',
  CreateSeqStmt: 'ddl',
  AlterSeqStmt: 'ddl',
  CreateTrigStmt: 'ddl',
  CreateFunctionStmt: 'ddl',
  AlterFunctionStmt: 'ddl',
  CreateDomainStmt: 'ddl',
  AlterDomainStmt: 'ddl',
  CompositeTypeStmt: 'ddl',
  CreateEnumStmt: 'ddl',
  AlterEnumStmt: 'ddl',
  CreateRangeStmt: 'ddl',
  AlterTypeStmt: 'ddl',
  DefineStmt: 'ddl',
  AlterCollationStmt: 'ddl',
  CreateConversionStmt: 'ddl',
  CreateCastStmt: 'ddl',
  CreateTransformStmt: 'ddl',
  CreateOpClassStmt: 'ddl',
  CreateOpFamilyStmt: 'ddl',
  AlterOpFamilyStmt: 'ddl',
  AlterOperatorStmt: 'ddl',
  CreateStatsStmt: 'ddl',
  AlterStatsStmt: 'ddl',
  AlterTSDictionaryStmt: 'ddl',
  AlterTSConfigurationStmt: 'ddl',
  AlterObjectDependsStmt: 'ddl',
  AlterObjectSchemaStmt: 'ddl',

  // Privileges, roles, ownership and row-level security: who may do what.
  GrantStmt: 'admin',
  GrantRoleStmt: 'admin',
  AlterDefaultPrivilegesStmt: 'admin',
  CreateRoleStmt: 'admin',
  AlterRoleStmt: 'admin',
  AlterRoleSetStmt: 'admin',
  DropRoleStmt: 'admin',
  DropOwnedStmt: 'admin',
  ReassignOwnedStmt: 'admin',
  AlterOwnerStmt: 'admin',
  CreatePolicyStmt: 'admin',
  AlterPolicyStmt: 'admin',
  SecLabelStmt: 'admin',
  // Code and connections that run with more than the caller's rights, or outside the database.
  DoStmt: 'admin',
  CallStmt: 'admin',
  LoadStmt: 'admin',
  CreateExtensionStmt: 'admin',
  AlterExtensionStmt: 'admin',
  AlterExtensionContentsStmt: 'admin',
  CreatePLangStmt: 'admin',
  CreateEventTrigStmt: 'admin',
  AlterEventTrigStmt: 'admin',
  CreateAmStmt: 'admin',
  CreateFdwStmt: 'admin',
  AlterFdwStmt: 'admin',
  CreateForeignServerStmt: 'admin',
  AlterForeignServerStmt: 'admin',
  CreateUserMappingStmt: 'admin',
  AlterUserMappingStmt: 'admin',
  DropUserMappingStmt: 'admin',
  CreatePublicationStmt: 'admin',
  AlterPublicationStmt: 'admin',
  CreateSubscriptionStmt: 'admin',
  AlterSubscriptionStmt: 'admin',
  DropSubscriptionStmt: 'admin',
  // The server, databases and tablespaces.
  AlterSystemStmt: 'admin',
  CreatedbStmt: 'admin',
  AlterDatabaseStmt: 'admin',
  AlterDatabaseSetStmt: 'admin',
  AlterDatabaseRefreshCollStmt: 'admin',
  DropdbStmt: 'admin',
  CreateTableSpaceStmt: 'admin',
  DropTableSpaceStmt: 'admin',
  AlterTableSpaceOptionsStmt: 'admin',
  AlterTableMoveAllStmt: 'admin',
  // Maintenance.
  VacuumStmt: 'admin',
  ClusterStmt: 'admin',
  ReindexStmt: 'admin',
  CheckPointStmt: 'admin',

  // Transactions.
  ConstraintsSetStmt: 'transaction',

  // Session state.
  DeallocateStmt: 'session',
};
