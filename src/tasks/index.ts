/**
 * The worker's tasks, one per file in this folder (`<table>__<event>.ts`), named
 * here so the runner gets an explicit list instead of scanning a directory at
 * run time. Payloads are untrusted (`unknown`): each task validates its own.
 */
import type { TaskList } from "graphile-worker";

export const taskList: TaskList = {};
