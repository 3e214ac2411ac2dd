// Types of scripts/gen-config-docs.mjs for the test that keeps docs/configuration.md current.
export declare const SCHEMA_FILE: string;
export declare const DOCS_FILE: string;
export declare function renderConfigDocs(schema: object): string;
