#!/usr/bin/env -S node --import tsx
// Not shipped: runs the TypeScript sources directly during development (needs tsx).
import {execute} from '@oclif/core';
await execute({development: true, dir: import.meta.url});
