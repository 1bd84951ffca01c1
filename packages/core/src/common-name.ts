// The metrics label of a map: Cilium strips the `cilium_` prefix and the per-endpoint or
// per-device suffix so that `cilium_policy_1157` and `cilium_policy_reserved_1` count as one
// `policy` series instead of one series per endpoint.

const patterns: readonly RegExp[] = [
  /^(cilium_)(.+)_reserved_[0-9]+$/,
  /^(cilium_)(.+)_netdev_ns_[0-9]+$/,
  /^(cilium_)(.+)_overlay_[0-9]+$/,
  /^(cilium_)(.+)_[0-9]+$/,
  // Cilium writes `(.+)+`, which captures the same text; the nested quantifier only adds
  // catastrophic backtracking on names with a newline.
  /^(cilium_)(.+)$/,
];

/** The first pattern that matches wins, giving its second group; otherwise `name` unchanged. */
export function extractCommonName(name: string): string {
  for (const re of patterns) {
    const m = re.exec(name);
    if (m !== null) return m[2]!;
  }
  return name;
}
