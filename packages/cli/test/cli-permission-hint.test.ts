// The hint under a permission error from the kernel: EACCES is a file's owner or mode, which no
// capability or --driver sim would fix, so it must not be told as a missing capability.
import { describe, expect, it } from "vitest";
import { permissionHint } from "../src/cli-error.js";

describe("permissionHint on the kernel", () => {
  it("names a file's owner or mode for EACCES, whatever this process's capabilities", () => {
    expect(permissionHint(13, undefined)).toBe("a file's owner or mode refused it: check the path's permissions (or run as root)");
  });
});
