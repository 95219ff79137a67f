/**
 * A pickle reader that builds plain data only: None, booleans, numbers,
 * strings, bytes, lists, tuples (as arrays), dicts (as Maps, since keys may
 * be numbers or tuples) and sets (as arrays). Mailman 2.1 keeps a list's
 * configuration as a pickled dict (`config.pck`), Mailman 3 pickles some
 * database columns; both are read here without ever running code.
 *
 * Every opcode that imports or calls something (GLOBAL, STACK_GLOBAL,
 * REDUCE, BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT*, PERSID, BINPERSID, the
 * buffer opcodes) is refused with ImportUnsafeError, except a constructor
 * the caller names in `constructors` (Mailman 3's
 * `sqlalchemy.ext.mutable MutableList`, which is a list), which is then
 * applied as a plain function of the data.
 *
 * Objects: a caller that reads pickled objects (Mailman 3's message store,
 * src/migrate/mailman3-message-store.ts) names the classes it accepts in
 * `classes`. An instance of one of them, however the pickle makes it
 * (NEWOBJ, NEWOBJ_EX, `copyreg._reconstructor` of protocols 0 and 1, or
 * REDUCE of the class itself), becomes a PickledObject: the class's name, the
 * arguments it was made with and the state BUILD gave it, as plain data.
 * No class is imported, no `__setstate__` or constructor runs; any other
 * global is still refused.
 */
import { ImportUnsafeError } from './errors.js';

export type PickleValue = null | boolean | number | bigint | string | Buffer | PickleValue[] | Map<PickleValue, PickleValue> | PickledObject | PickledClass;

/** A class the caller accepted (`module name`), as the pickle refers to it; never imported. */
export class PickledClass {
  constructor(readonly name: string) {}
}

/** An instance of an accepted class, as data: what it was made with and the attributes BUILD set. */
export class PickledObject {
  readonly state = new Map<PickleValue, PickleValue>();
  constructor(readonly className: string, readonly args: PickleValue[] = []) {}
}

export interface PickleOptions {
  /** `module name` (as GLOBAL writes it, space-separated) -> what REDUCE with it builds from its arguments. */
  constructors?: Readonly<Record<string, (args: PickleValue[]) => PickleValue>>;
  /** How Python 2 `str` (BINSTRING, STRING) is decoded; Mailman 2.1 wrote its lists' charset, mostly latin-1 or ASCII. Default latin1. */
  stringEncoding?: BufferEncoding;
  /** Classes (`module name`) whose instances are read as PickledObject; none when absent. */
  classes?: (name: string) => boolean;
}

/** Pickle's way of making an instance of a class under protocols 0 and 1 (Python 2 spelled the modules copy_reg and __builtin__). */
const RECONSTRUCTOR = new Set(['copyreg _reconstructor', 'copy_reg _reconstructor']);
const OBJECT = new Set(['builtins object', '__builtin__ object']);

const MARK = Symbol('mark');
class Constructor {
  constructor(readonly name: string, readonly build: (args: PickleValue[]) => PickleValue) {}
}
type Slot = PickleValue | typeof MARK | Constructor;

const REFUSED: Record<number, string> = {
  0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x62: 'BUILD', 0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX',
  0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Python's repr of a str in a STRING line ('...' or "..." with backslash escapes) as bytes. */
function unquotePython2(text: string): Buffer {
  const quote = text[0];
  if ((quote !== "'" && quote !== '"') || text[text.length - 1] !== quote) throw new ImportUnsafeError(`pickle STRING not quoted: ${text.slice(0, 40)}`);
  const body = text.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      bytes.push(body.charCodeAt(i) & 0xff);
      continue;
    }
    const next = body[++i];
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
    if (next === 'x') {
      bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (next !== undefined && /[0-7]/.test(next) && /[0-7]/.test(body[i + 1] ?? '')) {
      const digits = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      bytes.push(parseInt(digits, 8) & 0xff);
      i += digits.length - 1;
    } else if (next !== undefined && simple[next] !== undefined) bytes.push(simple[next]!);
    else bytes.push(92, (next ?? '').charCodeAt(0));
  }
  return Buffer.from(bytes);
}

