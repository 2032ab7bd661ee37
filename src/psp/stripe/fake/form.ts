/**
 * Stripe's v1 wire format for parameters: `application/x-www-form-urlencoded`
 * bodies (and query strings for GET) with nested keys, as stripe-node writes
 * them: `metadata[order_id]=…`, `created[gte]=…`, arrays as `expand[0]=…` (what
 * stripe-node sends) or `expand[]=…` (what curl users write). Values stay
 * strings: Stripe itself coerces them per parameter, and so do the routes.
 */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

export class FormError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

const KEY = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;

export function parseForm(encoded: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(encoded)) {
    const match = KEY.exec(rawKey);
    if (!match) throw new FormError(`Invalid parameter name: ${rawKey}`, rawKey);
    const path = [match[1]!, ...[...match[2]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!)];
    assign(root, path, value, rawKey);
  }
  return compact(root) as FormObject;
}

function assign(root: FormObject, path: string[], value: string, rawKey: string): void {
  let container: FormObject | FormValue[] = root;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const last = i === path.length - 1;
    const nextIsIndex = !last && isIndex(path[i + 1]!);
    if (Array.isArray(container)) {
      if (!isIndex(segment)) throw new FormError(`Invalid array index in ${rawKey}`, rawKey);
      // `a[]` appends; `a[3]` places at 3. Holes are closed later (compact()).
      const index = segment === "" ? container.length : Number(segment);
      if (last) {
        container[index] = value;
        return;
      }
      container[index] ??= nextIsIndex ? [] : {};
      container = descend(container[index], rawKey);
    } else {
      if (segment === "") throw new FormError(`Invalid parameter name: ${rawKey}`, rawKey);
      if (last) {
        if (typeof container[segment] === "object")
          throw new FormError(`Invalid parameter: ${rawKey} is also a hash or array`, rawKey);
        container[segment] = value;
        return;
      }
      container[segment] ??= nextIsIndex ? [] : {};
      container = descend(container[segment], rawKey);
    }
  }
}

function descend(value: FormValue | undefined, rawKey: string): FormObject | FormValue[] {
  if (value === undefined || typeof value === "string") {
    throw new FormError(`Invalid parameter: ${rawKey} is also a plain value`, rawKey);
  }
  return value;
}

function isIndex(segment: string): boolean {
  return segment === "" || /^\d{1,4}$/.test(segment);
}

/** Arrays written with explicit indices may have holes (`a[0]`, `a[2]`): close them. */
function compact(value: FormValue): FormValue {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(compact);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v)]));
}

/**
 * A canonical text for "the same parameters": key order does not matter to
 * Stripe, so it must not matter to the idempotency comparison either.
 */
export function canonical(value: FormValue): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k]!)}`).join(",")}}`;
}
