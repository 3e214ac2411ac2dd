// `orx policy test [DIR]`, `orx policy eval --plan FILE` and `orx schema`.
import path from 'node:path';
import {readPublishedSchema} from '../config/schema.js';
import type {OrxContext} from '../engine/context.js';
import {evaluatePlanRules} from '../engine/policy-eval.js';
import {runPolicyTests} from '../policy/testing.js';

export const testPolicies = (ctx: OrxContext, dir?: string) => runPolicyTests(ctx.dir, dir);

export const evaluatePlanFile = (ctx: OrxContext, file: string) => evaluatePlanRules(ctx.dir, path.resolve(ctx.dir, file));

export const publishedSchema = (which: 'config' | 'plan' | 'policy') => readPublishedSchema(which);
