/**
 * GraphQL's check of literal input values (ValuesOfCorrectTypeRule) says what is
 * wrong with a value but not where it is: PostGraphile's UUID scalar even throws
 * its "Invalid UUID" without a location. This wrapper of the rule prefixes such
 * messages with the value's path in the arguments (`input.items[0].sellerId: …`,
 * the form Settle's own VALIDATION messages use) and gives them the value's
 * location. Messages that already name their field are left as they are.
 */
import {
  type ASTNode,
  type ASTVisitor,
  GraphQLError,
  getNamedType,
  isInputObjectType,
  Kind,
  type ValidationContext,
  type ValidationRule,
  ValuesOfCorrectTypeRule,
} from "postgraphile/graphql";

type Ancestors = readonly (ASTNode | readonly ASTNode[])[];
type Path = readonly (string | number)[];
interface Visit {
  node: ASTNode;
  parent: ASTNode | readonly ASTNode[];
  path: Path;
  ancestors: Ancestors;
}

/** `input.items[0].sellerId` for a value inside argument `input`. */
function inputPath(at: Visit): string {
  let described = "";
  // graphql's visitor gives the ancestors above the parent: chain[i] holds path[i].
  const chain = [...at.ancestors, at.parent, at.node];
  const path = at.path;
  for (let i = 0; i < chain.length; i++) {
    const step = chain[i]!;
    if (Array.isArray(step)) {
      const owner = chain[i - 1] as ASTNode | undefined;
      if (owner?.kind === Kind.LIST) described += `[${String(path[i])}]`;
    } else if (
      (step as ASTNode).kind === Kind.ARGUMENT ||
      (step as ASTNode).kind === Kind.OBJECT_FIELD
    ) {
      const name = (step as { name: { value: string } }).name.value;
      described += described ? `.${name}` : name;
    }
  }
  return described;
}

/** ValuesOfCorrectTypeRule's messages for these nodes name the field already. */
function namesItsField(node: ASTNode, context: ValidationContext): boolean {
  if (node.kind === Kind.OBJECT_FIELD) return true; // Field "x" is not defined by type "T".
  // Field "T.x" of required type "X!" was not provided, or a oneOf message naming T.
  return node.kind === Kind.OBJECT && isInputObjectType(getNamedType(context.getInputType()));
}

export const NamedValuesOfCorrectTypeRule: ValidationRule = (context) => {
  let current: Visit | null = null;
  const reporting = Object.create(context, {
    reportError: {
      value(error: GraphQLError) {
        if (!current || namesItsField(current.node, context)) return context.reportError(error);
        const where = inputPath(current);
        context.reportError(
          new GraphQLError(where ? `${where}: ${error.message}` : error.message, {
            nodes: error.nodes?.length ? error.nodes : current.node,
            originalError: error.originalError,
            extensions: error.extensions,
          }),
        );
      },
    },
  }) as ValidationContext;
  const visitor = ValuesOfCorrectTypeRule(reporting) as Record<
    string,
    (
      node: ASTNode,
      key: unknown,
      parent: Visit["parent"],
      path: Path,
      ancestors: Ancestors,
    ) => unknown
  >;
  const wrapped: Record<string, unknown> = {};
  for (const [kind, enter] of Object.entries(visitor)) {
    wrapped[kind] = (
      node: ASTNode,
      key: unknown,
      parent: Visit["parent"],
      path: Path,
      ancestors: Ancestors,
    ) => {
      current = { node, parent, path, ancestors };
      try {
        return enter(node, key, parent, path, ancestors);
      } finally {
        current = null;
      }
    };
  }
  return wrapped as ASTVisitor;
};

/** The rules with GraphQL's ValuesOfCorrectTypeRule replaced by the one above. */
export function withNamedValueErrors(rules: readonly ValidationRule[]): ValidationRule[] {
  return rules.map((rule) =>
    rule === ValuesOfCorrectTypeRule ? NamedValuesOfCorrectTypeRule : rule,
  );
}