/**
 * UTF-8 as Python's pickle writes it ('surrogatepass'): a lone surrogate
 * (ED A0..BF xx), which a str parsed from bytes holds for each byte that was
 * not ASCII, is kept as that UTF-16 unit instead of becoming U+FFFD.
 */
function utf8(raw: Buffer): string {
  let out = '';
  let from = 0;
  for (let i = raw.indexOf(0xed); i >= 0 && i + 2 < raw.length; i = raw.indexOf(0xed, i + 1)) {
    if ((raw[i + 1]! & 0xe0) !== 0xa0) continue;
    out += raw.toString('utf8', from, i) + String.fromCharCode(0xd000 | ((raw[i + 1]! & 0x3f) << 6) | (raw[i + 2]! & 0x3f));
    from = i + 3;
    i += 2;
  }
  return out + raw.toString('utf8', from);
}

export function readPickle(data: Buffer, options: PickleOptions = {}): PickleValue {
  const encoding = options.stringEncoding ?? 'latin1';
  const stack: Slot[] = [];
  const memo = new Map<number, Slot>();
  let at = 0;
  const need = (n: number): void => {
    if (at + n > data.length) throw new ImportUnsafeError('pickle ends in the middle of an opcode');
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, at);
    if (end < 0) throw new ImportUnsafeError('pickle ends in the middle of an opcode');
    const text = data.toString('latin1', at, end);
    at = end + 1;
    return text;
  };
  const bytes = (n: number): Buffer => {
    need(n);
    const out = data.subarray(at, at + n);
    at += n;
    return Buffer.from(out);
  };
  const u8 = (): number => (need(1), data[at++]!);
  const u32 = (): number => {
    need(4);
    const v = data.readUInt32LE(at);
    at += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = Number(data.readBigUInt64LE(at));
    at += 8;
    return v;
  };
  const pop = (): Slot => {
    if (stack.length === 0) throw new ImportUnsafeError('pickle pops an empty stack');
    return stack.pop()!;
  };
  const top = (): Slot => {
    if (stack.length === 0) throw new ImportUnsafeError('pickle reads an empty stack');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PickleValue[] => {
    const index = stack.lastIndexOf(MARK);
    if (index < 0) throw new ImportUnsafeError('pickle has no MARK where one is needed');
    const items = stack.splice(index);
    items.shift();
    return items.map(plain);
  };
  const plain = (slot: Slot): PickleValue => {
    if (slot === MARK || slot instanceof Constructor) throw new ImportUnsafeError('pickle uses a mark or constructor as a value');
    return slot;
  };
  const asList = (slot: Slot): PickleValue[] => {
    if (!Array.isArray(slot)) throw new ImportUnsafeError('pickle appends to something that is not a list');
    return slot;
  };
  const asDict = (slot: Slot): Map<PickleValue, PickleValue> => {
    if (!(slot instanceof Map)) throw new ImportUnsafeError('pickle sets an item of something that is not a dict');
    return slot;
  };
  const long = (raw: Buffer): number | bigint => {
    if (raw.length === 0) return 0;
    let value = 0n;
    for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]!);
    if (raw[raw.length - 1]! & 0x80) value -= 1n << BigInt(raw.length * 8);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };
  const constructor = (module: string, name: string): Constructor | PickledClass => {
    const key = `${module} ${name}`;
    const build = options.constructors?.[key];
    if (build !== undefined) return new Constructor(key, build);
    if (options.classes !== undefined) {
      if (RECONSTRUCTOR.has(key)) return new Constructor(key, reconstruct);
      if (OBJECT.has(key)) return new PickledClass('builtins object');
      if (options.classes(key)) return new PickledClass(key);
    }
    throw new ImportUnsafeError(`pickle refers to ${module}.${name} (GLOBAL): ${options.classes === undefined ? 'only plain data is read' : 'not a class of the objects read here'}; nothing is imported or called`);
  };
  /** copyreg._reconstructor(cls, object, None): `object.__new__(cls)`, nothing else (a base other than object would call its constructor). */
  const reconstruct = (args: PickleValue[]): PickleValue => {
    const [cls, base, state] = args;
    if (!(cls instanceof PickledClass) || cls.name === 'builtins object' || !(base instanceof PickledClass) || base.name !== 'builtins object' || state !== null || args.length !== 3) {
      throw new ImportUnsafeError('pickle calls copyreg._reconstructor with something other than (an accepted class, object, None): refused');
    }
    return new PickledObject(cls.name);
  };
  const instance = (cls: Slot, args: Slot, opcode: string): PickledObject => {
    if (!(cls instanceof PickledClass) || cls.name === 'builtins object') throw new ImportUnsafeError(`pickle makes an object (${opcode}) of something that is not an accepted class: refused`);
    if (!Array.isArray(args)) throw new ImportUnsafeError(`pickle makes an object (${opcode}) without an argument tuple`);
    return new PickledObject(cls.name, args);
  };

  while (at < data.length) {
    const op = data[at++]!;
    // Without accepted classes there is no object to make or fill: refused as they come.
    if (options.classes === undefined && (op === 0x81 || op === 0x92 || op === 0x62)) throw new ImportUnsafeError(`pickle opcode ${REFUSED[op]} builds objects or runs code: refused`);
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME
      case 0x2e: { // STOP
        if (stack.length !== 1) throw new ImportUnsafeError('pickle stops with a stack that is not one value');
        return plain(stack[0]!);
      }
      case 0x28: stack.push(MARK); break;
      case 0x30: pop(); break;
      case 0x31: popMark(); break;
      case 0x32: stack.push(top()); break;
      case 0x4e: stack.push(null); break;
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x49: { // INT
        const text = line();
        stack.push(text === '01' ? true : text === '00' ? false : Number(text));
        break;
      }
      case 0x4a: need(4); stack.push(data.readInt32LE(at)); at += 4; break;
      case 0x4b: stack.push(u8()); break;
      case 0x4d: need(2); stack.push(data.readUInt16LE(at)); at += 2; break;
      case 0x4c: { // LONG
        const text = line().replace(/L$/, '');
        const big = BigInt(text);
        stack.push(big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big);
        break;
      }
      case 0x8a: stack.push(long(bytes(u8()))); break;
      case 0x8b: stack.push(long(bytes(u32()))); break;
      case 0x46: stack.push(Number(line())); break;
      case 0x47: need(8); stack.push(data.readDoubleBE(at)); at += 8; break;
      case 0x53: stack.push(unquotePython2(line()).toString(encoding)); break;
      case 0x54: stack.push(bytes(u32()).toString(encoding)); break;
      case 0x55: stack.push(bytes(u8()).toString(encoding)); break;
      case 0x56: { // UNICODE: raw-unicode-escape
        const text = line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, short?: string, wide?: string) => String.fromCodePoint(parseInt(short ?? wide!, 16)));
        stack.push(text);
        break;
      }
      case 0x58: stack.push(utf8(bytes(u32()))); break;
      case 0x8c: stack.push(utf8(bytes(u8()))); break;
      case 0x8d: stack.push(utf8(bytes(u64()))); break;
      case 0x42: stack.push(bytes(u32())); break;
      case 0x43: stack.push(bytes(u8())); break;
      case 0x8e: stack.push(bytes(u64())); break;
      case 0x96: stack.push(bytes(u64())); break; // BYTEARRAY8
      case 0x5d: stack.push([]); break;
      case 0x61: { const item = plain(pop()); asList(top()).push(item); break; }
      case 0x65: { const items = popMark(); asList(top()).push(...items); break; }
      case 0x6c: stack.push(popMark()); break;
      case 0x29: stack.push([]); break;
      case 0x74: stack.push(popMark()); break;
      case 0x85: stack.push([plain(pop())]); break;
      case 0x86: { const b = plain(pop()); const a = plain(pop()); stack.push([a, b]); break; }
      case 0x87: { const c = plain(pop()); const b = plain(pop()); const a = plain(pop()); stack.push([a, b, c]); break; }
      case 0x7d: stack.push(new Map()); break;
      case 0x64: {
        const items = popMark();
        const map = new Map<PickleValue, PickleValue>();
        for (let i = 0; i + 1 < items.length; i += 2) map.set(items[i]!, items[i + 1]!);
        stack.push(map);
        break;
      }
      case 0x73: { const value = plain(pop()); const key = plain(pop()); asDict(top()).set(key, value); break; }
      case 0x75: {
        const items = popMark();
        const map = asDict(top());
        for (let i = 0; i + 1 < items.length; i += 2) map.set(items[i]!, items[i + 1]!);
        break;
      }
      case 0x8f: stack.push([]); break;
      case 0x90: { const items = popMark(); asList(top()).push(...items); break; }
      case 0x91: stack.push(popMark()); break;
      case 0x70: memo.set(Number(line()), top()); break;
      case 0x71: memo.set(u8(), top()); break;
      case 0x72: memo.set(u32(), top()); break;
      case 0x94: memo.set(memo.size, top()); break;
      case 0x67: case 0x68: case 0x6a: {
        const index = op === 0x67 ? Number(line()) : op === 0x68 ? u8() : u32();
        if (!memo.has(index)) throw new ImportUnsafeError(`pickle reads memo ${index}, which was never stored`);
        stack.push(memo.get(index)!);
        break;
      }
      case 0x63: { // GLOBAL: only a constructor the caller allowed
        const module = line();
        stack.push(constructor(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = plain(pop());
        const module = plain(pop());
        stack.push(constructor(String(module), String(name)));
        break;
      }
      case 0x52: { // REDUCE: only of an allowed constructor, or an accepted class (an exception such as email.errors' defects pickles so)
        const args = pop();
        const callable = pop();
        if (callable instanceof PickledClass) {
          stack.push(instance(callable, args, 'REDUCE'));
          break;
        }
        if (!(callable instanceof Constructor) || !Array.isArray(args)) throw new ImportUnsafeError('pickle calls something (REDUCE): only plain data is read');
        stack.push(callable.build(args));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args) of an accepted class
        const args = pop();
        stack.push(instance(pop(), args, 'NEWOBJ'));
        break;
      }
      case 0x92: { // NEWOBJ_EX: the same with keyword arguments, which must be none
        const kwargs = pop();
        const args = pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) throw new ImportUnsafeError('pickle makes an object (NEWOBJ_EX) with keyword arguments: refused');
        stack.push(instance(pop(), args, 'NEWOBJ_EX'));
        break;
      }
      case 0x62: { // BUILD: an accepted object's attributes from a dict (or a (dict, slots dict) pair); no __setstate__ runs
        const state = plain(pop());
        const target = top();
        if (!(target instanceof PickledObject)) throw new ImportUnsafeError('pickle sets the state (BUILD) of something that is not an accepted object: refused');
        const parts = state instanceof Map ? [state] : Array.isArray(state) && state.length === 2 ? state : undefined;
        if (parts === undefined) throw new ImportUnsafeError('pickle sets an object state (BUILD) that is not a dict: refused');
        for (const part of parts) {
          if (part === null) continue;
          if (!(part instanceof Map)) throw new ImportUnsafeError('pickle sets an object state (BUILD) that is not a dict: refused');
          for (const [key, value] of part) target.state.set(key, value);
        }
        break;
      }
      default:
        throw new ImportUnsafeError(REFUSED[op] !== undefined ? `pickle opcode ${REFUSED[op]} builds objects or runs code: refused` : `unknown pickle opcode 0x${op.toString(16)}: refused`);
    }
  }
  throw new ImportUnsafeError('pickle has no STOP');
}

/** A pickled dict as a plain object with string keys (Mailman's config.pck); anything else refused. */
export function pickleToRecord(value: PickleValue): Record<string, unknown> {
  if (!(value instanceof Map)) throw new ImportUnsafeError('the pickle is not a dict');
  const out: Record<string, unknown> = {};
  for (const [key, item] of value) out[String(key)] = toPlain(item);
  return out;
}

function toPlain(value: PickleValue): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toPlain(v)]));
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'bigint') return Number(value);
  return value;
}
