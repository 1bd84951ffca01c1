import { describe, expect, it } from "vitest";
import { extractCommonName } from "@bpfkit/core";

describe("extractCommonName", () => {
  // TestExtractCommonName (pkg-bpf-behaviour.md §10.4).
  const table: Array<[string, string]> = [
    ["cilium_calls_1157", "calls"], ["cilium_calls_netdev_ns_1", "calls"], ["cilium_calls_overlay_2", "calls"],
    ["cilium_ct4_global", "ct4_global"], ["cilium_ct_any4_global", "ct_any4_global"], ["cilium_events", "events"],
    ["cilium_ipcache", "ipcache"], ["cilium_lb4_reverse_nat", "lb4_reverse_nat"], ["cilium_lb4_rr_seq", "lb4_rr_seq"],
    ["cilium_lb4_services", "lb4_services"], ["cilium_lxc", "lxc"], ["cilium_metrics", "metrics"],
    ["cilium_policy", "policy"], ["cilium_policy_1157", "policy"], ["cilium_policy_reserved_1", "policy"],
    ["cilium_proxy4", "proxy4"], ["cilium_tunnel_map", "tunnel_map"],
  ];
  for (const [input, want] of table) {
    it(`${input} → ${want}`, () => expect(extractCommonName(input)).toBe(want));
  }
  it("names without the cilium_ prefix are returned unchanged", () => {
    expect(extractCommonName("my_map_12")).toBe("my_map_12");
    expect(extractCommonName("cilium_")).toBe("cilium_");
    // The prefix counts only at the start: Cilium's patterns are anchored.
    for (const name of ["my_cilium_events", "tc_cilium_policy_12", "x_cilium_policy_reserved_1"]) {
      expect(extractCommonName(name)).toBe(name);
    }
  });
  it("a _reserved_, _netdev_ns_ or _overlay_ suffix counts only with a number after it", () => {
    expect(extractCommonName("cilium_policy_reserved_")).toBe("policy_reserved_");
    expect(extractCommonName("cilium_calls_netdev_ns_")).toBe("calls_netdev_ns_");
    expect(extractCommonName("cilium_calls_overlay_x")).toBe("calls_overlay_x");
  });
  it("a long name with a newline does not backtrack catastrophically", () => {
    const t0 = Date.now();
    expect(extractCommonName(`cilium_${"a".repeat(5000)}\n`)).toBe(`cilium_${"a".repeat(5000)}\n`);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
