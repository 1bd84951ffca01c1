export { createSimDriver } from "./create-sim-driver.js";
export type { SimClock } from "./host.js";
export type {
  SimCallInfo, SimDatapath, SimDriver, SimDriverOptions, SimInterleavingHook, SimMapRef,
} from "./sim-driver.js";
export { SIM_SYSCALLS, SimFaults } from "./faults.js";
export { typedDatapath } from "./typed-datapath.js";
export type { DatapathMap, KeylessDatapathMap, TypedDatapath } from "./typed-datapath.js";
export type { FaultSpec, SimSyscall } from "./faults.js";
export type { EngineExports } from "./engine-abi.js";
export { instantiateEngine } from "./engine.js";
