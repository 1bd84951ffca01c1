// The demo's own bpffs and the signals that end a run early. The bin re-raises a signal after
// cleaning up (tested in cli-spawn.test.ts); an embedder that runs main() in-process and listens
// itself gets the signal once, and decides.
import { afterEach, describe, expect, it } from "vitest";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { mountDemoBpffs } from "../src/demo/demo-bpffs.js";

const listeners: Array<() => void> = [];
afterEach(() => {
  for (const l of listeners.splice(0)) process.off("SIGINT", l);
});

describe("the demo's bpffs", () => {
  it("is unmounted and removed by dispose, and leaves no signal handler behind", () => {
    const d = createSimDriver();
    const before = process.listenerCount("SIGINT");
    const fs = mountDemoBpffs(d);
    expect(fs.mounted).toBe(true);
    expect(d.host.statfsType(fs.path)).toBe(0xcafe4a11);
    expect(process.listenerCount("SIGINT")).toBe(before + 1);
    fs.dispose();
    expect(d.host.stat(fs.path).errno).toBe(2);
    expect(process.listenerCount("SIGINT")).toBe(before);
    fs.dispose(); // once only
  });

  it("on SIGINT with an embedder listening: cleaned up, and the embedder hears the signal once", async () => {
    let heard = 0;
    const embedder = () => { heard++; };
    listeners.push(embedder);
    process.on("SIGINT", embedder);
    const d = createSimDriver();
    const fs = mountDemoBpffs(d);
    process.kill(process.pid, "SIGINT");
    const end = Date.now() + 5000;
    while (heard === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50)); // a second delivery, if any, would land here
    expect(heard).toBe(1);
    expect(d.host.stat(fs.path).errno).toBe(2);
    expect(process.listenerCount("SIGINT")).toBe(1); // the embedder's
  });
});
