/**
 * IP sets (SEMANTICS.md §4.8, §4.6, §4.9, §7.2): selector sets (addresses and
 * CIDRs of every matching entity, cluster-wide), named-port sets (address,
 * protocol, port) and service sets. Built lazily and cached by identity
 * (canonical selector text), as felix does.
 */
import type { Cidr, IpAddr } from '../net/ip.js';
import { cidrContains, familyBits } from '../net/ip.js';
import type { Selector } from '../parse/selector/types.js';
import type { Cluster, EndpointSlice, NamedPort } from '../model/types.js';
import type { Entity } from './entities.js';
import { LabelIndex } from './labelindex.js';

export const addrKey = (a: IpAddr): string => `${a.family}:${a.value}`;
export const addrPortKey = (a: IpAddr, proto: number, port: number): string => `${a.family}:${a.value}:${proto}:${port}`;

/**
 * Address set: its members, and for `has` exact host entries in a hash set
 * with shorter prefixes scanned. The lookup index is built on the first
 * `has` (the compiler only reads `members`).
 */
export class AddressSet {
  private exact: Set<string> | undefined;
  private prefixes: Cidr[] = [];
  readonly members: Cidr[] = [];

  add(c: Cidr): void {
    this.members.push(c);
    this.exact = undefined;
  }

  has(a: IpAddr): boolean {
    if (!this.exact) {
      this.exact = new Set();
      this.prefixes = [];
      for (const c of this.members) {
        if (c.prefixLen === familyBits(c.family)) this.exact.add(`${c.family}:${c.base}`);
        else this.prefixes.push(c);
      }
    }
    if (this.exact.has(addrKey(a))) return true;
    for (const p of this.prefixes) if (cidrContains(p, a)) return true;
    return false;
  }

  get size(): number {
    return this.members.length;
  }
}

export interface NamedPortMember {
  addr: IpAddr;
  proto: number;
  port: number;
  entity: Entity;
}

export class IpSetIndex {
  private readonly selectorSets = new Map<string, AddressSet>();
  private readonly selectorEntities = new Map<string, Entity[]>();
  private readonly namedPortSets = new Map<string, Set<string>>();
  private readonly serviceSets = new Map<string, { withPorts: Set<string>; addrs: AddressSet }>();

  constructor(
    private readonly entities: Entity[],
    private readonly slices: EndpointSlice[],
  ) {}

  /** Entities (WEP/HEP/NetworkSet/GlobalNetworkSet) whose label view matches. */
  private labelIndex?: LabelIndex<Entity>;

  matchingEntities(sel: Selector): Entity[] {
    let list = this.selectorEntities.get(sel.canonical);
    if (!list) {
      list = Array.from(this.matchingEntityIds(sel), (id) => this.entities[id]!);
      this.selectorEntities.set(sel.canonical, list);
    }
    return list;
  }

  private readonly selectorEntityIds = new Map<string, Int32Array>();

  /** The label index over every entity (built on first use). */
  entityLabelIndex(): LabelIndex<Entity> {
    return (this.labelIndex ??= new LabelIndex(this.entities));
  }

  /** Ids (= positions in `entities`) of the entities `sel` matches, ascending (as `matchingEntities`). */
  matchingEntityIds(sel: Selector): Int32Array {
    let ids = this.selectorEntityIds.get(sel.canonical);
    if (!ids) {
      // Same result as entities.filter(sel.matches), narrowed by a label index.
      ids = this.entityLabelIndex().matchingPositions(sel);
      this.selectorEntityIds.set(sel.canonical, ids);
    }
    return ids;
  }

  selectorSet(sel: Selector): AddressSet {
    let set = this.selectorSets.get(sel.canonical);
    if (!set) {
      set = new AddressSet();
      for (const e of this.matchingEntities(sel)) for (const c of e.cidrs) set.add(c);
      this.selectorSets.set(sel.canonical, set);
    }
    return set;
  }

  /**
   * Named-port set: (address, protocol, port) of every endpoint matching `sel`
   * (all entities when undefined) that declares port `name` with a protocol
   * equal to `proto` (any protocol when undefined).
   */
  namedPortSet(sel: Selector | undefined, name: string, proto: number | undefined): Set<string> {
    const key = `${sel?.canonical ?? '<all>'}|${name}|${proto ?? '*'}`;
    let set = this.namedPortSets.get(key);
    if (!set) {
      set = new Set();
      for (const m of this.namedPortMembers(sel, name, proto)) set.add(addrPortKey(m.addr, m.proto, m.port));
      this.namedPortSets.set(key, set);
    }
    return set;
  }

