import { z } from "zod";

/** Payloads are untrusted input (a job can be added by hand): validated first. */
export const RowPayload = z.object({ id: z.uuid() });
