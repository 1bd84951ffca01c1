export * from "./constants.js";
export * from "./errno.js";
export * from "./errors.js";
export * from "./driver.js";
export * from "./layout.js";
export * from "./info.js";
export * from "./driver-checks.js";
