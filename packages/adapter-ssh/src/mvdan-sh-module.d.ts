/**
 * The little of mvdan-sh 0.10 (mvdan.cc/sh/v3/syntax compiled to JavaScript with GopherJS) that the
 * shell classifier uses. The package ships no type declarations. Node fields keep their Go names;
 * see https://pkg.go.dev/mvdan.cc/sh/v3/syntax for each node type.
 */
declare module 'mvdan-sh' {
  /** Any syntax node; narrow it with `syntax.NodeType`. Fields are those of the Go struct. */
  export interface ShNode {
    readonly [field: string]: unknown;
  }

  /** A Go error value as GopherJS exposes it. */
  export interface GoError {
    Error(): string;
  }

  export interface Parser {
    /** Throws a `GoError` on a syntax error. */
    Parse(source: string, name: string): ShNode;
  }

  export const syntax: {
    NewParser(...options: unknown[]): Parser;
    NodeType(node: ShNode): string;
    /** Calls `visit` for each node depth-first; return false to skip the node's children. */
    Walk(node: ShNode, visit: (node: ShNode | null) => boolean): void;
  };
}
