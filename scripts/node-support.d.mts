// Types of node-support.mjs, for the test that imports it.
export declare const TEST_TOOLING_NODE: string;
export declare function testToolingUnsupported(version: string): string | undefined;
