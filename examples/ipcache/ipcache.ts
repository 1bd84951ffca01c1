// The agent's side of the ipcache, in the manner of Cilium's pkg/maps/ipcache and its users:
// an LPM trie of prefixes to identities, written through the cache (failed writes are retried by
// the resolver) with its fill level reported as Cilium's bpf_map_pressure; the datapath's
// longest-prefix lookup; and the restore after a restart, which makes the pinned map hold
// exactly what the agent now wants, deleting stale prefixes while it walks them.
import { BPF_F_NO_PREALLOC, type Bpf, BpfError, type BpfMap, MapType, isNotExist } from "@bpfkit/core";
import { type IpcacheKey, type RemoteEndpointInfo, ipcacheKey, remoteEndpointInfo } from "./layout.js";

export const IPCACHE_NAME = "cilium_ipcache";
export type IpcacheMap = BpfMap<IpcacheKey, RemoteEndpointInfo>;

/** Cilium's NewMap(name).WithCache().WithPressureMetric(): not yet opened. */
export function newIpcacheMap(bpf: Bpf, maxEntries = 512_000): IpcacheMap {
  return bpf.newMap({ name: IPCACHE_NAME, type: MapType.LPMTrie, key: ipcacheKey, value: remoteEndpointInfo, maxEntries,
    flags: BPF_F_NO_PREALLOC }).withCache().withPressureMetric();
}

/**
 * What the datapath finds for a packet to or from `ip`: the most specific prefix that holds it
 * (an LPM lookup with the address as a full-length prefix), or undefined.
 */
export function lookupIdentity(map: IpcacheMap, ip: string, clusterId = 0): RemoteEndpointInfo | undefined {
  return map.lookup({ prefix: ip, clusterId });
}

export interface SyncResult {
  /** Found as wanted (and written again, for the cache). */
  kept: number;
  updated: number;
  added: number;
  deleted: number;
  /** Writes and deletes the kernel refused: kept in the cache for its error resolver to retry. */
  failed: number;
}

function same(a: RemoteEndpointInfo, b: RemoteEndpointInfo): boolean {
  return a.identity === b.identity && a.tunnelEndpoint === b.tunnelEndpoint && a.encryptKey === b.encryptKey && a.flags === b.flags;
}

/**
 * Makes the map hold exactly `desired` (keyed by ipcacheKey.format: `10.0.0.0/8`, `…@2` in a
 * cluster): what the agent does after a restart, when the pinned map still holds what the last
 * run wrote. Stale prefixes are deleted from inside the dump, which bpfkit's dumps allow (the
 * seed's DumpWithCallback held the map's lock there). A delete that fails stays in the cache as
 * to-be-deleted for the resolver, and so does a failed write, as the seed's cache does.
 */
export function syncIpcache(map: IpcacheMap, desired: ReadonlyMap<string, RemoteEndpointInfo>): SyncResult {
  const r: SyncResult = { kept: 0, updated: 0, added: 0, deleted: 0, failed: 0 };
  const write = (key: IpcacheKey, value: RemoteEndpointInfo): boolean => {
    try {
      map.update(key, value);
      return true;
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;  // a bad key or value is the caller's bug
      r.failed++;
      return false;
    }
  };
  const seen = new Set<string>();
  map.dumpWithCallback((key, value) => {
    const id = ipcacheKey.format!(key);
    const want = desired.get(id);
    if (want === undefined) {
      const { error } = map.deleteWithErrno(key);
      if (error === undefined) r.deleted++;
      else if (!isNotExist(error)) r.failed++;
      return;
    }
    seen.add(id);
    // Written even when unchanged: the cache is this object's record of what the map holds (the
    // resolver and the pressure metric go by it), and after a restart it starts empty.
    if (write(key, want)) {
      if (same(want, value)) r.kept++;
      else r.updated++;
    }
  });
  for (const [id, value] of desired) {
    if (seen.has(id)) continue;
    const at = id.lastIndexOf("@");
    const key = at < 0 ? { prefix: id, clusterId: 0 } : { prefix: id.slice(0, at), clusterId: Number(id.slice(at + 1)) };
    if (write(key, value)) r.added++;
  }
  return r;
}