  /**
   * The members of `namedPortSet(sel, name, proto)` as values, in the same
   * order, possibly repeated (the set keeps the first of each).
   */
  namedPortMembers(sel: Selector | undefined, name: string, proto: number | undefined): { addr: IpAddr; proto: number; port: number }[] {
    const out: { addr: IpAddr; proto: number; port: number }[] = [];
    const eps = this.namedPortEndpoints(sel, name, proto);
    for (let i = 0; i < eps.length; i += 3) {
      for (const c of this.entities[eps[i]!]!.cidrs) out.push({ addr: { family: c.family, value: c.base }, proto: eps[i + 1]!, port: eps[i + 2]! });
    }
    return out;
  }

  /**
   * The named ports behind `namedPortMembers(sel, name, proto)` as flat
   * (entity id, protocol, port) triples, in the same order: each stands for
   * one member per address of the entity.
   */
  namedPortEndpoints(sel: Selector | undefined, name: string, proto: number | undefined): number[] {
    const out: number[] = [];
    // The endpoints declaring `name` (entity order), kept where `sel` matches.
    const declaring = this.namedPortIndex().get(name);
    if (!declaring) return out;
    const ids = declaring.ids;
    const matching = sel ? this.matchingEntityIds(sel) : undefined;
    if (matching && matching.length < ids.length) {
      // Fewer matching entities than declarations: each matching endpoint's
      // own named ports (the same order: entity, then declaration).
      for (let j = 0; j < matching.length; j++) {
        const e = this.entities[matching[j]!]!;
        if (e.kind !== 'wep' && e.kind !== 'hep') continue;
        for (const np of e.namedPorts) if (np.name === name && (proto === undefined || np.protocol === proto)) out.push(e.id, np.protocol, np.port);
      }
      return out;
    }
    // Both lists in entity id order: a merge walk.
    let j = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (matching) {
        while (j < matching.length && matching[j]! < id) j++;
        if (j === matching.length) break;
        if (matching[j] !== id) continue;
      }
      const np = declaring.list[k]!.port;
      if (proto === undefined || np.protocol === proto) out.push(id, np.protocol, np.port);
    }
    return out;
  }

  /** Named ports of workload and host endpoints by name, in entity order (then declaration order), with their entity ids. */
  private namedPorts?: Map<string, { list: { entity: Entity; port: NamedPort }[]; ids: Int32Array }>;

  private namedPortIndex(): Map<string, { list: { entity: Entity; port: NamedPort }[]; ids: Int32Array }> {
    if (!this.namedPorts) {
      const lists = new Map<string, { entity: Entity; port: NamedPort }[]>();
      for (const e of this.entities) {
        if (e.kind !== 'wep' && e.kind !== 'hep') continue;
        for (const np of e.namedPorts) {
          let list = lists.get(np.name);
          if (!list) lists.set(np.name, (list = []));
          list.push({ entity: e, port: np });
        }
      }
      this.namedPorts = new Map();
      for (const [name, list] of lists) this.namedPorts.set(name, { list, ids: Int32Array.from(list, (x) => x.entity.id) });
    }
    return this.namedPorts;
  }

  /** Slices by `namespace/serviceName` (built on first use; no scan of every slice per service). */
  private slicesByService?: Map<string, EndpointSlice[]>;

  /** Service set: (endpoint address, proto, slice port) and the address-only variant. */
  serviceSet(namespace: string, name: string): { withPorts: Set<string>; addrs: AddressSet } {
    const key = `${namespace}/${name}`;
    let set = this.serviceSets.get(key);
    if (!set) {
      set = { withPorts: new Set(), addrs: new AddressSet() };
      const seenAddr = new Set<string>();
      if (!this.slicesByService) {
        this.slicesByService = new Map();
        for (const slice of this.slices) {
          if (slice.serviceName === undefined) continue;
          const k = `${slice.namespace}/${slice.serviceName}`;
          let l = this.slicesByService.get(k);
          if (!l) this.slicesByService.set(k, (l = []));
          l.push(slice);
        }
      }
      for (const slice of this.slicesByService.get(key) ?? []) {
        for (const ep of slice.endpoints) {
          for (const a of ep.addresses) {
            if (!seenAddr.has(addrKey(a))) {
              seenAddr.add(addrKey(a));
              set.addrs.add({ family: a.family, base: a.value, prefixLen: familyBits(a.family) });
            }
            for (const p of slice.ports) if (p.port !== undefined) set.withPorts.add(addrPortKey(a, p.protocol, p.port));
          }
        }
      }
      this.serviceSets.set(key, set);
    }
    return set;
  }
}

export type { Cluster };
