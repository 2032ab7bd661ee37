/**
 * Parameter checks the way Stripe does them: unknown parameters are rejected
 * (so a typo in our client fails here as it would in production), integers and
 * enums are checked, and every failure names its parameter. All of these are
 * validation failures: nothing is saved under the idempotency key.
 */
import type { FormObject, FormValue } from "./form.ts";
import { invalidParam } from "./wire.ts";

export function onlyKnown(params: FormObject, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) {
      throw invalidParam(key, `Received unknown parameter: ${key}`, "parameter_unknown");
    }
  }
}

function plain(params: FormObject, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw invalidParam(name, `Invalid ${name}: must be a string`, "parameter_invalid_string");
  }
  return value;
}

export function requiredString(params: FormObject, name: string): string {
  const value = plain(params, name);
  if (value === undefined || value === "") {
    throw invalidParam(name, `Missing required param: ${name}.`, "parameter_missing");
  }
  return value;
}

export function optionalString(params: FormObject, name: string): string | null {
  const value = plain(params, name);
  return value === undefined || value === "" ? null : value;
}

function integer(value: FormValue, name: string, min: number, max: number): number {
  if (typeof value !== "string" || !/^-?\d+$/.test(value)) {
    throw invalidParam(name, `Invalid integer: ${String(value)}`, "parameter_invalid_integer");
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw invalidParam(
      name,
      `Invalid ${name}: must be an integer between ${min} and ${max}`,
      "parameter_invalid_integer",
    );
  }
  return n;
}

const MAX_AMOUNT = 99_999_999;

/** A positive amount in minor units. */
export function requiredAmount(params: FormObject, name = "amount"): number {
  const value = params[name];
  if (value === undefined || value === "") {
    throw invalidParam(name, `Missing required param: ${name}.`, "parameter_missing");
  }
  return integer(value, name, 1, MAX_AMOUNT);
}

export function optionalAmount(params: FormObject, name = "amount"): number | null {
  const value = params[name];
  return value === undefined || value === "" ? null : integer(value, name, 1, MAX_AMOUNT);
}

export function optionalInteger(
  params: FormObject,
  name: string,
  min: number,
  max: number,
): number | null {
  const value = params[name];
  return value === undefined || value === "" ? null : integer(value, name, min, max);
}

/** Stripe accepts any case and answers in lower case. */
export function requiredCurrency(params: FormObject): string {
  const value = requiredString(params, "currency");
  if (!/^[a-zA-Z]{3}$/.test(value)) throw invalidParam("currency", `Invalid currency: ${value}`);
  return value.toLowerCase();
}

/** Stripe's limits: 50 keys, key ≤ 40 characters, value ≤ 500; an empty value unsets a key. */
export function metadata(params: FormObject): Record<string, string> {
  const value = params.metadata;
  if (value === undefined || value === "") return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw invalidParam("metadata", "Invalid metadata: must be a hash of strings");
  }
  const entries = Object.entries(value);
  if (entries.length > 50) {
    throw invalidParam("metadata", "Invalid metadata: at most 50 keys are allowed");
  }
  const out: Record<string, string> = {};
  for (const [key, v] of entries) {
    if (typeof v !== "string") {
      throw invalidParam(`metadata[${key}]`, "Invalid metadata: values must be strings");
    }
    if (key.length > 40) {
      throw invalidParam(`metadata[${key}]`, "Invalid metadata: keys are at most 40 characters");
    }
    if (v.length > 500) {
      throw invalidParam(`metadata[${key}]`, "Invalid metadata: values are at most 500 characters");
    }
    if (v !== "") out[key] = v;
  }
  return out;
}

/** `expand[]`: accepted and checked for shape; the fake's objects carry no expandable ids. */
export function expand(params: FormObject): void {
  const value = params.expand;
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw invalidParam("expand", "Invalid array: expand must be an array of strings");
  }
}

export function optionalEnum<T extends string>(
  params: FormObject,
  name: string,
  values: readonly T[],
): T | null {
  const value = optionalString(params, name);
  if (value === null) return null;
  if (!values.includes(value as T)) {
    throw invalidParam(name, `Invalid ${name}: must be one of ${values.join(", ")}`);
  }
  return value as T;
}

export function optionalBoolean(params: FormObject, name: string): boolean | null {
  const value = optionalString(params, name);
  if (value === null) return null;
  if (value !== "true" && value !== "false") {
    throw invalidParam(name, `Invalid boolean: ${value}`, "parameter_invalid_boolean");
  }
  return value === "true";
}

export interface CreatedFilter {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** `created=<ts>` or `created[gt|gte|lt|lte]=<ts>`. */
export function createdFilter(params: FormObject): CreatedFilter | null {
  const value = params.created;
  if (value === undefined || value === "") return null;
  if (typeof value === "string") {
    const exact = integer(value, "created", 0, Number.MAX_SAFE_INTEGER);
    return { gte: exact, lte: exact };
  }
  if (Array.isArray(value)) throw invalidParam("created", "Invalid created: must be a hash");
  onlyKnownNested(value, ["gt", "gte", "lt", "lte"], "created");
  const filter: CreatedFilter = {};
  for (const op of ["gt", "gte", "lt", "lte"] as const) {
    const bound = value[op];
    if (bound !== undefined && bound !== "") {
      filter[op] = integer(bound, `created[${op}]`, 0, Number.MAX_SAFE_INTEGER);
    }
  }
  return filter;
}

function onlyKnownNested(params: FormObject, allowed: readonly string[], parent: string): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) {
      throw invalidParam(
        `${parent}[${key}]`,
        `Received unknown parameter: ${parent}[${key}]`,
        "parameter_unknown",
      );
    }
  }
}
