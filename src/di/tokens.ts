/**
 * Injection tokens of the composition root (tsyringe). Every constructor parameter
 * of an injectable class names its token with `@inject(Token)`: tsx/esbuild emit no
 * decorator metadata, so type-based injection would fail at run time.
 */
import type { InjectionToken } from "tsyringe";
import type { Logger } from "../log.ts";

/** Milliseconds since the epoch; injectable so tests can move time. */
export type Clock = () => number;

export const LoggerToken: InjectionToken<Logger> = Symbol("Logger");
export const ClockToken: InjectionToken<Clock> = Symbol("Clock");
