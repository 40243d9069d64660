/**
 * `metadata` handling shared by every kind: name, namespace, labels.
 */
import type { ObjectContext } from './context.js';
import { checkLabelKey, checkLabelValue, checkSubdomain } from './validate.js';

export interface Meta {
  name: string;
  namespace?: string;
  labels: Map<string, string>;
  annotations: Map<string, string>;
}

export const DEFAULT_NAMESPACE = 'default';

/**
 * Reads `metadata`. Returns undefined when the name is missing (reported).
 * `namespaced`: absent namespace defaults to `default` (as kubectl apply
 * does); cluster-scoped kinds ignore a namespace with a warning.
 */
export function readMeta(
  ctx: ObjectContext,
  value: Record<string, unknown>,
  opts: { namespaced: boolean; checkName?: (name: string) => string | undefined },
): Meta | undefined {
  const md = ctx.map(value.metadata, ['metadata']);
  if (!md) {
    ctx.error('NV-NAME', 'metadata.name is required', value.metadata === undefined ? [] : ['metadata']);
    return undefined;
  }
  const name = ctx.str(md.name, ['metadata', 'name']);
  if (name === undefined || name === '') {
    ctx.error('NV-NAME', 'metadata.name is required', md.name === undefined ? ['metadata'] : ['metadata', 'name']);
    return undefined;
  }
  const nameErr = (opts.checkName ?? checkSubdomain)(name);
  if (nameErr) ctx.error('NV-NAME', nameErr, ['metadata', 'name']);
  let namespace: string | undefined;
  const nsRaw = ctx.str(md.namespace, ['metadata', 'namespace']);
  if (opts.namespaced) {
    namespace = nsRaw === undefined || nsRaw === '' ? DEFAULT_NAMESPACE : nsRaw;
    if (nsRaw) {
      const e = checkSubdomain(nsRaw);
      if (e) ctx.error('NV-NAME', `invalid namespace: ${e}`, ['metadata', 'namespace']);
    }
  } else if (nsRaw) {
    ctx.warning('NV-NAMESPACE-IGNORED', `${ctx.object.split('/')[0]} is cluster-scoped; metadata.namespace "${nsRaw}" is ignored`, ['metadata', 'namespace']);
  }
  ctx.object = namespace !== undefined ? `${ctx.object.split('/')[0]}/${namespace}/${name}` : `${ctx.object.split('/')[0]}/${name}`;
  const labels = readLabelMap(ctx, md.labels, ['metadata', 'labels'], true);
  const annotations = new Map<string, string>();
  const ann = ctx.map(md.annotations, ['metadata', 'annotations']);
  if (ann) {
    for (const [k, v] of Object.entries(ann)) {
      if (typeof v === 'string') annotations.set(k, v);
      else if (v !== null && v !== undefined) ctx.error('NV-TYPE', `annotation "${k}" must be a string`, ['metadata', 'annotations', k]);
    }
  }
  return { name, namespace, labels, annotations };
}

/** A `{key: value}` label map, validated as Kubernetes labels (errors point at the key / value). */
export function readLabelMap(ctx: ObjectContext, v: unknown, path: ReadonlyArray<string | number>, validate: boolean): Map<string, string> {
  const out = new Map<string, string>();
  const m = ctx.map(v, path);
  if (!m) return out;
  for (const [k, val] of Object.entries(m)) {
    const p = [...path, k];
    if (typeof val !== 'string') {
      ctx.error('NV-LABEL', `label "${k}" must have a string value, got ${val === null ? 'null' : typeof val} (quote it)`, p, { key: true });
      continue;
    }
    if (validate) {
      const ke = checkLabelKey(k);
      if (ke) {
        ctx.error('NV-LABEL', ke, p, { key: true });
        continue;
      }
      const ve = checkLabelValue(val);
      if (ve) {
        ctx.error('NV-LABEL', `label "${k}": ${ve}`, p, { key: true });
        continue;
      }
    }
    out.set(k, val);
  }
  return out;
}
