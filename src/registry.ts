/**
 * One registry shape for every pluggable part of switchyard: posting-chain
 * rules, chains, pipeline handlers, bounce detectors and email commands. Each
 * entry has a name (what list settings and logs use), a description (what
 * `--help` texts and `config show` print) and the module that implements it
 * (so an operator reading an error knows which file to open).
 *
 * A registry is filled once at module load and frozen before first use, so a
 * lookup never races a registration; an unknown name is a typed error that
 * lists the valid names, because the person who typed it needs them.
 */
import { SwitchyardError } from './errors.js';

export interface RegistryEntry<T> {
  /** The name settings and logs use: lower-case, digits and `-`. */
  readonly name: string;
  /** One line for help texts and listings. */
  readonly description: string;
  /** Path of the implementing module relative to the package root, e.g. `runners/incoming/rules/loop.ts`. */
  readonly module: string;
  readonly implementation: T;
}

/** A setting, command or configuration names an entry the registry does not have. */
export class RegistryUnknownError extends SwitchyardError {
  constructor(
    readonly kind: string,
    readonly entry: string,
    readonly known: readonly string[],
  ) {
    super('SY_REGISTRY_UNKNOWN', `unknown ${kind} ${JSON.stringify(entry)} (known: ${known.join(', ')})`);
  }
}

/** Two modules registered the same name: a programming error found at load time. */
export class RegistryDuplicateError extends SwitchyardError {
  constructor(readonly kind: string, readonly entry: string) {
    super('SY_REGISTRY_DUPLICATE', `${kind} ${JSON.stringify(entry)} is registered twice`);
  }
}

const NAME = /^[a-z][a-z0-9-]*$/;

export class Registry<T> {
  readonly #entries = new Map<string, RegistryEntry<T>>();
  #frozen = false;

  /** @param kind what an entry is, singular, for messages ("pipeline handler", "chain rule"). */
  constructor(readonly kind: string) {}

  register(entry: RegistryEntry<T>): this {
    if (this.#frozen) throw new Error(`${this.kind} registry is frozen; register ${entry.name} at module load`);
    if (!NAME.test(entry.name)) throw new Error(`${this.kind} name ${JSON.stringify(entry.name)} must match ${NAME}`);
    if (this.#entries.has(entry.name)) throw new RegistryDuplicateError(this.kind, entry.name);
    this.#entries.set(entry.name, Object.freeze({ ...entry }));
    return this;
  }

  /** No more registrations; returns this for `export const X = new Registry(..).register(..).freeze()`. */
  freeze(): this {
    this.#frozen = true;
    return this;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The entry, or RegistryUnknownError naming the valid ones. */
  entry(name: string): RegistryEntry<T> {
    const found = this.#entries.get(name);
    if (found === undefined) throw new RegistryUnknownError(this.kind, name, this.names());
    return found;
  }

  get(name: string): T {
    return this.entry(name).implementation;
  }

  /** Names in registration order. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  entries(): RegistryEntry<T>[] {
    return [...this.#entries.values()];
  }

  /** Throws RegistryUnknownError for the first name not registered. */
  check(names: Iterable<string>): void {
    for (const name of names) this.entry(name);
  }
}
