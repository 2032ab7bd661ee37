/**
 * The file graphile.config.ts names as graphile-worker's `taskDirectory`: the CLI
 * imports it and takes its default export as the task list. Top-level await, so
 * that a bad configuration or an unmigrated database stops the CLI at start-up,
 * before any job is taken.
 */
import { openCliTaskList } from "./open-task-list.ts";

export default await openCliTaskList();
