// A request's logger, made when first used. Fastify gives every request a
// pino child with its id; making one runs the redaction paths over the
// bindings and cost ~2 % of the request thread (issue 14's profile), yet the
// access line is written by the pipeline through the root logger and a
// request's own logger is used only on errors. This stands in for the child
// and makes it on the first line that would be written.
import type { Bindings, ChildLoggerOptions, Logger } from 'pino'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type LogFn = (...args: unknown[]) => void

export class LazyChildLogger {
  #child: Logger | undefined

  constructor(
    private readonly parent: Logger,
    private readonly childBindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The real child, made now if it was not yet. */
  get real(): Logger {
    return (this.#child ??= this.parent.child(this.childBindings, this.options))
  }

  /** True once a line was written (or the child was otherwise needed). */
  get made(): boolean {
    return this.#child !== undefined
  }

  get level(): string {
    return this.#child?.level ?? this.options.level ?? this.parent.level
  }

  set level(level: string) {
    this.real.level = level
  }

  private write(level: Level, args: unknown[]): void {
    // A line below the level is dropped by pino anyway: no child for it.
    if (!this.#child && !this.isLevelEnabled(level)) return
    ;(this.real[level] as LogFn)(...args)
  }

  isLevelEnabled(level: string): boolean {
    if (this.#child) return this.#child.isLevelEnabled(level)
    // Without a level of its own the child would answer as its parent does.
    return this.options.level === undefined ? this.parent.isLevelEnabled(level) : this.real.isLevelEnabled(level)
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args)
  }

  error(...args: unknown[]): void {
    this.write('error', args)
  }

  warn(...args: unknown[]): void {
    this.write('warn', args)
  }

  info(...args: unknown[]): void {
    this.write('info', args)
  }

  debug(...args: unknown[]): void {
    this.write('debug', args)
  }

  trace(...args: unknown[]): void {
    this.write('trace', args)
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.real.child(bindings, options)
  }

  bindings(): Bindings {
    return this.real.bindings()
  }
}
