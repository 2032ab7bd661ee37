/**
 * SPEC §6: the field `id` of every type is the row's uuid, and inputs take the
 * `UUID` scalar. The Amber preset instead exposes a Relay global object id as `id`
 * and renames the `id` column to `rowId`. We drop the Relay machinery (no `Node`
 * interface, no `node(id:)` root field, no `nodeId` inputs) and undo the rename,
 * so one id means the same thing in GraphQL, in SQL, in logs and at the PSPs
 * (where it is the idempotency key).
 */
import "postgraphile";

/** Plugins that implement Relay global object identification in V5. */
export const RELAY_NODE_PLUGINS = [
  "NodePlugin",
  "AddNodeInterfaceToSuitableTypesPlugin",
  "RegisterQueryNodePlugin",
  "NodeAccessorPlugin",
  "PgTableNodePlugin",
  "PgNodeIdAttributesPlugin",
];

export const RowIdsPlugin: GraphileConfig.Plugin = {
  name: "SettleRowIdsPlugin",
  description: "Keeps the `id` column as `id` (no `rowId` rename), since global node ids are off",
  version: "1.0.0",
  after: ["PgAttributesPlugin"],
  inflection: {
    replace: {
      _attributeName(previous, _options, details) {
        // The built-in inflector renames `id` to `row_id` only to avoid a clash with
        // the Relay `id` field; with that field gone, the column keeps its name.
        return previous!({ ...details, skipRowId: true });
      },
    },
  },
};
